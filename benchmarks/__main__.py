"""``python -m benchmarks [--quick] [--only NAME …]``: run every benchmark, then write RESULTS.md.

Each area is one script, ``benchmarks/<area>_bench.py``, whose ``main(argv)`` accepts
``--quick`` and writes ``benchmarks/results/<area>.json`` (``<area>_quick.json`` in quick
mode, so a quick run never replaces full results) plus a Markdown table and a plot. This
runner times each script, records the run in ``results/run.json`` (``run_quick.json``), and
assembles
``benchmarks/RESULTS.md`` and the README's headline block from those JSON files only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time

from tqdm import tqdm

from benchmarks.common import RESULTS, machine, result_stem
from benchmarks.results_page import write_results_page

AREAS = ("c2pa", "watermark", "watermark_ceiling", "image", "generator", "detector",
         "detector_sources", "api", "inputs")


def _available(area: str) -> bool:
    return importlib.util.find_spec(f"benchmarks.{area}_bench") is not None


def run(areas: list[str], quick: bool) -> dict:
    record = {"machine": machine(), "mode": "quick" if quick else "full", "scripts": {}}
    bar = tqdm(areas, desc="benchmarks", unit="area")
    for area in bar:
        bar.set_postfix_str(area)
        if not _available(area):
            record["scripts"][area] = {"status": "missing"}
            continue
        cmd = [sys.executable, "-m", f"benchmarks.{area}_bench"] + (["--quick"] if quick else [])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        record["scripts"][area] = {
            "status": "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})",
            "seconds": round(time.perf_counter() - t0, 1),
            "stderr_tail": proc.stderr[-2000:] if proc.returncode else "",
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{result_stem('run', record['mode'])}.json").write_text(
        json.dumps(record, indent=2) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a few minutes instead of the full run")
    ap.add_argument("--only", nargs="+", choices=AREAS, help="run only these areas")
    ap.add_argument("--page-only", action="store_true", help="rebuild RESULTS.md from the JSON")
    args = ap.parse_args(argv)
    record = None
    if not args.page_only:
        record = run(list(args.only or AREAS), args.quick)
        for area, info in record["scripts"].items():
            print(f"{area:<10} {info['status']:<20} {info.get('seconds', '')}")
    page = write_results_page()
    print(f"wrote {page}")
    failed = [a for a, i in (record or {"scripts": {}})["scripts"].items()
              if i["status"].startswith("failed")]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
