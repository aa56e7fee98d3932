"""The accumulations ("looks") a detection decides on, and the decision over the keys it
tests (a deployment's current watermark key and the ones it has retired)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from watermark.config import WatermarkConfig, detection_keys, key_id
from watermark.detection import KeyTest, ResidualAccumulator, WatermarkResult
from watermark.lookup import Codebook
from watermark.motion import MotionAccumulator
from watermark.residuals import luma_of, predict_residual, working_luma
from watermark.windows import WINDOW_FRAMES, WINDOW_SCALE

__all__ = ["Looks"]


class Looks:
    """The accumulations a detection decides on, each one a Bonferroni factor:

    * every evenly sampled frame (the bilateral content prediction, cheap);
    * the codec's key frames on their own: few frames (at most a quarter of the sample), and
      after a low-bitrate re-encode the ones that carry most of the pattern, so they get the
      costlier non-local-means prediction when ``cfg.key_frame_filter`` says so;
    * the *fine* look: the evenly sampled frames again, through non-local means, where
      ``cfg.fine_look_pixels`` pays for at least every other one of the ``n_even`` frames
      (small videos; unknown ``n_even``: never). On `carphone` (176×144) after H.264 CRF 23
      it gave z = 14.6 where the bilateral look gave 10.9;
    * the *median* look (``cfg.median_look``): the evenly sampled frames through a 5×5
      median prediction. On sharp two-tone content (`pan_horse`, a silhouette) the bilateral
      prediction keeps each edge pixel to itself, cancelling its pattern: after contrast 1.3
      the true codeword's z was 7.7 through it and 15.4 through the median;
    * the *motion* look (``cfg.motion_look_pixels``, :mod:`watermark.motion`): the evenly sampled
      frames, their content predicted from neighbouring samples aligned by optical flow,
      where the picture moves. On `pan_horse` after H.264 CRF 28 the codeword's z was 8.1
      through the bilateral prediction and 14.6 through it. A video of one frame has none.
    """

    def __init__(self, cfg: WatermarkConfig, n_even: int | None) -> None:
        self.cfg, self.n_even = cfg, n_even
        self.every = ResidualAccumulator(cfg)
        self.keyed = ResidualAccumulator(cfg, cfg.key_frame_filter)
        self.fine: ResidualAccumulator | None = None
        self.median = ResidualAccumulator(cfg, "median") if cfg.median_look else None
        self.wide: ResidualAccumulator | None = None  # the window search's, for large frames
        self.motion: MotionAccumulator | None = None  # made at the first frame (its size)

    def add(self, frame: np.ndarray, *, even: bool, key: bool, index: int | None = None) -> None:
        """Add a frame (``index``: its number in the video, which spaces the motion look's
        neighbours; None: the even samples are consecutive frames)."""
        gray = luma_of(frame)
        shape, g = working_luma(gray, self.cfg.work_side)  # shared by every look
        if even:
            if self.every.frames == 0:
                self.fine = _fine_look(self.cfg, shape[0], shape[1], self.n_even)
                self.wide = _wide_look(self.cfg, shape[0], shape[1], self.n_even)
                self.motion = _motion_look(self.cfg, shape[0], shape[1], self.n_even)
            if self.wide is not None and len(self.wide.pending or ()) < WINDOW_FRAMES:
                self.wide.add(gray)
            # the motion look mixes in the bilateral residual: made once for both
            spatial = (predict_residual(g, "bilateral") if self.motion is not None
                       and self.every.method == "bilateral" else None)
            self.every.add_working(shape, g, spatial)
            for look in (self.fine, self.median):
                if look is not None:
                    look.add_working(shape, g)
            if self.motion is not None:
                self.motion.add_frame(shape, g, index, spatial)
        if key:
            self.keyed.add_working(shape, g)

    def analyse(self, keys: bytes | Sequence[bytes],
                codebook: Codebook | None = None) -> WatermarkResult:
        """Decide, for one key or several (the current one first, then retired ones). The
        fine look's frames are only kept while reading: the other looks are tested first,
        with the fine look counted, so each hypothesis has the weight it has in the full
        test; when they detect, that is the answer (the full test would detect too, with a
        p-value at most as large), and only otherwise is the fine look computed and its
        hypotheses decoded too, then the searches run (see :func:`_over_keys`)."""
        keys = list(detection_keys(keys))  # checked: at least one, at most MAX_KEYS
        if self.motion is not None:
            self.motion.settle()
        first = [a for a in (self.every, self.keyed, self.median, self.motion)
                 if a is not None and a.frames]
        later = [self.fine] if self.fine is not None and self.fine.pending else []

        def made() -> list[ResidualAccumulator]:
            for look in later:
                look.settle()
            return [a for a in later if a.frames]

        return _over_keys(keys, self.cfg.fpr, lambda key, fpr: KeyTest(
            first, key, codebook, counted_looks=len(first) + len(later), windows=self.wide,
            fpr=fpr), made)


def _over_keys(keys: list[bytes], fpr: float, start: Callable[[bytes, float], KeyTest],
               later: Callable[[], list[ResidualAccumulator]]) -> WatermarkResult:
    """The test under each key at ``fpr / len(keys)``, stopping at the first that detects
    (else the smallest p-value), its p-values multiplied by ``len(keys)``: a union bound
    over the keys, so the false-positive rate is still ``fpr`` whichever key did it. Each
    step of the test (:class:`KeyTest`) is taken for every key before the next: the first
    looks, the looks that ``later`` makes (once, for all keys), then the searches (rotation,
    orientation, windows). A clip marked with a retired key thus waits for none of the
    current key's costly steps. Each key's test is the same whatever the order (every
    hypothesis is counted from the start), so the order changes only which key answers when
    two would detect. The residuals and their folds do not depend on the key (each look
    keeps what its searches folded, ``ResidualAccumulator.memo``), so only the pilot
    ranking and the decoding are repeated."""
    tests: list[KeyTest] = []
    for i, key in enumerate(keys):
        tests.append(start(key, fpr / len(keys)))
        result = tests[-1].result()
        if result.detected:
            return _union(result, i, key, len(keys))
    more = later()
    steps = ([lambda test: test.add_looks(more)] if more else []) + [KeyTest.search]
    for step in steps:
        for i, (key, test) in enumerate(zip(keys, tests)):
            step(test)
            result = test.result()
            if result.detected:
                return _union(result, i, key, len(keys))
    results = [t.result() for t in tests]
    i = min(range(len(keys)), key=lambda j: (results[j].p_value, j))
    return _union(results[i], i, keys[i], len(keys))


def _union(result: WatermarkResult, i: int, key: bytes, n: int) -> WatermarkResult:
    """``result`` of the ``i``-th of ``n`` keys, with the union bound over the keys."""
    return replace(result, p_value=min(1.0, result.p_value * n),
                   blind_p_value=min(1.0, result.blind_p_value * n),
                   lookup_p_value=None if result.lookup_p_value is None
                   else min(1.0, result.lookup_p_value * n),
                   key_id=key_id(key) if result.detected else None,
                   key_retired=result.detected and i > 0)


def _fine_look(cfg: WatermarkConfig, height: int, width: int,
               n_even: int | None) -> ResidualAccumulator | None:
    if not n_even or cfg.fine_look_pixels <= 0:
        return None
    stride = math.ceil(n_even * cfg.working_pixels(height, width) / cfg.fine_look_pixels)
    return ResidualAccumulator(cfg, "nlm", stride, deferred=True) if stride <= 2 else None


def _wide_look(cfg: WatermarkConfig, height: int, width: int,
               n_even: int | None) -> ResidualAccumulator | None:
    """The window search's residuals for a frame whose shorter side is above the working
    side: at :data:`~watermark.windows.WINDOW_SCALE` times it, of at most
    :data:`~watermark.windows.WINDOW_FRAMES` evenly spread sampled frames, made only if the
    search runs (the windows of a smaller frame are cut from the evenly sampled look)."""
    if not cfg.window_search or min(height, width) <= cfg.work_side:
        return None
    stride = math.ceil(n_even / WINDOW_FRAMES) if n_even else 1
    wide = replace(cfg, work_side=min(4096, round(WINDOW_SCALE * cfg.work_side)))
    return ResidualAccumulator(wide, stride=stride, deferred=True)


def _motion_look(cfg: WatermarkConfig, height: int, width: int,
                 n_even: int | None) -> MotionAccumulator | None:
    """The motion look, predicting every sampled frame or, where ``cfg.motion_look_pixels``
    does not cover them all, evenly spread ones (every sampled frame still serves as a
    neighbour)."""
    if cfg.motion_look_pixels <= 0:
        return None
    need = (n_even or 1) * cfg.working_pixels(height, width)
    return MotionAccumulator(cfg, max(1, math.ceil(need / cfg.motion_look_pixels)))
