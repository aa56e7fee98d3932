"""An orientation search for detection: mirrored and quarter-turned copies.

A mirrored re-upload (a common way to slip past content matching) or a clip turned by a
quarter turn (a phone video whose rotation flag a platform baked into the pixels) carries
the keyed tile mirrored or turned, so no phase of the unturned tile lines up with the
pilot. These are the eight symmetries of the square, and they commute with folding: the
folded tile of a mirrored frame is the mirrored folded tile, circularly shifted (which the
phase search absorbs), and a quarter-turned frame's periods are found on its own axes as
for any other frame. So the search costs no pass over the frames: the tiles each look of
the unturned detection folded are turned seven ways, each scored by its pilot correlation
alone, and each look's best (orientation, period) is decoded. It adds one group of
``phase_candidates`` phases per look to the Bonferroni count; the pilot is independent of
the message chips, so choosing by it leaves the test valid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from watermark.folding import pilot_sync
from watermark.pattern import Layout

__all__ = ["ORIENTATIONS", "orient", "orientation_candidate"]

#: The seven non-identity symmetries of the square tile, by the change to the frame that
#: they undo (a mirrored frame is undone by mirroring its tile again).
ORIENTATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mirrored": lambda t: t[:, ::-1],
    "flipped": lambda t: t[::-1, :],
    "rotated 180°": lambda t: t[::-1, ::-1],
    "rotated 90° clockwise": lambda t: np.rot90(t, 1),
    "rotated 90° anticlockwise": lambda t: np.rot90(t, -1),
    "transposed": lambda t: t.T,
    "anti-transposed": lambda t: t[::-1, ::-1].T,
}


def orient(tile: np.ndarray, name: str) -> np.ndarray:
    """``tile`` (square) mapped back by the symmetry named ``name`` (contiguous)."""
    return np.ascontiguousarray(ORIENTATIONS[name](tile))


def orientation_candidate(tiles: Sequence[tuple[tuple[float, float], np.ndarray]], lay: Layout,
                          ) -> tuple[str, tuple[float, float], np.ndarray] | None:
    """``(orientation, period, oriented tile)`` of the highest pilot correlation over every
    non-identity symmetry of every ``(period, folded tile)`` of one look, or None without
    tiles."""
    best: tuple[float, str, tuple[float, float], np.ndarray] | None = None
    for period, tile in tiles:
        for name in ORIENTATIONS:
            turned = orient(tile, name)
            sync = pilot_sync(turned, lay)
            if best is None or sync > best[0]:
                best = (sync, name, period, turned)
    return None if best is None else best[1:]
