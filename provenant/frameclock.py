"""The clock frames are stamped with when a video is written (:mod:`provenant.media_write`)."""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["FrameClock", "frame_clock"]

#: Presentation times are counted in MPEG's 1/90000 s at least...
_MPEG_TICKS = 90_000
#: ...refined for a frame rate up to this many ticks per second (below MP4's 32-bit clock).
_MAX_TICKS = 1_000_000
#: The longest step between two frames, in ticks: an MP4 stores each frame's duration in 32
#: bits. A frame time further on is a damaged timestamp (a damaged FLV put one frame 49 days
#: in, and the MP4 muxer refused the copy), so that frame follows the one before instead.
_MAX_STEP = 2**31


def frame_clock(rate: Fraction) -> Fraction:
    """The time base frames are stamped in at ``rate``: MPEG's 1/90000 s, refined to a
    multiple of the rate's numerator so that every frame of a constant rate lands on a
    whole tick. At 23.976 fps (24000/1001) that is 1/360000 s: in 1/90000 s the frames
    lasted 3754, 3754 and 3753 ticks in turn: the MP4 recorded frames of unequal length, a
    variable frame rate of 23.9759 fps on average where the source had a constant 23.976."""
    ticks = math.lcm(_MPEG_TICKS, rate.numerator)
    return Fraction(1, ticks if ticks <= _MAX_TICKS else _MPEG_TICKS)


class FrameClock:
    """Presentation timestamps of the frames written, in ``time_base`` units
    (:func:`frame_clock`): a frame's own time when it has one, else (or when that time lies
    implausibly far on, :data:`_MAX_STEP`) one frame period after the previous frame; always
    increasing."""

    def __init__(self, rate: Fraction) -> None:
        self.time_base = frame_clock(rate)
        self.step = float(1 / (rate * self.time_base))
        self.ticks: float | None = None  # the last frame's time, unrounded
        self.last: int | None = None

    def pts(self, seconds: float | None) -> int:
        far = seconds is not None and self.ticks is not None and \
            seconds / self.time_base - self.ticks > _MAX_STEP
        if seconds is not None and not far:
            self.ticks = seconds / self.time_base
        else:
            self.ticks = 0.0 if self.ticks is None else self.ticks + self.step
        pts = round(self.ticks)
        if self.last is not None and pts <= self.last:
            pts = self.last + 1
            self.ticks = float(pts)
        self.last = pts
        return pts
