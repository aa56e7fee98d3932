from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from detector import evaluation
from detector.data import Dataset
from tests.detector.conftest import PixelMeanDetector


def test_unchanged_twins_are_reported_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """A twin within ``min_twin_change`` of its real clip leaves the in-domain figures but
    stays in ``all_twins``, and the report says how many were left out."""
    y = np.array([0, 0, 0, 1, 1, 1])
    level = np.array([60, 70, 80, 200, 210, 65])  # the last twin looks like a real clip
    X = np.broadcast_to(level[:, None, None, None, None, None], (6, 1, 3, 3, 2, 2)).astype(np.uint8)
    family = np.array(["real"] * 3 + ["interpolate"] * 3)
    change = np.array([0.0, 0.0, 0.0, 5.0, 5.0, 0.2])
    ds = Dataset(X, y, np.array(["video:a"] * 6), family, change)
    split = {"data_spec": {"min_twin_change": 1.0}, "real_dirs": [], "samples": False,
             "test_groups": ["video:a"]}
    monkeypatch.setattr(evaluation, "load_detector", lambda folder: PixelMeanDetector())
    monkeypatch.setattr(evaluation, "load_split", lambda folder: split)
    monkeypatch.setattr(evaluation, "real_sources", lambda dirs, samples: [SimpleNamespace(id="video:a")])
    monkeypatch.setattr(evaluation, "load_or_build",
                        lambda sources, spec, *a, **k: ds.without_unchanged_twins(spec.min_twin_change))
    report = evaluation.evaluate(lofo=False, crf=None, progress=False)
    assert report["in_domain"]["n_ai"] == 2 and report["in_domain"]["auc"] == 1.0
    assert report["all_twins"]["in_domain"]["n_ai"] == 3
    assert report["all_twins"]["in_domain"]["auc"] == pytest.approx(2 / 3 + 1 / 9)
    assert report["twin_filter"] == {"min_twin_change": 1.0, "test_twins_dropped": {"interpolate": 1},
                                     "test_twins": {"interpolate": 3}}
    assert report["components"] == {"network": {"all": 1.0, "interpolate": 1.0}}
    table = evaluation.render_table(report)
    assert "unchanged twins kept" in table and "| network | 1.000 | 1.000 |" in table


def test_an_impossible_crf_is_refused_before_any_work(tmp_path) -> None:
    from provenant.errors import InputError

    # before: the data build ran for minutes, and the encoder failed at the end
    with pytest.raises(InputError, match="crf=-1 is invalid"):
        evaluation.evaluate(tmp_path, crf=-1)


def test_an_unknown_backbone_is_refused_before_the_data_build(tmp_path, monkeypatch) -> None:
    from detector import training
    from detector.config import DetectorConfig
    from provenant.errors import ConfigurationError

    monkeypatch.setattr(training, "load_or_build", lambda *a, **k: pytest.fail("data built"))
    with pytest.raises(ConfigurationError, match="not a timm model"):
        training.train_detector(DetectorConfig(backbone="no_such_net"), tmp_path / "out")
