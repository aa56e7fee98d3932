"""Luma frame sampling for detection: even samples plus the codec's key frames.

Detection needs luma only, at most ``work_side`` pixels on the shorter side, and it needs
to know which frames were intra-coded. PyAV gives both cheaply: frames are decoded with
frame threading and only the sampled ones are converted (straight from the Y plane).
Short videos are decoded in one pass; long ones are read by seeking (cost independent of
length). Files are validated by :func:`provenant.media.probe` first (limits, type).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from provenant.demux import open_container
from provenant.errors import MediaError
from provenant.framesize import scaled_to
from provenant.orientation import frame_turns, upright

__all__ = ["LumaSample", "sample_luma"]

#: Videos with at most this many frames are decoded in one sequential pass.
SEQUENTIAL_MAX_FRAMES = 900


@dataclass(frozen=True)
class LumaSample:
    index: int
    luma: np.ndarray  # (H, W) uint8
    even: bool  # one of the evenly spaced samples
    key: bool  # an intra-coded (key) frame


def _luma(frame) -> np.ndarray:  # frame: av.VideoFrame
    """The frame's luma, upright (its display rotation applied, as every media reader does)."""
    return upright(frame.to_ndarray(format="gray"), frame_turns(frame), "gray")


def _even_indices(total: int, n: int) -> set[int]:
    return set(np.unique(np.linspace(0, max(total - 1, 0), min(n, max(total, 1)))
                         .round().astype(int)).tolist())


def sample_luma(path: Path, total: int, n: int, max_keys: int) -> Iterator[LumaSample]:
    """Yield ``n`` evenly spaced frames and up to ``max_keys`` key frames as luma, each at
    the first one's size (a stream that switches renditions mid-way has the others scaled
    back to it, where a pattern marked before the renditions were made lines up again)."""
    size: tuple[int, int] | None = None
    for sample in _samples(path, total, n, max_keys):
        size = size or sample.luma.shape
        yield sample if sample.luma.shape == size else replace(
            sample, luma=scaled_to(sample.luma, *size))


def _samples(path: Path, total: int, n: int, max_keys: int) -> Iterator[LumaSample]:
    import av

    with open_container(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            if total <= SEQUENTIAL_MAX_FRAMES:
                yield from _sequential(container, stream, _even_indices(total, n), max_keys)
            else:
                yield from _seeking(container, stream, total, n, max_keys)
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path} cannot be decoded: it is truncated or corrupt ({exc})") from None


def _sequential(container, stream, even: set[int], max_keys: int) -> Iterator[LumaSample]:
    keys = 0
    last = max(even) if even else 0
    for i, frame in enumerate(container.decode(stream)):
        is_key = bool(frame.key_frame) and keys < max_keys
        if i in even or is_key:
            keys += is_key
            yield LumaSample(i, _luma(frame), i in even, is_key)
        if i >= last and keys >= max_keys:
            break


def _seeking(container, stream, total: int, n: int, max_keys: int) -> Iterator[LumaSample]:
    """Seek near each target time; the first frame decoded after a seek is a key frame."""
    base = stream.time_base
    rate = float(stream.average_rate or stream.guessed_rate or 25)
    keys = 0
    for target in sorted(_even_indices(total, n)):
        ts = int(target / rate / base) + (stream.start_time or 0)
        container.seek(ts, stream=stream, backward=True, any_frame=False)
        first = True
        for frame in container.decode(stream):
            t_sec = float(frame.pts * base) if frame.pts is not None else 0.0
            idx = int(round(t_sec * rate))
            if first and frame.key_frame and keys < max_keys:
                keys += 1
                yield LumaSample(idx, _luma(frame), idx >= target, True)
                if idx >= target:
                    break
            elif idx >= target:
                yield LumaSample(idx, _luma(frame), True, False)
                break
            first = False
