"""Calibration of clip logits into probabilities, threshold choice at a target FPR, and ECE.

Platt scaling (scikit-learn ``LogisticRegression`` on the logit) is strictly increasing, so
ranking (AUC) is untouched; isotonic regression is non-decreasing. Both are fitted on
held-out validation clips, never on the data the network was trained on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from provenant.errors import ConfigurationError, NotFittedError

from detector.config import CalibrationMethod

__all__ = ["Calibrator", "threshold_at_fpr", "expected_calibration_error"]


class Calibrator:
    """Maps logits to calibrated probabilities of the AI-generated class."""

    def __init__(self, method: CalibrationMethod = "platt") -> None:
        self.method = method

    def fit(self, logits: np.ndarray, y: np.ndarray,
            sample_weight: np.ndarray | None = None) -> Calibrator:
        logits, y = np.asarray(logits, dtype=np.float64).ravel(), np.asarray(y).ravel()
        if len(np.unique(y)) != 2:
            raise ConfigurationError("calibration needs validation clips of both classes")
        if self.method == "platt":
            lr = LogisticRegression(C=1e4).fit(logits[:, None], y, sample_weight=sample_weight)
            self.coef_, self.intercept_ = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        elif self.method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            iso.fit(logits, y, sample_weight=sample_weight)
            self.x_, self.y_ = iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()
        else:
            raise ConfigurationError(f"calibration={self.method!r}; allowed: 'platt', 'isotonic'")
        return self

    def transform(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, dtype=np.float64)
        if self.method == "platt":
            if not hasattr(self, "coef_"):
                raise NotFittedError("the calibrator is not fitted")
            z = np.clip(self.coef_ * logits + self.intercept_, -50.0, 50.0)
            return 1.0 / (1.0 + np.exp(-z))
        if not hasattr(self, "x_"):
            raise NotFittedError("the calibrator is not fitted")
        return np.interp(logits, self.x_, self.y_)

    def to_dict(self) -> dict[str, Any]:
        if self.method == "platt":
            return {"method": "platt", "coef": self.coef_, "intercept": self.intercept_}
        return {"method": "isotonic", "x": self.x_, "y": self.y_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        cal = cls(data["method"])
        if cal.method == "platt":
            cal.coef_, cal.intercept_ = float(data["coef"]), float(data["intercept"])
        else:
            cal.x_, cal.y_ = list(data["x"]), list(data["y"])
        return cal


def threshold_at_fpr(real_scores: np.ndarray, target_fpr: float) -> float:
    """The smallest threshold ``t`` with ``mean(real_scores >= t) <= target_fpr``.

    The verdict rule flags ``score >= threshold``; the threshold sits just above the
    ``k``-th largest real score, where ``k = floor(target_fpr * n)`` real clips may pass.
    """
    s = np.sort(np.asarray(real_scores, dtype=np.float64))[::-1]
    if s.size == 0:
        raise ConfigurationError("choosing a threshold needs real validation clips")
    k = int(np.floor(target_fpr * s.size))  # allowed false positives
    return float(min(np.nextafter(s[k], np.inf), 1.0))


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE with equal-width bins over the positive-class probability."""
    probs, y = np.asarray(probs, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    bins = np.minimum((probs * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(probs[m].mean() - y[m].mean())
    return float(ece)
