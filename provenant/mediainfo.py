"""What :func:`provenant.media.probe` reports about a file, and the limits it checks.

Part of :mod:`provenant.media`, which re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from provenant.colour import ColourTags

__all__ = ["MediaLimits", "MediaInfo", "plausible_fps"]


@dataclass(frozen=True)
class MediaLimits:
    """Refuse media beyond these bounds. ``from_settings()`` reads ``PROVENANT_MAX_*``.

    ``max_pixels`` bounds a video's frames (8K by default), ``max_image_pixels`` a still
    image: phones take 48 and 50 megapixel photos, which no video frame reaches."""

    max_file_bytes: int = 2 * 1024**3
    max_pixels: int = 7680 * 4320
    max_frames: int = 200_000
    max_duration_s: float = 7200.0
    max_image_pixels: int = 100_000_000

    @classmethod
    def from_settings(cls) -> MediaLimits:
        from provenant.config import get_settings

        s = get_settings()
        return cls(s.max_file_bytes, s.max_pixels, s.max_frames, s.max_duration_s,
                   s.max_image_pixels)


FieldOrder = Literal["progressive", "tff", "bff"]


def frame_field_order(frame, codec_context) -> FieldOrder:  # av VideoFrame, CodecContext
    """``frame``'s scan: FFmpeg's field orders TT and BT show the top field first, BB and
    TB the bottom one. Where FFmpeg leaves it unknown, standard-definition DV (a camcorder's
    AVI) is bottom field first, as its standard says, and anything else top first, as HD
    broadcasts are."""
    if frame is None or not getattr(frame, "interlaced_frame", False):
        return "progressive"
    order = getattr(codec_context, "field_order", 0)
    if order == 0 and getattr(codec_context, "name", "") == "dvvideo":
        return "bff" if getattr(codec_context, "height", 0) <= 576 else "tff"
    return "bff" if order in (3, 4) else "tff"


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    mime: str
    kind: Literal["video", "image"]
    width: int
    height: int
    fps: float
    frame_count: int
    duration: float
    has_audio: bool
    codec: str
    #: The display rotation the file asks for, in degrees anticlockwise (0, 90, 180 or
    #: 270); ``width`` and ``height`` are the upright size, which every reader's frames
    #: have (``provenant.orientation``).
    rotation: int = 0
    #: A video's colour tags, read from its first frame; writers carry them into a
    #: re-encode (``provenant.colour``). Images: unspecified (their ICC profile is kept
    #: instead, ``provenant.imagemeta``).
    colour: ColourTags = field(default_factory=ColourTags)
    #: How a video's frames were scanned, from its first frame: ``progressive``, or
    #: interlaced with the top (``tff``) or bottom (``bff``) field shown first, as a
    #: broadcast capture's (1080i, 576i) are; a re-encode keeps it.
    field_order: FieldOrder = "progressive"
    #: The shape of a video's pixels (width / height), where they are not square: an
    #: anamorphic picture's, as 16:9 PAL (64/45) or HDV (4/3) store it; a re-encode keeps
    #: it, so players stretch the picture back as they did. None: square.
    pixel_aspect: Fraction | None = None

    @property
    def animation(self) -> bool:
        """An animated image (GIF, APNG, WebP): a video of RGB (or palette) pictures."""
        return self.kind == "video" and self.mime.startswith("image/")


def pixel_aspect(stream, turns: int) -> Fraction | None:  # av VideoStream
    """A video stream's sample aspect ratio, for its frames turned ``turns`` quarter turns
    upright; None for square pixels, or a ratio no camera or broadcast format uses (outside
    1/4 to 4: a damaged header)."""
    ratio = getattr(stream, "sample_aspect_ratio", None)
    if not ratio or ratio == 1 or not Fraction(1, 4) <= ratio <= 4:
        return None
    return 1 / Fraction(ratio) if turns % 2 else Fraction(ratio)


#: Frame rates a header may declare; outside them it is damaged (a slideshow at one frame a
#: minute and a 960 fps high-speed clip are inside).
_MIN_FPS, _MAX_FPS = 1 / 60, 1000.0


def plausible_fps(declared: float, frames: int, duration: float) -> float:
    """The frame rate a header declares, or where it is implausible (a damaged header), the
    frames over the duration, or 25 when that is implausible too."""
    if _MIN_FPS <= declared <= _MAX_FPS:
        return declared
    counted = frames / duration if duration > 0 else 0.0
    return counted if _MIN_FPS <= counted <= _MAX_FPS else 25.0
