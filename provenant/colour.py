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
(an HDR phone clip, as a rule) can keep its bit depth too; RGB frames are 8-bit. The static
HDR metadata of an HDR10 source (its mastering display and light levels) is carried into
HEVC outputs (:func:`x265_hdr_params`), which is what a 10-bit source is written as.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["ColourTags", "frame_colour", "tag", "output_tags", "rgb_to_yuv420",
           "x265_hdr_params"]

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
    #: HDR10 static metadata, in x265's syntax: the mastering display
    #: (``G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)``, chromaticity in 1/50000, luminance in
    #: 1/10000 cd/m²) and the content light levels (``"MaxCLL,MaxFALL"``, cd/m²).
    mastering_display: str | None = None
    light_level: str | None = None
    #: Scene-by-scene HDR metadata the first frame carries (``"HDR10+"``, ``"HDR Vivid"``),
    #: which FFmpeg's encoders cannot write: a re-encode names its loss.
    dynamic_metadata: str | None = None

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
        hdr10 = ["HDR10 metadata"] if self.mastering_display or self.light_level else []
        dynamic = [f"{self.dynamic_metadata} metadata"] if self.dynamic_metadata else []
        return ", ".join(parts + [f"{self.bit_depth}-bit"] + hdr10 + dynamic)


def frame_colour(frame: object) -> ColourTags:
    """The colour tags of a decoded PyAV ``VideoFrame`` (a ``yuvj*`` format is full range)
    and the HDR10 and dynamic HDR metadata its side data carries."""
    fmt = getattr(frame, "format", None)
    name = getattr(fmt, "name", "")
    components = getattr(fmt, "components", ())
    depth = int(components[0].bits) if components else 8
    colour_range = int(getattr(frame, "color_range", 0) or 0)
    if name.startswith("yuvj") and colour_range == 0:
        colour_range = FULL
    kinds = {getattr(getattr(s, "type", None), "name", "")
             for s in getattr(frame, "side_data", ())}
    dynamic = next((words for kind, words in _DYNAMIC_HDR.items() if kind in kinds), None)
    return ColourTags(int(getattr(frame, "colorspace", UNSPECIFIED)), colour_range,
                      int(getattr(frame, "color_primaries", UNSPECIFIED)),
                      int(getattr(frame, "color_trc", UNSPECIFIED)), depth,
                      *_hdr10_metadata(frame), dynamic)


#: Frame side data of dynamic HDR metadata, by the name it goes by.
_DYNAMIC_HDR = {"DYNAMIC_HDR_PLUS": "HDR10+", "DYNAMIC_HDR_VIVID": "HDR Vivid"}


def _hdr10_metadata(frame: object) -> tuple[str | None, str | None]:
    """``(mastering display, light level)`` from a frame's side data, in x265's syntax."""
    display = level = None
    for side in getattr(frame, "side_data", ()):
        kind, data = getattr(getattr(side, "type", None), "name", ""), bytes(side)
        if kind == "MASTERING_DISPLAY_METADATA" and len(data) >= 88:
            # AVMasteringDisplayMetadata: R, G, B and white point (x, y), then min and max
            # luminance, as int32 rationals; then has_primaries, has_luminance
            v = struct.unpack("<22i", data[:88])
            ratio = [v[i] / v[i + 1] if v[i + 1] else 0.0 for i in range(0, 20, 2)]
            if v[20] and v[21]:
                (rx, ry, gx, gy, bx, by, wx, wy), (lo, hi) = ratio[:8], ratio[8:]
                xy = [round(c * 50000) for c in (gx, gy, bx, by, rx, ry, wx, wy)]
                display = ("G({},{})B({},{})R({},{})WP({},{})".format(*xy)
                           + f"L({round(hi * 10000)},{round(lo * 10000)})")
        elif kind == "CONTENT_LIGHT_LEVEL" and len(data) >= 8:
            max_cll, max_fall = struct.unpack("<2I", data[:8])
            level = f"{max_cll},{max_fall}"
    return display, level


def x265_hdr_params(colour: ColourTags | None) -> list[str]:
    """The ``x265-params`` that write ``colour``'s HDR10 metadata (none without any). HEVC
    only: H.264 outputs (8-bit, as a rule not HDR10) do not carry it."""
    if colour is None or not (colour.mastering_display or colour.light_level):
        return []
    params = ["hdr10=1"]
    if colour.mastering_display:
        params.append(f"master-display={colour.mastering_display}")
    if colour.light_level:
        params.append(f"max-cll={colour.light_level}")
    return params


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
                          10 if pixel_format == "yuv420p10le" else 8,
                          colour.mastering_display, colour.light_level)
    matrix = colour.matrix if colour.matrix in _SWS_MATRICES else 1
    primaries = colour.primaries if colour.primaries != UNSPECIFIED else 1
    transfer = colour.transfer if colour.transfer != UNSPECIFIED else 1
    return ColourTags(matrix, LIMITED, primaries, transfer, 8, colour.mastering_display,
                      colour.light_level)


def rgb_to_yuv420(frame: object, colour: ColourTags) -> object:
    """An ``rgb24`` PyAV ``VideoFrame`` as yuv420p with ``colour``'s matrix, limited range,
    tagged (``colour`` as :func:`output_tags` gives it for RGB)."""
    out = frame.reformat(format="yuv420p", dst_colorspace=_SWS_MATRICES.get(colour.matrix, 1),
                         dst_color_range=LIMITED)
    tag(out, colour)
    return out
