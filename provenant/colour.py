"""Colour description of a video stream: matrix, range, primaries, transfer and bit depth.

A player turns Y'CbCr into RGB with the matrix and range the stream declares (its VUI
tags), and a display reads that RGB with the declared primaries and transfer (SDR BT.709,
or HDR PQ / HLG over BT.2020). A re-encode that drops the tags leaves players to guess: a
full-range phone clip then plays with crushed blacks and clipped whites, an HDR clip looks
washed out, and an HD clip converted with the BT.601 matrix shifts in hue.

So writers keep them: planar YUV frames pass through with their values untouched and the
source's tags (:func:`tag`), and frames written from RGB are converted with the source's
matrix (BT.709 when it has none) at limited range and tagged as such
(:func:`rgb_to_yuv420`). Planar frames may be 10-bit (``yuv420p10le``), so a 10-bit source
(an HDR phone clip, as a rule) can keep its bit depth too; RGB frames are 8-bit. HDR
mastering metadata (light levels) is not carried.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ColourTags", "frame_colour", "tag", "output_tags", "rgb_to_yuv420"]

UNSPECIFIED = 2  # AVCOL_SPC / AVCOL_PRI / AVCOL_TRC _UNSPECIFIED
LIMITED, FULL = 1, 2  # AVCOL_RANGE_MPEG, AVCOL_RANGE_JPEG (0: unspecified)

_MATRICES = {0: "RGB", 1: "BT.709", 4: "FCC", 5: "BT.601", 6: "BT.601", 7: "SMPTE 240M",
             8: "YCgCo", 9: "BT.2020", 10: "BT.2020 constant-luminance", 14: "ICtCp"}
_PRIMARIES = {1: "BT.709", 4: "BT.470M", 5: "BT.601 (625-line)", 6: "BT.601 (525-line)",
              7: "SMPTE 240M", 9: "BT.2020", 11: "DCI-P3", 12: "Display P3"}
_TRANSFERS = {1: "BT.709", 4: "gamma 2.2", 5: "gamma 2.8", 6: "BT.601", 7: "SMPTE 240M",
              8: "linear", 13: "sRGB", 14: "BT.2020", 15: "BT.2020", 16: "PQ (HDR)",
              18: "HLG (HDR)"}
#: Matrices swscale converts with (its SWS_CS_* numbers match these AVColorSpace ones,
#: BT.601's 525-line variant being the same matrix as 625-line).
_SWS_MATRICES = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9}


@dataclass(frozen=True)
class ColourTags:
    """A stream's colour tags as FFmpeg numbers them (``AVColorSpace`` for ``matrix``,
    ``AVColorRange``, ``AVColorPrimaries``, ``AVColorTransferCharacteristic``); 2 (0 for
    ``range``) means unspecified."""

    matrix: int = UNSPECIFIED
    range: int = 0
    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED
    bit_depth: int = 8

    @property
    def full_range(self) -> bool:
        return self.range == FULL

    @property
    def hdr(self) -> bool:
        """PQ or HLG transfer: high dynamic range."""
        return self.transfer in (16, 18)

    def describe(self) -> str:
        """In words, e.g. ``"BT.709, limited range, 8-bit"``; unknown tags are left out."""
        parts = []
        if self.matrix in _MATRICES:
            parts.append(_MATRICES[self.matrix])
        if self.primaries in _PRIMARIES and _PRIMARIES[self.primaries] not in parts:
            parts.append(f"{_PRIMARIES[self.primaries]} primaries")
        if self.transfer in _TRANSFERS and _TRANSFERS[self.transfer] not in parts:
            parts.append(f"{_TRANSFERS[self.transfer]} transfer")
        if not parts:
            parts.append("colour unspecified")
        if self.range in (LIMITED, FULL):
            parts.append("full range" if self.full_range else "limited range")
        return ", ".join(parts + [f"{self.bit_depth}-bit"])


def frame_colour(frame: object) -> ColourTags:
    """The colour tags of a decoded PyAV ``VideoFrame`` (a ``yuvj*`` format is full range)."""
    fmt = getattr(frame, "format", None)
    name = getattr(fmt, "name", "")
    components = getattr(fmt, "components", ())
    depth = int(components[0].bits) if components else 8
    colour_range = int(getattr(frame, "color_range", 0) or 0)
    if name.startswith("yuvj") and colour_range == 0:
        colour_range = FULL
    return ColourTags(int(getattr(frame, "colorspace", UNSPECIFIED)), colour_range,
                      int(getattr(frame, "color_primaries", UNSPECIFIED)),
                      int(getattr(frame, "color_trc", UNSPECIFIED)), depth)


def tag(target: object, colour: ColourTags) -> None:
    """Set ``colour``'s known tags on a PyAV ``VideoFrame`` or codec context (an encoder
    writes them into the stream's VUI when it opens)."""
    if colour.matrix != UNSPECIFIED:
        target.colorspace = colour.matrix
    if colour.range in (LIMITED, FULL):
        target.color_range = colour.range
    if colour.primaries != UNSPECIFIED:
        target.color_primaries = colour.primaries
    if colour.transfer != UNSPECIFIED:
        target.color_trc = colour.transfer


def output_tags(colour: ColourTags | None, pixel_format: str) -> ColourTags:
    """The tags a written stream gets: planar YUV keeps the source's as they are; RGB frames
    are converted at limited range with the source's matrix, BT.709 where it has none
    (and BT.709 primaries and transfer where those are unknown too)."""
    colour = colour or ColourTags()
    if pixel_format in ("yuv420p", "yuv420p10le"):
        return ColourTags(colour.matrix, colour.range, colour.primaries, colour.transfer,
                          10 if pixel_format == "yuv420p10le" else 8)
    matrix = colour.matrix if colour.matrix in _SWS_MATRICES else 1
    primaries = colour.primaries if colour.primaries != UNSPECIFIED else 1
    transfer = colour.transfer if colour.transfer != UNSPECIFIED else 1
    return ColourTags(matrix, LIMITED, primaries, transfer)


def rgb_to_yuv420(frame: object, colour: ColourTags) -> object:
    """An ``rgb24`` PyAV ``VideoFrame`` as yuv420p with ``colour``'s matrix, limited range,
    tagged (``colour`` as :func:`output_tags` gives it for RGB)."""
    out = frame.reformat(format="yuv420p", dst_colorspace=_SWS_MATRICES.get(colour.matrix, 1),
                         dst_color_range=LIMITED)
    tag(out, colour)
    return out
