from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import results_page


def test_page_and_readme_are_built_from_the_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(results_page, "RESULTS", results)
    monkeypatch.setattr(results_page, "PAGE", tmp_path / "RESULTS.md")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nstale\n<!-- results:end -->\nrest\n")
    monkeypatch.setattr(results_page, "README", readme)
    (results / "c2pa.json").write_text(json.dumps(
        {"sign_s": 0.5, "sign_ratio": 4.25, "verify_s": 0.1, "verify_ratio": 1.5, "file_mb": 100}))
    (results / "c2pa.md").write_text("| c2pa table |\n")
    (results / "api_quick.json").write_text(json.dumps({"headline": "p95 1.2 s at 4 clients"}))
    (results / "api_quick.md").write_text("| api table |\n")
    (results / "c2pa.png").write_bytes(b"png")
    (results / "run_quick.json").write_text(json.dumps({
        "machine": {"cpu": "CPU X", "cores": 2, "python": "3.11", "date": "2026-11-25"},
        "mode": "quick", "scripts": {"c2pa": {"status": "ok", "seconds": 12.0}}}))
    page = results_page.write_results_page().read_text()
    assert "| c2pa table |" in page and "CPU X" in page and "quick" in page
    assert "![c2pa](results/c2pa.png)" in page and "| api table |" in page
    assert "Generator" in page and "Not measured in this run." in page
    text = readme.read_text()
    assert "stale" not in text and "4.2× SHA-256" in text and "p95 1.2 s at 4 clients" in text
    # the run's date and areas, so a later area is not taken to be in its time
    assert "Benchmark run time on this machine: quick mode 0.2 min (2026-11-25: c2pa)." in text
    assert text.startswith("intro\n") and text.endswith("rest\n")


def test_quick_results_never_replace_full_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import common

    results = tmp_path / "results"
    for mod in (common, results_page):
        monkeypatch.setattr(mod, "RESULTS", results)
    monkeypatch.setattr(results_page, "PAGE", tmp_path / "RESULTS.md")
    monkeypatch.setattr(results_page, "README", tmp_path / "absent.md")
    full = common.write_results("api", {"mode": "full", "headline": "full figures"}, "| full |\n")
    quick = common.write_results("api", {"mode": "quick", "headline": "quick figures"}, "| quick |\n")
    assert full.name == "api.json" and quick.name == "api_quick.json"
    assert json.loads(full.read_text())["headline"] == "full figures"
    for mode, secs in (("quick", 30.0), ("full", 600.0)):
        (results / f"{common.result_stem('run', mode)}.json").write_text(json.dumps({
            "machine": {"cpu": "CPU X", "cores": 2, "python": "3.11", "date": "2026-12-02"},
            "mode": mode, "scripts": {"api": {"status": "ok", "seconds": secs}}}))
    page = results_page.write_results_page().read_text()
    assert "| full |" in page and "| quick |" not in page  # full preferred
    assert "**Quick mode**" in page and "**Full mode**" in page and "10.0 min" in page
    assert "`results/api.json`: full mode" in page
