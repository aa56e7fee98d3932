"""The *motion* look: content predicted from neighbouring frames, aligned by optical flow.

A spatial prediction (a bilateral or non-local-means filter) cannot tell fine texture from
the pattern, so on textured footage after a strong re-encode most of the residual is
content. When the camera moves, the neighbouring frames show the same content at other
places of the frame, while the pattern stays where it was embedded. Warping a neighbour by
the dense optical flow onto the frame lines its content up with the frame's and moves its
pattern away, so ``frame - mean(warped neighbours)`` keeps the frame's pattern and little of
its content. Neighbours a few frames away are used (:data:`GAP_FRAMES` and twice that), not
the adjacent ones: an inter-coded frame carries much of its predecessor's pattern dragged
along by the codec's own motion compensation, which an adjacent neighbour would cancel.

Where the picture does not move (a static camera) the neighbours' pattern lines up with the
frame's and would cancel with the content, so each pixel mixes the two predictions by how
far its content moved, in chips: the motion prediction where it moved a chip or more, the
bilateral one where it stood still.

Measured on the benchmark's clips, z of the embedded codeword (the bilateral look beside this
one): `pan_horse` 640x480 after H.264 CRF 28 8.1 -> 14.6, CRF 35 2.3 -> 9.0; `pan_grass` CRF 28
9.0 -> 17.9; `bikes` CRF 28 20.2 -> 20.1; `carphone` (a static camera) unchanged (6.9 -> 6.8).
It costs about 11 ms per 400x711 working frame (four DIS flows and bilinear warps); see
watermark/README.md for the variants measured and not adopted.

Frames arrive in order with their frame numbers; a frame is predicted once its later
neighbours have arrived, so the look holds a window of at most ``4k + 1`` frames (constant
memory), and :meth:`MotionAccumulator.settle` predicts the last ones from what came before.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

import cv2
import numpy as np

from provenant.errors import MediaError
from watermark.config import WatermarkConfig
from watermark.detection import ResidualAccumulator
from watermark.residuals import normalise_residual, predict_residual

__all__ = ["MotionAccumulator", "GAP_FRAMES", "motion_residual"]

#: Frames between a frame and its nearer neighbours (the farther ones are twice as far).
GAP_FRAMES = 3
#: Working frames with a shorter side below this get the bilateral prediction alone (the
#: flow needs a few of its patches; OpenCV's DIS refuses smaller images).
MIN_FLOW_SIDE = 16


class MotionAccumulator(ResidualAccumulator):
    """Sums motion-predicted residuals (see the module) of frames given in order.

    ``stride``: only every ``stride``-th frame (the first one included) is predicted, from
    neighbours among all the frames, so a long or large sample costs a bounded time."""

    def __init__(self, cfg: WatermarkConfig, stride: int = 1) -> None:
        super().__init__(cfg, "motion", stride)
        self._window: deque[tuple[np.ndarray, np.ndarray | None]] = deque()
        self._first: int | None = None
        self._step: int | None = None  # neighbours are this many samples apart
        self._done = 0  # frames of the window already predicted (or skipped)
        self._position = 0  # the window's first frame: how many came before it
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)

    @property
    def neighbour_step(self) -> int | None:
        """Samples between a frame and its nearer neighbours (None until two have come)."""
        return self._step

    def add_frame(self, shape: tuple[int, int], g: np.ndarray, index: int | None = None,
                  spatial: np.ndarray | None = None) -> None:
        """Add the next frame at the working scale (``index``: its frame number in the
        video, from which the spacing of the samples is read; None: consecutive frames;
        ``spatial``: its bilateral residual, where another look made it)."""
        if self.shape is None:  # the base class's: the period hypotheses read it
            self.shape = shape
        elif shape != self.shape:
            raise MediaError(f"frame size {shape} differs from the first frame's {self.shape}")
        if self._step is None:
            if self._first is None:
                self._first = index if index is not None else 0
            else:
                spacing = max(1, (index if index is not None else self._first + 1) - self._first)
                self._step = max(1, round(GAP_FRAMES / spacing))
        self._window.append((g, spatial))
        self.offered += 1
        if self._step is not None:
            self._predict(final=False)

    def settle(self) -> None:
        """Predict the frames still waiting for later neighbours (the video has ended)."""
        if len(self._window) >= 2:
            self._step = self._step or 1
            self._predict(final=True)
        self._window.clear()
        self._done = 0
        self._position = self.offered

    def _predict(self, final: bool) -> None:
        k = self._step
        window = self._window
        while self._done < len(window) and (final or self._done + 2 * k < len(window)):
            t = self._done
            if (self._position + t) % self.stride == 0:
                near = [window[j][0] for j in (t - 2 * k, t - k, t + k, t + 2 * k)
                        if 0 <= j < len(window)]
                self._accumulate(self.shape, self._residual(*window[t], near))
            self._done += 1
            while self._done > 2 * k:  # the oldest frame is no one's neighbour any more
                self._window.popleft()
                self._done -= 1
                self._position += 1

    def _residual(self, g: np.ndarray, spatial: np.ndarray | None,
                  near: list[np.ndarray]) -> np.ndarray:
        chip = self.cfg.chip_size(*self.shape) * g.shape[0] / self.shape[0]
        return motion_residual(g, near, chip, self._flow, spatial)


def motion_residual(g: np.ndarray, near: list[np.ndarray], chip: float,
                    flow: cv2.DISOpticalFlow | None = None,
                    spatial: np.ndarray | None = None) -> np.ndarray:
    """A working-scale frame's residual predicted from ``near`` (its neighbours), mixed per
    pixel with the bilateral residual (``spatial``, made here if not given) by how far the
    content moved (``chip``: the chip size at this scale)."""
    spatial = predict_residual(g, "bilateral") if spatial is None else spatial
    if not near or min(g.shape) < MIN_FLOW_SIDE:
        return spatial
    flow = flow or cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    grid = _grid(*g.shape)
    frame8 = np.clip(g + 0.5, 0, 255).astype(np.uint8)
    warped, moved = np.zeros_like(g), np.zeros_like(g)
    for n in near:
        f = flow.calc(frame8, np.clip(n + 0.5, 0, 255).astype(np.uint8), None)
        # bilinear: level with bicubic on the benchmark's pans (pan_horse CRF 28 14.6 vs
        # 14.3), at half the cost
        warped += cv2.remap(n, grid + f, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        moved += cv2.magnitude(f[..., 0], f[..., 1])
    weight = np.minimum(moved * (1.0 / (len(near) * max(chip, 1e-6))), 1.0)
    temporal = normalise_residual(g - warped * (1.0 / len(near)))
    return spatial + weight * (temporal - spatial)


@lru_cache(maxsize=4)
def _grid(h: int, w: int) -> np.ndarray:
    """``(h, w, 2)`` float32 pixel coordinates (x, y): the identity map of ``cv2.remap``."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    grid = np.stack([gx, gy], axis=-1)
    grid.flags.writeable = False
    return grid
