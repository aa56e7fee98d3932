"""Tile-period hypotheses for detection (working pixels, ``(py, px)``).

Three sources, because each sees what the others miss:

* the **expected** period: the one the embedder used at this frame size (no rescale, no crop);
* **autocorrelation peaks** of the summed residual: the tiling repeats, so any rescaling
  (resize, aspect change) shows up as peaks at the new period; a stretch along one axis
  (anamorphic video converted to square pixels) from the x and y profiles' own peaks;
* **native chip periods**: a crop (or padding, e.g. letterbox bars) without rescaling keeps
  the chip size the embedder chose for the *original* frame, so the period expected for
  the new frame size is wrong. The embedder's chips are whole pixels
  (``WatermarkConfig.chip_size``), so the original period is ``tile_chips · c`` for an
  integer ``c``: the chips of originals from 1/2 to 2 times the frame's side are tried.
  These matter where the autocorrelation cannot see the tiling: a sparse pattern (flat or
  two-tone content, where the mask leaves only the edges) gives no clear peak.

Detection ranks the hypotheses other than the expected one by their pilot correlation and
decodes a fixed number of them (``WatermarkConfig.period_candidates``), so the p-value's
Bonferroni factor does not grow with the number of hypotheses considered.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from watermark.config import WatermarkConfig

__all__ = ["PeriodHypotheses", "period_hypotheses", "native_periods", "fits_frame",
           "stretched_periods", "MAX_CROP_SIDE"]

_MIN_CHIP = 1.4  # smallest chip (working-scale pixels) the period search considers
#: Crops down to 1/MAX_CROP_SIDE of the original side (a quarter of the area), and padding
#: up to MAX_CROP_SIDE times it, are looked for.
MAX_CROP_SIDE = 2.0
_AUTOCORR_PEAKS = 8  # autocorrelation peaks offered for ranking
_STRETCHED_PEAKS = 2  # stretched periods offered for ranking
#: A stretch along one axis, as a side's period over the other's: what isotropic search
#: (whose per-axis refinement follows a few percent) misses, up to a doubling.
MIN_STRETCH, MAX_STRETCH = 1.08, 2.0

Period = tuple[float, float]


@dataclass(frozen=True)
class PeriodHypotheses:
    """``expected`` (decoded whenever present) and ``pool`` (ranked by the pilot)."""

    expected: list[Period]
    pool: list[Period]


def _autocorr(res: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Overlap-normalised linear autocorrelation profiles along x, y and both diagonals.

    Returns ``(ax (w,), ay (h,), ad (m,), aa (m,))`` with ``m = min(h, w)``: lags ``(0, d)``,
    ``(d, 0)``, ``(d, d)`` and ``(d, -d)``, normalised so that lag 0 is 1.
    """
    h, w = res.shape
    x = res - res.mean()
    fh, fw = cv2.getOptimalDFTSize(2 * h), cv2.getOptimalDFTSize(2 * w)
    spec = np.fft.rfft2(x, s=(fh, fw))
    ac = np.fft.irfft2(spec.real ** 2 + spec.imag ** 2, s=(fh, fw))  # (fh, fw) circular lags
    norm = ac[0, 0] / (h * w) + 1e-12
    dx, dy = np.arange(w), np.arange(h)
    m = np.arange(min(h, w))
    ax = ac[0, :w] / (h * (w - dx)) / norm
    ay = ac[:h, 0] / ((h - dy) * w) / norm
    ovd = (h - m) * (w - m)
    ad = ac[m, m] / ovd / norm
    aa = ac[m, (fw - m) % fw] / ovd / norm
    return ax, ay, ad, aa


def _parabolic(profile: np.ndarray, i: int) -> float:
    """The sub-sample position of the peak at ``i``: the vertex of the parabola through it
    and its neighbours, within half a sample of ``i``. Only a local maximum has one there
    (the vertex of a slope can lie anywhere, outside the profile included), so any other
    ``i`` is returned as it is."""
    if 0 < i < len(profile) - 1:
        a, b, c = profile[i - 1], profile[i], profile[i + 1]
        den = a - 2 * b + c
        if np.isfinite(den) and den < 0 and b >= a and b >= c:
            return i + 0.5 * (a - c) / den
    return float(i)


def _refine(profile: np.ndarray, period: float, limit: int) -> float:
    """Sub-pixel period from the farthest usable multiple of ``period`` along one axis."""
    k = max(1, int(limit // period))
    centre = k * period
    lo, hi = int(max(1, centre - 1.5 * k - 1)), int(min(len(profile) - 1, centre + 1.5 * k + 2))
    if hi - lo < 2:
        return period
    i = lo + int(np.argmax(profile[lo:hi]))
    return _parabolic(profile, i) / k


def _fundamental(score: np.ndarray, i: int, dmin: int) -> int:
    """The smallest sub-multiple ``i/k`` of a peak lag that is itself a comparable peak."""
    for k in (4, 3, 2):
        j = int(round(i / k))
        if j - 2 < dmin:
            continue
        lo = j - 2 + int(np.argmax(score[j - 2: j + 3]))
        if score[lo] >= 0.5 * score[i]:
            return lo
    return i


def _score(profiles: tuple[np.ndarray, ...], h: int, w: int) -> np.ndarray:
    """Mean of the autocorrelation profiles over the lags each one reliably covers."""
    ax, ay, ad, aa = profiles
    limits = (int(0.7 * w), int(0.7 * h), int(0.7 * min(h, w)), int(0.7 * min(h, w)))
    top = max(limits)
    total, count = np.zeros(top + 1), np.zeros(top + 1)
    for prof, lim in zip(profiles, limits):
        total[: lim + 1] += prof[: lim + 1]
        count[: lim + 1] += 1
    return total / np.maximum(count, 1)


def autocorrelation_periods(res: np.ndarray, cfg: WatermarkConfig, limit: int,
                            profiles: tuple[np.ndarray, ...] | None = None) -> list[Period]:
    """Up to ``limit`` distinct (py, px) periods: the strongest autocorrelation peaks,
    reduced to their fundamental and refined per axis, strongest first."""
    h, w = res.shape
    profiles = profiles if profiles is not None else _autocorr(res)
    ax, ay = profiles[0], profiles[1]
    lim_x, lim_y = int(0.7 * w), int(0.7 * h)
    dmin = int(cfg.tile_chips * _MIN_CHIP)
    score = _score(profiles, h, w)
    if len(score) <= dmin + 2:
        return []
    score[:dmin] = -np.inf
    out: list[Period] = []
    for p in [_parabolic(score, _fundamental(score, i, dmin)) for i in _peaks(score, dmin)]:
        if len(out) >= limit:
            break
        px = _refine(ax, p, lim_x) if lim_x > 1.2 * p else p
        py = _refine(ay, p, lim_y) if lim_y > 1.2 * p else px
        px = px if lim_x > 1.2 * p else py
        if all(abs(px - q[1]) > 2 or abs(py - q[0]) > 2 for q in out):
            out.append((float(py), float(px)))
    return out


def _peaks(score: np.ndarray, dmin: int) -> list[int]:
    """The local maxima of ``score`` from lag ``dmin`` on (lags below it set to -inf by the
    caller), strongest first."""
    peaks = [i for i in range(max(dmin, 1), len(score) - 1)
             if score[i] >= score[i - 1] and score[i] >= score[i + 1]]
    return sorted(peaks, key=lambda i: -score[i])


def stretched_periods(res: np.ndarray, cfg: WatermarkConfig, limit: int,
                      profiles: tuple[np.ndarray, ...] | None = None) -> list[Period]:
    """Up to ``limit`` periods whose sides differ by a factor of :data:`MIN_STRETCH` to
    :data:`MAX_STRETCH`: the frame was stretched along one axis. A platform converts an
    anamorphic video (16:9 PAL stored 720x576, HDV 1440x1080) to square pixels, widening
    the picture by 4/3 to 1.45, so the tile's x period moves and its y period does not; the
    peaks of the mean profile (:func:`autocorrelation_periods`) then no longer line up.
    The x and y profiles' own peaks (at most 3 each, as fundamentals) are paired, strongest
    pair first."""
    h, w = res.shape
    ax, ay = (profiles if profiles is not None else _autocorr(res))[:2]
    dmin = int(cfg.tile_chips * _MIN_CHIP)
    sides = []
    for profile, limit_lag in ((ay, int(0.7 * h)), (ax, int(0.7 * w))):
        score = profile[:limit_lag + 1].copy()
        if len(score) <= dmin + 2:
            return []
        score[:dmin] = -np.inf
        found: list[float] = []
        for i in _peaks(score, dmin):
            lag = _parabolic(score, _fundamental(score, i, dmin))
            if all(abs(lag - f) > 2 for f in found):
                found.append(lag)
            if len(found) == 3:
                break
        sides.append([(lag, float(profile[int(round(lag))])) for lag in found])
    pairs = [((py, px), sy + sx) for py, sy in sides[0] for px, sx in sides[1]
             if MIN_STRETCH <= max(px / py, py / px) <= MAX_STRETCH]
    pairs.sort(key=lambda pair: -pair[1])
    return [period for period, _ in pairs[:limit]]


def native_periods(frame_shape: tuple[int, int], res_shape: tuple[int, int],
                   cfg: WatermarkConfig) -> list[Period]:
    """Periods of the embedder's whole-pixel chips for original frames from 1/:data:`MAX_CROP_SIDE`
    to :data:`MAX_CROP_SIDE` times the side of ``frame_shape`` (cropped or padded), in
    working pixels of a residual of ``res_shape``; the frame's own chip size (the expected
    period) is left out."""
    if cfg.chip_policy == "fixed":  # the chip never depends on the frame: expected is exact
        return []
    h, w = frame_shape
    scale = res_shape[0] / h
    own = cfg.chip_size(h, w)
    lo = cfg.chip_size(int(h / MAX_CROP_SIDE), int(w / MAX_CROP_SIDE))
    hi = cfg.chip_size(int(h * MAX_CROP_SIDE), int(w * MAX_CROP_SIDE))
    return [(p, p) for p in (cfg.tile_chips * c * scale for c in range(lo, hi + 1) if c != own)]


def fits_frame(period: float, res_shape: tuple[int, int], cfg: WatermarkConfig) -> bool:
    """Whether a tile of ``period`` working pixels is one the search can see in a residual of
    ``res_shape``: chips of at least ``_MIN_CHIP`` pixels, and the tile under 0.7 of the side."""
    return int(cfg.tile_chips * _MIN_CHIP) <= period < int(0.7 * max(res_shape))


def period_hypotheses(res: np.ndarray, cfg: WatermarkConfig, expected: float | None = None,
                      frame_shape: tuple[int, int] | None = None) -> PeriodHypotheses:
    """The expected period (when it fits) and a pool of other hypotheses: the native chip
    periods of cropped or padded originals (exact when right, so they come first), then the
    strongest autocorrelation peaks (estimates) that are not already there."""
    h, w = res.shape
    dmin = int(cfg.tile_chips * _MIN_CHIP)
    fixed: list[Period] = []
    if expected and fits_frame(expected, res.shape, cfg):
        fixed.append((expected, expected))  # exact: the embedder's own period, not re-estimated
    pool: list[Period] = []

    def offer(period: Period, tolerance: float) -> None:
        if all(abs(period[1] - q[1]) > tolerance or abs(period[0] - q[0]) > tolerance
               for q in fixed + pool):
            pool.append(period)

    if frame_shape is not None:
        for period in native_periods(frame_shape, res.shape, cfg):
            if dmin <= period[0] <= max(h, w):
                offer(period, 0.5)
    profiles = _autocorr(res)
    for period in autocorrelation_periods(res, cfg, _AUTOCORR_PEAKS, profiles):
        offer(period, 0.5)
    for period in stretched_periods(res, cfg, _STRETCHED_PEAKS, profiles):
        offer(period, 0.5)
    return PeriodHypotheses(fixed, pool)
