from __future__ import annotations

import numpy as np
import pytest

from detector.calibration import Calibrator, expected_calibration_error, threshold_at_fpr
from provenant.errors import NotFittedError


def _logits(seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(300), np.ones(300)].astype(int)
    return rng.normal(2.0 * (2 * y - 1), 1.5), y


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_is_monotone(method: str) -> None:
    z, y = _logits()
    cal = Calibrator(method).fit(z, y)
    grid = np.linspace(-10, 10, 401)
    p = cal.transform(grid)
    assert np.all(np.diff(p) >= 0)
    assert p[0] < 0.1 and p[-1] > 0.9
    if method == "platt":
        assert np.all(np.diff(p) > 0) or np.all(np.diff(p[150:250]) > 0)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_round_trip_and_low_ece(method: str) -> None:
    z, y = _logits(1)
    cal = Calibrator(method).fit(z, y)
    again = Calibrator.from_dict(cal.to_dict())
    np.testing.assert_allclose(again.transform(z), cal.transform(z))
    z2, y2 = _logits(2)  # fresh draws from the same distribution
    assert expected_calibration_error(cal.transform(z2), y2) < 0.06


def test_unfitted_calibrator() -> None:
    with pytest.raises(NotFittedError):
        Calibrator("platt").transform(np.zeros(3))


def test_ece_detects_overconfidence() -> None:
    y = np.r_[np.zeros(50), np.ones(50)]
    assert expected_calibration_error(np.full(100, 0.5), y) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(100, 0.99), y) == pytest.approx(0.49)


@pytest.mark.parametrize("fpr", [0.01, 0.05, 0.2])
def test_threshold_meets_the_target_fpr(fpr: float) -> None:
    real = np.random.default_rng(0).random(1000)
    t = threshold_at_fpr(real, fpr)
    assert (real >= t).mean() <= fpr
    assert (real >= t).mean() >= fpr - 0.002  # and is not needlessly strict


def test_group_weights_give_every_source_the_same_say() -> None:
    from detector.classifier import _group_weights
    from provenant.errors import InputError

    groups = np.array(["a"] * 6 + ["b"] * 2)
    w = _group_weights(groups, 8)
    assert w[groups == "a"].sum() == pytest.approx(w[groups == "b"].sum())
    assert w.mean() == pytest.approx(1.0)
    assert _group_weights(None, 8) is None
    with pytest.raises(InputError):
        _group_weights(groups[:3], 8)


def test_weighted_platt_follows_the_weighted_sources() -> None:
    """One big source where logit 0 means AI half the time, one small source where it always
    means AI: weighing the sources equally moves the calibrated probability at 0 up."""
    logits = np.r_[np.zeros(80), np.full(20, 2.0), np.full(20, -2.0), np.zeros(10), np.full(10, -2.0)]
    y = np.r_[np.arange(80) % 2, np.ones(20), np.zeros(20), np.ones(10), np.zeros(10)]
    w = np.r_[np.full(120, 40 / 120), np.full(20, 40 / 20)]
    plain = Calibrator("platt").fit(logits, y).transform(np.array([0.0]))[0]
    weighted = Calibrator("platt").fit(logits, y, sample_weight=w).transform(np.array([0.0]))[0]
    assert weighted > plain + 0.05
