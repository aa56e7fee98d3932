"""A window search for detection: a marked video shown inside another one.

A reaction video, a news report or an edit can show a marked clip as an inset (picture in
picture) in a corner of another picture, or a marked photo in a collage. The inset keeps the
pattern, at its own smaller scale, but the rest of the frame adds only content to the summed
residual: folded over the whole frame, an inset of a ninth of its area holds a ninth of the
pattern and all of the noise. `bigbuckbunny` (720p, 5 s) shown at a third of its size in a
corner of a generated video was missed at the blind test's noise floor (z = 9.9, no decode
whose CRC held); cut out by hand, the quarter of the frame that held it gave z = 22.8.

So the summed residual is also cut into five windows, each half the frame's height and
width: the four quarters and the centre. Each window gets the period hypotheses of a frame
of its own (its autocorrelation alone shows the inset's tiling), with square periods added
(:func:`_isotropic`); every (window, period) is scored by its pilot correlation, the best
:data:`REFINE_TOP` have their periods refined on the pilot, and the best
:data:`WINDOW_GROUPS` of those are decoded. The search adds that many groups of
``phase_candidates`` phases to the Bonferroni count, whether it runs or not; the pilot is
independent of the message chips, so choosing by it leaves the test valid.

An inset is smaller than the frame, and so are its chips: at a third of a 720p frame the
embedder's 8-pixel chips are 2.7 pixels, 1.5 once the frame is brought to detection's
working scale (shorter side 400), where they no longer show. The windows of a frame whose
shorter side is above the working side are therefore cut from residuals made at
:data:`WINDOW_SCALE` times it (native resolution up to 600), of at most
:data:`WINDOW_FRAMES` of the sampled frames: the inset's pattern is the same in every
frame, and 16 frames of the hand-cut quarter gave z = 20.8 where all 130 gave 22.8. Chips
that end up under 1.4 working pixels (a 360p clip at a third of its size) cannot be read.
"""

from __future__ import annotations

import numpy as np

from watermark.config import WatermarkConfig
from watermark.folding import FoldMemo, pilot_sync
from watermark.pattern import Layout
from watermark.periods import period_hypotheses

__all__ = ["WINDOW_FRAMES", "WINDOW_GROUPS", "WINDOW_SCALE", "windows", "window_candidates",
           "window_label"]

#: Sampled frames whose residuals the windows are cut from, when they need a finer scale
#: than the working one.
WINDOW_FRAMES = 16
#: (window, period) hypotheses decoded, best pilot first.
WINDOW_GROUPS = 2
#: The windows' residuals are made at this many times the working side.
WINDOW_SCALE = 1.5
#: (window, period) hypotheses whose periods are refined before the best are decoded.
REFINE_TOP = 4
#: The refinement first tries square periods this far either side of the estimate's mean
#: side, this far apart (working pixels)...
ISO_SPAN, ISO_STEP = 2.0, 0.25
#: ...then moves each side by these steps while the pilot correlation grows.
FINE_STEPS = (0.25, 0.125)

#: One scored hypothesis: (pilot correlation, window name, period, folded tile).
Scored = tuple[float, str, tuple[float, float], np.ndarray]

#: Window name -> (top, left) as fractions of the frame; every window is half of each side.
_PLACES = {
    "top-left quarter": (0.0, 0.0),
    "top-right quarter": (0.0, 0.5),
    "bottom-left quarter": (0.5, 0.0),
    "bottom-right quarter": (0.5, 0.5),
    "centre": (0.25, 0.25),
}


def windows(shape: tuple[int, int]) -> list[tuple[str, tuple[slice, slice]]]:
    """``(name, (rows, columns))`` of the five windows of an ``(h, w)`` array."""
    h, w = shape
    wh, ww = h // 2, w // 2
    out = []
    for name, (top, left) in _PLACES.items():
        y0, x0 = round(top * h), round(left * w)
        out.append((name, (slice(y0, y0 + wh), slice(x0, x0 + ww))))
    return out


def window_candidates(total: np.ndarray, cfg: WatermarkConfig, lay: Layout,
                      top: int = WINDOW_GROUPS, memo: FoldMemo | None = None,
                      ) -> list[tuple[str, tuple[float, float], np.ndarray]]:
    """The ``top`` best ``(window, period, folded tile)`` by pilot correlation over every
    period hypothesis of every window of the summed residual ``total``. ``memo``: the
    windows' periods and folded tiles kept from another key's search (and for the next)."""
    memo = memo if memo is not None else FoldMemo()
    scored: list[Scored] = []
    subs: dict[str, np.ndarray] = {}
    for name, (rows, cols) in windows(total.shape):
        sub = subs[name] = memo.value(("window view", name), lambda rows=rows, cols=cols:
                                      np.ascontiguousarray(total[rows, cols]))
        if min(sub.shape) < cfg.tile_chips:  # not one tile of 1-pixel chips: a tiny picture
            continue
        pool = memo.value(("window periods", name),
                          lambda sub=sub: _isotropic(period_hypotheses(sub, cfg).pool))
        for period in pool:
            tile = memo.tile(("window", name), period, lay.n, lambda sub=sub: sub)
            scored.append((pilot_sync(tile, lay), name, period, tile))
    scored.sort(key=lambda s: -s[0])
    refined = [_refined(s, subs[s[1]], lay, memo) for s in scored[:REFINE_TOP]]
    refined.sort(key=lambda s: -s[0])
    return [(name, period, tile) for _, name, period, tile in refined[:top]]


def window_label(name: str, period: tuple[float, float], tile: np.ndarray, total: np.ndarray,
                 lay: Layout, memo: FoldMemo) -> str | None:
    """What a detection in the window ``name`` (its folded ``tile``) says was undone: "shown
    in the <name> of the frame", or None where the whole residual ``total``, folded at the
    same period, meets the pilot at least as well as the window does. The pattern then spans
    the frame: a clip brought down so far that its chips fall under the smallest the whole
    frame's period search tries (1.4 working pixels), which a window's refinement can reach.
    A 1080p clip shown at 230×130 (chips of 1.3 pixels) was reported as "shown in the
    bottom-left quarter". An inset fills at most its window, a quarter of the frame, so the
    whole frame adds three times the content and none of the pattern and meets the pilot at
    about half the window's strength; where the pattern covers the frame, at about twice it.
    This sets the label alone: the test is the window's."""
    whole = memo.tile(("whole frame",), period, lay.n, lambda: total)
    if pilot_sync(whole, lay) >= pilot_sync(tile, lay):
        return None
    return f"shown in the {name} of the frame"


def _isotropic(pool: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``pool`` and, for each period, the square ones of each of its sides. An inset is
    scaled alike along both axes, but a window's autocorrelation refines each side on the
    farthest multiple of the period, which can lie past the inset's edge: on a 720p clip
    shown at a third, (85.4, 83.6) where the tile is 85.3 wide, and the pilot did not rank
    it."""
    out: list[tuple[float, float]] = []
    for py, px in pool:
        for period in ((py, px), (py, py), (px, px)):
            if all(abs(period[0] - q[0]) > 0.5 or abs(period[1] - q[1]) > 0.5 for q in out):
                out.append(period)
    return out


def _refined(best: Scored, sub: np.ndarray, lay: Layout, memo: FoldMemo) -> Scored:
    """``best`` (folded from its window ``sub``) at the period of the strongest pilot
    correlation near it: square periods within :data:`ISO_SPAN` of its mean side, then each
    side moved by :data:`FINE_STEPS` while the pilot grows. A window's autocorrelation sees
    few periods, so its estimate can be a pixel off, where the folded chips no longer line
    up."""
    mid = 0.5 * (best[2][0] + best[2][1])
    for d in np.arange(-ISO_SPAN, ISO_SPAN + 1e-9, ISO_STEP):
        period = (mid + d, mid + d)
        tile = memo.tile(("window", best[1]), period, lay.n, lambda: sub)
        sync = pilot_sync(tile, lay)
        if sync > best[0]:
            best = (sync, best[1], period, tile)
    for step in FINE_STEPS:
        for _ in range(4):
            py, px = best[2]
            moves = ((py + step, px), (py - step, px), (py, px + step), (py, px - step))
            tries = [(pilot_sync(tile, lay), best[1], period, tile)
                     for period in moves
                     for tile in (memo.tile(("window", best[1]), period, lay.n, lambda: sub),)]
            moved = max(tries, key=lambda s: s[0])
            if moved[0] <= best[0]:
                break
            best = moved
    return best
