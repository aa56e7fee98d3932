"""The source-count curve: its draws, its fits on the groups drawn, and what it reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import detector_sources_bench as curve
from detector.data import Dataset
from tests.benchmarks.conftest import table_widths
from tests.detector.conftest import TINY, toy_clips


def test_draws_are_repeatable_distinct_and_the_whole_pool_once() -> None:
    pool = [f"g{i}" for i in range(9)]
    plan = curve.draws(pool, (3, 0), repeats=4, seed=1)
    assert plan == curve.draws(pool, (3, 0), repeats=4, seed=1)
    assert [k for k, _ in plan] == [3, 3, 3, 3, 9]
    assert all(len(set(g)) == 3 and set(g) <= set(pool) for _, g in plan[:4])
    assert len({tuple(g) for _, g in plan[:4]}) > 1  # the draws differ
    assert plan[-1][1] == sorted(pool)
    assert curve.draws(pool, (12,), repeats=3) == [(9, sorted(pool))]  # at most the pool
    with pytest.raises(ValueError, match="at least 2 groups"):
        curve.draws(pool, (1,), repeats=1)


def _dataset(n: int, seed: int) -> Dataset:
    X, y, groups = toy_clips(n, seed=seed)
    family = np.where(y == 1, "upscale", "real")
    return Dataset(X, y, np.array([f"photo:{g}" for g in groups]), family)


def test_measure_fits_on_the_groups_drawn_and_scores_the_same_test_clips() -> None:
    ds, test = _dataset(48, 0), _dataset(16, 1)
    pool = sorted(set(ds.groups.tolist()))
    plan = curve.draws(pool, (4, 0), repeats=1)
    rows = curve.measure(ds, test, plan, TINY, progress=False)
    assert [r["k"] for r in rows] == [4, len(pool)]
    assert [r["clips"] for r in rows] == [16, 48]  # 4 clips a group
    for r in rows:
        assert r["fused"] > 0.9  # noisy against flat patches: an easy toy
        assert set(r["per_family"]) == {"upscale"}
        assert {"network", "statistics", "tpr_at_1pct_fpr", "fpr_at_threshold"} <= set(r)


def _row(k: int, fused: float) -> dict[str, Any]:
    return {"k": k, "groups": [], "clips": 10 * k, "fused": fused, "network": fused - 0.02,
            "statistics": fused - 0.01, "tpr_at_1pct_fpr": 0.5, "fpr_at_threshold": 0.0,
            "per_family": {"interpolate": fused - 0.1, "upscale": fused}}


def test_summary_and_the_gain_per_doubling() -> None:
    rows = [_row(4, 0.84), _row(4, 0.86), _row(8, 0.875), _row(16, 0.90)]
    table = curve.summary(rows)
    assert [(e["k"], e["draws"]) for e in table] == [(4, 2), (8, 1), (16, 1)]
    assert table[0]["fused"] == {"mean": pytest.approx(0.85), "min": 0.84, "max": 0.86}
    assert table[0]["per_family"]["interpolate"] == pytest.approx(0.75)
    gain = curve.doubling_gain(table)
    assert gain["per_doubling"] == pytest.approx(0.025)
    # 0.90 at 16 groups, +0.025 a doubling: 0.99 is 3.6 doublings further
    assert gain["groups_for_target"] == pytest.approx(16 * 2 ** 3.6, rel=1e-6)
    assert gain["last_per_doubling"] == pytest.approx(0.025)  # a straight line: the same
    bent = curve.doubling_gain(curve.summary([_row(4, 0.80), _row(8, 0.88), _row(16, 0.90)]))
    assert bent["last_per_doubling"] == pytest.approx(0.02)
    assert bent["last_groups_for_target"] == pytest.approx(16 * 2 ** 4.5, rel=1e-6)
    assert bent["groups_for_target"] < bent["last_groups_for_target"]
    flat = curve.summary([_row(4, 0.9), _row(8, 0.9)])
    assert curve.doubling_gain(flat)["grows"] is False
    assert curve.doubling_gain(flat)["groups_for_target"] is None
    slow = curve.summary([_row(4, 0.5), _row(8, 0.502)])  # 245 doublings to go
    assert curve.doubling_gain(slow)["grows"] is True
    assert curve.doubling_gain(slow)["groups_for_target"] is None
    assert curve.doubling_gain(curve.summary([_row(4, 0.9)])) is None


def test_report_files(results_dir: Path, machine_info: dict[str, Any]) -> None:
    rows = [_row(4, 0.84), _row(4, 0.86), _row(19, 0.90)]
    table = curve.summary(rows)
    data = {"machine": machine_info, "mode": "quick", "model": "m-1", "epochs": 2,
            "calibration_fraction": 0.4, "pool": 19, "test_groups": ["a"],
            "test_clips": {"real": 5, "ai": 7}, "rows": rows, "summary": table,
            "gain": {p: curve.doubling_gain(table, p) for p in curve.PARTS}}
    path = curve.save(data)
    md = (results_dir / "detector_sources_quick.md").read_text()
    assert "| 4 | 2 | 40 | 0.850 (0.840-0.860) |" in md
    assert "| 19 | 1 | 190 | 0.900 |" in md
    assert table_widths(md) == [{9}]
    assert "- fused: +0." in md and "optimistic" in md
    saved = json.loads(path.read_text())
    assert saved["headline"].startswith("held-out AUC with 4 / 19 training source groups: 0.850 / 0.900")
    assert (results_dir / "detector_sources_quick.png").stat().st_size > 0
