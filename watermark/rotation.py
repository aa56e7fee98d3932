"""A rotation search for detection: rotated (and cropped) frames tilt the tile's lattice.

A rotation by a few degrees moves the chips off the folding grid, so no period hypothesis
lines up and the pilot finds nothing (the benchmark's ``rotate_5``: 5° about the centre,
then the central 80 % of each side, no rescale). The summed residual is rotated back by each
angle of a grid instead; summing and rotating commute, so this costs one warp per angle, not
per frame. Each angle is tried with the periods that need no rescale (the expected one and
the native chip periods of cropped originals, ``watermark.periods``), ranked by the pilot
alone; the best few (angle, period) pairs are refined in halving steps, and the one whose
refined pilot is strongest wins. Only the winner is decoded, so the
search adds one (period, angle) hypothesis group of ``phase_candidates`` phases to the
Bonferroni count; the pilot is independent of the message chips, so choosing by it leaves
the test valid.
"""

from __future__ import annotations

import cv2
import numpy as np

from watermark.config import WatermarkConfig
from watermark.folding import FoldMemo, pilot_sync
from watermark.pattern import Layout
from watermark.periods import fits_frame, native_periods

__all__ = ["rotation_candidate", "coarse_degrees", "MAX_DEGREES", "FINE_STEPS", "REFINE_TOP"]

#: The largest rotation searched (degrees, either way).
MAX_DEGREES = 10.0
#: Steps of the refinements around the best angle so far (degrees, one step each way).
FINE_STEPS = (1.0, 0.5, 0.25)
#: Coarse (angle, period) candidates refined; the best refined pilot is decoded. On a 2°
#: grid the true angle can be 1° off, where its pilot ranks no higher than a wrong
#: period's; once refined it stands out (see watermark/README.md, *Rotation*).
REFINE_TOP = 3

#: One scored hypothesis: (pilot correlation, angle in degrees, period, folded tile).
Scored = tuple[float, float, tuple[float, float], np.ndarray]


def coarse_degrees(step: float) -> tuple[float, ...]:
    """Angles of the coarse search, ``step`` apart out to ±``MAX_DEGREES`` (0, the unrotated
    detection's, excluded): ±1, 2, ..., 10 for the default 1°."""
    n = int(MAX_DEGREES / step + 1e-9)
    return tuple(sign * k * step for k in range(1, n + 1) for sign in (-1.0, 1.0))


def rotate(res: np.ndarray, degrees: float) -> np.ndarray:
    """``res`` rotated by ``degrees`` about its centre (zeros outside)."""
    h, w = res.shape
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, 1.0)
    return cv2.warpAffine(res, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def rotation_candidate(total: np.ndarray, cfg: WatermarkConfig, expected: float | None,
                       frame_shape: tuple[int, int] | None, lay: Layout,
                       memo: FoldMemo | None = None,
                       ) -> tuple[float, tuple[float, float], np.ndarray] | None:
    """``(degrees, period, folded tile)`` of the best pilot correlation, or None when no
    period fits the frame: every (angle, period) of the coarse grid is scored by its pilot,
    the ``REFINE_TOP`` best are refined in halving steps, and the best refined one wins.
    ``memo``: the folded rotations of ``total`` kept from another key's search (and for
    the next one)."""
    memo = memo if memo is not None else FoldMemo()

    periods = [(expected, expected)] if expected else []
    if frame_shape is not None:
        periods += native_periods(frame_shape, total.shape, cfg)
    periods = [p for p in periods if fits_frame(p[0], total.shape, cfg)]
    if not periods:
        return None

    def scored_at(degrees: float, choices: list[tuple[float, float]]) -> list[Scored]:
        turned: list[np.ndarray] = []  # one warp per angle, whatever the periods, if any

        def view() -> np.ndarray:
            if not turned:
                turned.append(rotate(total, degrees))
            return turned[0]

        out = []
        for period in choices:
            tile = memo.tile(("rotated", round(degrees, 9)), period, lay.n, view)
            out.append((pilot_sync(tile, lay), degrees, period, tile))
        return out

    def refined(best: Scored) -> Scored:
        for step in FINE_STEPS:
            angle, period = best[1], best[2]
            best = max([best, *(scored_at(angle + d, [period])[0] for d in (-step, step))],
                       key=lambda s: s[0])
        return best

    coarse = sorted((s for a in coarse_degrees(cfg.rotation_step) for s in scored_at(a, periods)),
                    key=lambda s: s[0], reverse=True)
    best = max((refined(c) for c in coarse[:REFINE_TOP]), key=lambda s: s[0])
    return best[1], best[2], best[3]
