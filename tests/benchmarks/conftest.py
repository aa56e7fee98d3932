"""Fixtures for the benchmark scripts: a machine record and a private results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import common, results_page


@pytest.fixture
def machine_info() -> dict[str, Any]:
    return {"cpu": "CPU X", "cores": 2, "python": "3.11.7", "platform": "Linux", "date": "2026-11-25"}


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``benchmarks/results``, ``RESULTS.md`` and the README redirected into ``tmp_path``."""
    results = tmp_path / "results"
    monkeypatch.setattr(common, "RESULTS", results)
    monkeypatch.setattr(results_page, "RESULTS", results)
    monkeypatch.setattr(results_page, "PAGE", tmp_path / "RESULTS.md")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nstale\n<!-- results:end -->\n")
    monkeypatch.setattr(results_page, "README", readme)
    return results


def table_widths(markdown: str) -> list[set[int]]:
    """The set of cell counts of each Markdown table (one set per table; one count if sound)."""
    tables: list[set[int]] = []
    previous = ""
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append(set())
            tables[-1].add(line.count("|") - 1)
        previous = line
    return tables
