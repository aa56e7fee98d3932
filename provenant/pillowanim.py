"""Animated WebP and animated AVIF (an AVIF image sequence), read through Pillow
(libwebp's animation decoder; libavif): FFmpeg, which reads every other video here, has no
decoder for the first and reads the second as its one still picture.

:class:`PillowAnimation` presents the file as the part of a PyAV input container that the
readers use (``streams``, ``decode``, ``seek``, ``duration``), yielding real
``av.VideoFrame`` objects with millisecond timestamps, so that every reader (probe, frames,
poster, the watermark's sampler) takes such an animation as it takes a GIF. Frames are the
full canvas, composed by the decoder, as RGB (transparency dropped, as for a GIF). Memory
holds the file (the decoders read it whole; within the file-size limit) and one frame; a
damaged file raises :class:`MediaError` while it is decoded.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import accumulate
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from provenant.errors import MediaError, MediaLimitError

__all__ = ["PillowAnimation", "PILLOW_DAMAGE"]

#: What Pillow and libwebp raise on a damaged file (an AVIF sequence whose header gives a
#: timescale of 0: ZeroDivisionError).
PILLOW_DAMAGE = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, MemoryError,
                 ArithmeticError)
_MS = Fraction(1, 1000)


class PillowAnimation:
    """An animation opened for reading (``streams.video[0]`` and ``decode``): ``codec``
    names its kind (``webp``, ``avif``), ``durations`` are its frames' in milliseconds, from
    the file's own headers (:func:`provenant.imageheaders.animation`)."""

    def __init__(self, path: Path, codec: str, durations: list[int]) -> None:
        from PIL import Image

        self.path, self.codec = path, codec
        try:
            self.image = Image.open(path)
        except Image.DecompressionBombError as exc:  # over Pillow's limit, if ours is higher
            raise MediaLimitError(f"{path}: {exc}") from None
        except PILLOW_DAMAGE as exc:
            raise MediaError(f"{path} cannot be read: it is a truncated or corrupt "
                             f"{codec.upper()} ({exc})") from None
        frames, (width, height) = int(getattr(self.image, "n_frames", 1)), self.image.size
        durations = durations or [0]
        self.starts = [0, *accumulate(durations[:-1])]
        self.position, total = 0, sum(durations)
        self.stream = SimpleNamespace(
            codec_context=SimpleNamespace(width=width, height=height, name=codec),
            time_base=_MS, start_time=0, frames=frames, duration=total or None,
            average_rate=Fraction(frames * 1000, total) if total else None, guessed_rate=None,
            thread_type=None)
        self.streams = SimpleNamespace(video=[self.stream], audio=[], subtitles=[])
        self.duration: int | None = None  # the stream's is the file's

    def decode(self, stream: Any = None, **_: Any):  # -> Iterator[av.VideoFrame]
        """Frames from the current position (after :meth:`seek`: from the frame sought)."""
        import av

        while self.position < self.stream.frames:
            try:
                self.image.seek(self.position)
                self.image.load()
                rgb = self.image.convert("RGB")
            except PILLOW_DAMAGE as exc:
                raise MediaError(f"{self.path} cannot be decoded: frame {self.position} of "
                                 f"the {self.codec.upper()} is truncated or corrupt ({exc})"
                                 ) from None
            frame = av.VideoFrame.from_ndarray(np.asarray(rgb), format="rgb24")
            frame.pts, frame.time_base = int(self.image.info.get("timestamp", 0)), _MS
            frame.key_frame = self.position == 0
            self.position += 1
            yield frame

    def seek(self, offset: int, *_: Any, **__: Any) -> None:
        """Go to the last frame that starts at or before ``offset`` milliseconds."""
        self.position = max(0, sum(1 for t in self.starts if t <= offset) - 1)

    def close(self) -> None:
        self.image.close()

    def __enter__(self) -> PillowAnimation:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()
