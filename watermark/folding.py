"""The folded tile: a summed residual resampled and folded onto one tile period, whitened,
and aligned with the keyed pilot (steps 3 of ``watermark.detection``).

Shared by the detection's period hypotheses and by its rotation and orientation searches,
which only change what is folded (a turned residual) or the folded tile (a mirrored one).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import cv2
import numpy as np

from watermark.pattern import SAMPLES_PER_CHIP, Layout

__all__ = ["fold", "align", "pilot_sync", "FoldMemo"]

_SPC = SAMPLES_PER_CHIP


def fold(res: np.ndarray, period: tuple[float, float], n: int) -> np.ndarray:
    """Resample so the tile is ``n*_SPC`` samples and sum modulo the tile -> ``(T, T)``."""
    h, w = res.shape
    t = n * _SPC
    sy, sx = t / period[0], t / period[1]
    size = (max(1, round(w * sx)), max(1, round(h * sy)))
    interp = cv2.INTER_AREA if sx * sy < 1.0 else cv2.INTER_LINEAR
    r = cv2.resize(res, size, interpolation=interp)
    hh, ww = r.shape
    ph, pw = -(-hh // t) * t, -(-ww // t) * t
    buf = np.zeros((ph, pw), np.float32)
    buf[:hh, :ww] = r
    cnt = np.zeros((ph, pw), np.float32)
    cnt[:hh, :ww] = 1.0
    tile = buf.reshape(ph // t, t, pw // t, t).sum(axis=(0, 2))
    counts = cnt.reshape(ph // t, t, pw // t, t).sum(axis=(0, 2))
    return _whiten(tile / np.sqrt(np.maximum(counts, 1.0)))  # (T, T)


class FoldMemo:
    """Folded tiles of views of one summed residual (its rotations, its windows), kept by
    view and period, and other key-independent values of those views.

    Folding never sees the key, so a detection that tests several keys (a deployment's
    current key and its retired ones) folds each view once; only the pilot scoring and the
    decoding are repeated per key. Tiles handed out are shared: callers must not change
    them in place."""

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}

    def value(self, name: Hashable, make: Callable[[], Any]) -> Any:
        """The value kept under ``name``, made by ``make()`` the first time."""
        if name not in self._values:
            self._values[name] = make()
        return self._values[name]

    def tile(self, view: Hashable, period: tuple[float, float], n: int,
             source: Callable[[], np.ndarray]) -> np.ndarray:
        """:func:`fold` of the view ``source()`` (called only when this view has not been
        folded at ``period`` before)."""
        name = ("tile", view, round(float(period[0]), 9), round(float(period[1]), 9), n)
        return self.value(name, lambda: fold(source(), period, n))


def _whiten(tile: np.ndarray) -> np.ndarray:
    """Flatten the folded tile's spectrum (divide by its locally averaged magnitude).

    The keyed chips are white; what is left of the content after folding is not, so this
    is the matched filter's whitening step. It uses the data only, never the key."""
    spec = np.fft.fft2(tile)
    mag = np.fft.fftshift(np.abs(spec)).astype(np.float32)
    envelope = np.fft.ifftshift(cv2.blur(mag, (3, 3), borderType=cv2.BORDER_REFLECT))
    return np.real(np.fft.ifft2(spec / (envelope + 1e-6 * float(envelope.mean()) + 1e-12)))


def align(tile: np.ndarray, lay: Layout, top: int,
          origin: bool = False) -> list[tuple[np.ndarray, float]]:
    """Circularly align the folded tile with the pilot: the ``top`` best phases (peaks at
    least 2 samples apart) as ``(n*n,)`` chip values with their sync z-scores.

    ``origin``: the phase 0 is always one of the ``top``, and first (it takes the last
    place if the pilot did not rank it): at the embedder's own period an uncropped frame has
    its tile at the origin, and a weak pilot (a strong re-encode) may not rank it. It is
    chosen without looking at the data, so the test is unchanged."""
    corr = _pilot_correlation(tile, lay)
    mean, std = corr.mean(), corr.std() + 1e-12
    t = corr.shape[0]
    taken: list[tuple[int, int]] = []
    for flat in np.argsort(corr, axis=None)[::-1][: 8 * top]:
        dy, dx = divmod(int(flat), t)
        if any(min((dy - a) % t, (a - dy) % t) < 2 and min((dx - b) % t, (b - dx) % t) < 2
               for a, b in taken):
            continue
        taken.append((dy, dx))
        if len(taken) >= top:
            break
    if origin and top >= 2 and (0, 0) not in taken:
        taken[-1] = (0, 0)
    if origin and (0, 0) in taken:  # first, so the caller knows which is the canonical one
        taken.insert(0, taken.pop(taken.index((0, 0))))
    out: list[tuple[np.ndarray, float]] = []
    for dy, dx in taken:
        aligned = np.roll(tile, (-dy, -dx), axis=(0, 1))
        chips = aligned.reshape(lay.n, _SPC, lay.n, _SPC).sum(axis=(1, 3))  # (n, n)
        out.append((chips.ravel(), float((corr[dy, dx] - mean) / std)))
    return out


def _pilot_correlation(tile: np.ndarray, lay: Layout) -> np.ndarray:
    """Circular cross-correlation of the folded tile with the pilot, at every phase."""
    return np.fft.irfft2(np.fft.rfft2(tile) * lay.pilot_spectrum, s=tile.shape)


def pilot_sync(tile: np.ndarray, lay: Layout) -> float:
    """The sync z-score of the folded tile's best phase (``align(tile, lay, 1)``'s, without
    aligning the chips): how hypotheses are ranked before any is decoded."""
    corr = _pilot_correlation(tile, lay)
    return float((corr.max() - corr.mean()) / (corr.std() + 1e-12))
