"""Shared helpers for the benchmark scripts: machine facts, timing, result files."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "date": dt.date.today().isoformat()}


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``fn`` over ``repeats`` runs, and all the times."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and arrays (their Python values); ``str`` for anything else."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def result_stem(name: str, mode: str | None) -> str:
    """``<name>`` for a full run, ``<name>_quick`` for a quick one: a quick run never
    overwrites the full results."""
    return f"{name}_quick" if mode == "quick" else name


def write_results(name: str, data: dict[str, Any], markdown: str) -> Path:
    """``results/<stem>.json`` and ``<stem>.md``, the stem chosen by ``data["mode"]``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = result_stem(name, data.get("mode"))
    path = RESULTS / f"{stem}.json"
    path.write_text(json.dumps(data, indent=2, default=_plain) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown)
    return path


def save_area(name: str, data: dict[str, Any], headline: Callable[[dict[str, Any]], str],
              markdown: Callable[[dict[str, Any]], str],
              plot: Callable[[dict[str, Any], Path], Any]) -> Path:
    """``<name>.json`` (with its ``headline``), ``<name>.md`` and ``<name>.png``; prints the
    table and returns the JSON's path."""
    data = {**data, "headline": headline(data)}
    path = write_results(name, data, markdown(data))
    plot(data, path.with_suffix(".png"))
    print(markdown(data))
    print(f"wrote {path}")
    return path


def save_figure(fig: Any, path: Path) -> Path:
    """Lay out, write as PNG and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
