"""What a re-encode does to a Dolby Vision video (an iPhone's HDR clips, as a rule).

Dolby Vision rides on an HEVC base layer, with a configuration box (``dvcC``, ``dvvC`` or
``dvwC``) in the video's sample entry and per-frame metadata (RPUs) in the stream. A
re-encode keeps the base layer and its colour tags, not the Dolby Vision layer, which
FFmpeg's encoders cannot write. That is what a device without Dolby Vision shows anyway
when the base layer is compatible (an iPhone's profile 8.4 is HLG), so the copy is made and
the loss is named in a notice. Profile 5's base layer is not compatible (its samples are
IPT-PQ-c2, which no player shows right without the Dolby Vision layer): a copy would come
out in wrong colours, so it is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from provenant.errors import UnsupportedMediaError, notice
from provenant.moovedit import read_moov, video_entry

__all__ = ["DolbyVision", "read_dolby_vision", "check_dolby_vision"]

_CONFIG_BOXES = (b"dvcC", b"dvvC", b"dvwC")
#: dv_bl_signal_compatibility_id: what the base layer is to a player without Dolby Vision.
_BASE_LAYERS = {1: "HDR10", 2: "SDR", 4: "HLG", 6: "HDR10"}


@dataclass(frozen=True)
class DolbyVision:
    """A video's Dolby Vision configuration (``DOVIDecoderConfigurationRecord``)."""

    profile: int
    level: int
    compatibility: int  # the base layer's signal: 0 none, 1 HDR10, 2 SDR, 4 HLG, 6 HDR10

    @property
    def name(self) -> str:
        return f"Dolby Vision profile {self.profile}.{self.compatibility:d}" if (
            self.compatibility) else f"Dolby Vision profile {self.profile}"

    @property
    def base_layer(self) -> str | None:
        """What a player without Dolby Vision shows, in words; None: nothing right."""
        return _BASE_LAYERS.get(self.compatibility)


def read_dolby_vision(path: str | os.PathLike[str]) -> DolbyVision | None:
    """The Dolby Vision configuration of an MP4/MOV file's video track, or None."""
    video = video_entry(read_moov(path))
    box = next((b for b in video[1].children or () if b.kind in _CONFIG_BOXES
                and len(b.body) >= 5), None) if video else None
    if box is None:
        return None
    record = box.body
    return DolbyVision(profile=record[2] >> 1, level=((record[2] & 1) << 5) | (record[3] >> 3),
                       compatibility=record[4] >> 4)


def check_dolby_vision(source: str | os.PathLike[str]) -> None:
    """Before a re-encode of ``source``: refuse a Dolby Vision video whose base layer no
    other player shows right, and name what a compatible one's copy goes without."""
    dv = read_dolby_vision(source)
    if dv is None:
        return
    if dv.base_layer is None:
        raise UnsupportedMediaError(
            f"{source} is {dv.name}, whose pictures only a Dolby Vision player shows in "
            "their colours: a re-encode keeps the pictures without the Dolby Vision layer, "
            "and the copy would come out in wrong colours",
            hint="convert it to HDR10 or SDR with a Dolby Vision-aware tool first, and "
                 "use that file")
    notice(f"{source}: its Dolby Vision layer ({dv.name}) is not carried: the copy plays "
           f"as its {dv.base_layer} base layer, as a device without Dolby Vision shows it")
