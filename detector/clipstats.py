"""Clip statistics: hand-made forensic measurements of a clip's tubes, and a linear head on them.

The patch network sees three frames at a time. Two cues need more than that:

* **Frame-rate up-conversion** makes every other frame from its neighbours. A made frame is
  close to the mean of the frames around it, so the second temporal difference
  ``|f[t+1] - 2 f[t] + f[t-1]|`` is small at the made frames and large at the real ones, and
  the made frames are softer. Real footage has no such parity. The *parity* features are the
  absolute log ratio between the odd and the even frames of a window, so they do not depend on
  which parity was made (a file's windows need not start on a real frame).
* **Upscaled video** lacks the high spatial frequencies of footage filmed at its size: the
  *spectrum* features are the log power in 12 radial frequency bands of each tube, relative to
  the second band, averaged over the tubes.

Measured before this module shipped, on 896 clips built like the training data (128×128,
H.264 CRF 16-32, every source): the best single parity feature separated interpolated clips
from real ones with AUC 0.86-0.87, the best spectrum band upscaled clips with AUC 0.91. On the
part of those clips from its held-out sources, the patch network of detector 0.4.0 reached
0.70 and 0.88.

Input: tubes ``(n, k, T, 3, P, P)`` uint8 (``k`` tubes of ``T`` consecutive frames per clip, as
in :class:`~detector.classifier.VideoDetector`), all of one window per clip, or several
windows (``windows``: the window of each tube, so parity is taken within a window).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from provenant.errors import ConfigurationError, InputError, NotFittedError

from detector.features import LUMA, srm_kernels

__all__ = ["FEATURE_NAMES", "clip_statistics", "StatisticsHead"]

_BANDS = 12
_BLOCK = 16
_EPS = 0.3  # grey levels: keeps the log ratios finite on still content
_LUMA = np.array(LUMA, dtype=np.float32)
_KV = srm_kernels()[0, 0].numpy()  # the KV kernel of the network's front end, (5, 5)

_PARITY_NAMES: tuple[str, ...] = (
    "parity_d2_weighted", "parity_d2_blocks", "parity_d2_q90", "parity_d2_mean",
    "parity_ratio_global", "parity_detail_weighted", "parity_detail_mean",
)
FEATURE_NAMES: tuple[str, ...] = (
    *_PARITY_NAMES, *(f"spectrum_band{b}" for b in range(2, _BANDS)), "detail_level",
    "npr_level",
)


def _block_means(a: np.ndarray) -> np.ndarray:
    """Means over ``_BLOCK``×``_BLOCK`` blocks of the last two axes (the rest is dropped)."""
    h, w = a.shape[-2:]
    b = min(_BLOCK, h, w)
    a = a[..., : h // b * b, : w // b * b]
    return a.reshape(*a.shape[:-2], h // b, b, w // b, b).mean(axis=(-1, -3))


def _kv_residual(y: np.ndarray) -> np.ndarray:
    """``|KV high-pass|`` of luma frames ``(..., H, W)`` (valid part, no padding)."""
    out = np.zeros((*y.shape[:-2], y.shape[-2] - 4, y.shape[-1] - 4), dtype=np.float32)
    for dy in range(5):
        for dx in range(5):
            out += _KV[dy, dx] * y[..., dy:dy + out.shape[-2], dx:dx + out.shape[-1]]
    return np.abs(out)


def _spectrum(y: np.ndarray) -> np.ndarray:
    """Log power per radial band of luma tubes ``(m, T, P, P)``, relative to band 1: ``(_BANDS,)``."""
    p = y.shape[-1]
    f = y - y.mean(axis=(-1, -2), keepdims=True)
    win = np.outer(np.hanning(p), np.hanning(p)).astype(np.float32)
    power = (np.abs(np.fft.fft2(f * win)) ** 2).reshape(-1, p, p).mean(axis=0)
    freq = np.fft.fftfreq(p)
    r = np.sqrt(freq[:, None] ** 2 + freq[None, :] ** 2) / 0.5
    bands = np.minimum((r * _BANDS).astype(int), _BANDS)
    prof = np.log(np.array([power[bands == b].mean() for b in range(_BANDS)]) + 1e-6)
    return prof - prof[1]


def _parity(window: np.ndarray) -> dict[str, float]:
    """Parity features of one window's luma tubes ``(m, T, P, P)`` (``T >= 3``)."""
    t = window.shape[1]
    d2 = np.abs(window[:, 2:] - 2 * window[:, 1:-1] + window[:, :-2])  # centres 1..T-2
    d1 = np.abs(window[:, 2:] - window[:, :-2])
    odd = (np.arange(1, t - 1) % 2) == 1
    if odd.all() or not odd.any():  # T == 3: one centre, no parity to compare
        return dict.fromkeys(_PARITY_NAMES, 0.0)
    e_b, m_b = _block_means(d2), _block_means(d1)  # (m, T-2, h, w)
    lr = np.log(e_b[:, odd].mean(1) + _EPS) - np.log(e_b[:, ~odd].mean(1) + _EPS)  # (m, h, w)
    w = m_b.mean(1)
    w = w / max(float(w.sum()), 1e-9)
    ratio_odd = d2[:, odd].mean() / (d1[:, odd].mean() + 0.5)
    ratio_even = d2[:, ~odd].mean() / (d1[:, ~odd].mean() + 0.5)
    s = _block_means(_kv_residual(window))  # (m, T, h', w')
    ls = np.log(s[:, 1::2].mean(1) + _EPS) - np.log(s[:, 0::2].mean(1) + _EPS)
    ws = _block_means(d1[..., 2:-2, 2:-2]).mean(1) if d1.shape[-1] > 4 else np.ones_like(ls)
    ws = ws / max(float(ws.sum()), 1e-9)
    return {
        "parity_d2_weighted": float(abs((lr * w).sum())),
        "parity_d2_blocks": float((np.abs(lr) * w).sum()),
        "parity_d2_q90": float(np.quantile(np.abs(lr), 0.9)),
        "parity_d2_mean": float(abs(lr.mean())),
        "parity_ratio_global": float(abs(np.log(ratio_odd + 1e-3) - np.log(ratio_even + 1e-3))),
        "parity_detail_weighted": float(abs((ls * ws).sum())),
        "parity_detail_mean": float(abs(ls.mean())),
    }


def _one_clip(tubes: np.ndarray, windows: np.ndarray | None) -> np.ndarray:
    """Features of one clip's tubes ``(k, T, 3, P, P)`` uint8: ``(len(FEATURE_NAMES),)``."""
    y = np.tensordot(tubes.astype(np.float32), _LUMA, axes=([2], [0]))  # (k, T, P, P)
    groups = [np.arange(len(y))] if windows is None else \
        [np.flatnonzero(windows == w) for w in np.unique(windows)]
    par = [_parity(y[g]) for g in groups]
    feats = {k: float(np.mean([p[k] for p in par])) for k in par[0]}
    spec = _spectrum(y)
    for b in range(2, _BANDS):
        feats[f"spectrum_band{b}"] = float(spec[b])
    feats["detail_level"] = float(np.log(_kv_residual(y).mean() + 1e-3))
    h2, w2 = y.shape[-2] // 2 * 2, y.shape[-1] // 2 * 2
    q = y[..., :h2, :w2].reshape(*y.shape[:-2], h2 // 2, 2, w2 // 2, 2)
    feats["npr_level"] = float(np.log(np.abs(q - q.mean(axis=(-1, -3), keepdims=True)).mean() + 1e-3))
    return np.array([feats[k] for k in FEATURE_NAMES], dtype=np.float64)


def clip_statistics(X: np.ndarray, windows: np.ndarray | None = None) -> np.ndarray:
    """Statistics of clips ``(n, k, T, 3, P, P)`` uint8: ``(n, len(FEATURE_NAMES))``.

    ``windows`` (``(k,)`` ints, optional): which window of consecutive frames each tube comes
    from, the same for every clip; parity is measured within each window and averaged.
    """
    X = np.asarray(X)
    if X.ndim != 6 or X.shape[3] != 3 or X.shape[2] < 3 or X.shape[-1] < 8:
        raise InputError(f"clip statistics need tubes (n, k, T>=3, 3, P>=8, P); got {X.shape}")
    return np.stack([_one_clip(x, windows) for x in X])


class StatisticsHead:
    """A standardised logistic regression on :func:`clip_statistics`: one logit per clip.

    Its parameters are plain numbers (saved as JSON beside the weights, no pickles).
    """

    def __init__(self, C: float = 0.1) -> None:
        self.C = C

    def fit(self, features: np.ndarray, y: np.ndarray) -> StatisticsHead:
        features, y = np.asarray(features, dtype=np.float64), np.asarray(y).ravel()
        if len(np.unique(y)) != 2:
            raise ConfigurationError("the statistics head needs clips of both classes")
        self.mean_ = features.mean(axis=0)
        self.scale_ = features.std(axis=0) + 1e-9
        lr = LogisticRegression(C=self.C, max_iter=5000, class_weight="balanced")
        lr.fit((features - self.mean_) / self.scale_, y)
        self.coef_, self.intercept_ = lr.coef_[0].astype(np.float64), float(lr.intercept_[0])
        return self

    def logits(self, features: np.ndarray) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise NotFittedError("the statistics head is not fitted")
        z = (np.asarray(features, dtype=np.float64) - self.mean_) / self.scale_
        return z @ self.coef_ + self.intercept_

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(FEATURE_NAMES), "C": self.C, "mean": self.mean_.tolist(),
                "scale": self.scale_.tolist(), "coef": self.coef_.tolist(),
                "intercept": self.intercept_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatisticsHead:
        if list(data.get("features", [])) != list(FEATURE_NAMES):
            raise ConfigurationError("the saved statistics head was made for other features",
                                     hint="retrain with `provenant train detector`")
        head = cls(float(data["C"]))
        head.mean_, head.scale_ = np.array(data["mean"]), np.array(data["scale"])
        head.coef_, head.intercept_ = np.array(data["coef"]), float(data["intercept"])
        return head
