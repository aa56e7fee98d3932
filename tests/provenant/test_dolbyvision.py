"""A Dolby Vision video through a re-encode: made as its compatible base layer (an iPhone's
profile 8.4 plays as HLG) with the loss named, or refused where the base layer has no
colours of its own (profile 5), since the copy would come out in wrong colours."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest

from provenant.colour import ColourTags
from provenant.dolbyvision import DolbyVision, read_dolby_vision
from provenant.errors import ProvenanceWarning, UnsupportedMediaError
from provenant.media import write_video
from provenant.moovedit import Box, read_moov, rewrite_moov, sample_entry, video_track
from provenant.samples import render_clip
from watermark import detect_file, embed_file

PAYLOAD = "0123456789abcdef"


def _record(profile: int, level: int, compatibility: int) -> bytes:
    """A DOVIDecoderConfigurationRecord (24 bytes): version 1.0, RPU and base layer present."""
    flags = (profile << 9) | (level << 3) | 0b101
    return bytes([1, 0]) + struct.pack(">H", flags) + bytes([compatibility << 4]) + bytes(19)


def _dolby_clip(path: Path, profile: int, compatibility: int) -> Path:
    """10-bit HEVC (HLG tags) whose sample entry says it is Dolby Vision."""
    planes = [np.concatenate([np.clip(f[..., 1].astype(np.uint16) * 4, 64, 940),
                              np.full((48, 128), 512, np.uint16)])
              for f in render_clip(12, 96, 128)]
    write_video(planes, path, 24, codec="libx265", pixel_format="yuv420p10le",
                colour=ColourTags(9, 1, 9, 18, 10))
    found = read_moov(path)
    kind = b"dvcC" if profile <= 7 else b"dvvC"
    sample_entry(video_track(found[0])).children.append(
        Box(kind, _record(profile, 6, compatibility)))
    rewrite_moov(path, *found)
    return path


@pytest.mark.parametrize("profile, compatibility, name", [(8, 4, "profile 8.4"),
                                                         (8, 1, "profile 8.1"),
                                                         (5, 0, "profile 5")])
def test_the_configuration_is_read_from_the_sample_entry(workdir: Path, profile: int,
                                                         compatibility: int, name: str) -> None:
    src = _dolby_clip(workdir / "dv.mp4", profile, compatibility)
    dv = read_dolby_vision(src)
    assert dv == DolbyVision(profile, 6, compatibility) and dv.name.endswith(name)
    with av.open(str(src)) as c:  # FFmpeg still reads the pictures
        assert len(list(c.decode(video=0))) == 12


def test_an_iphone_clip_is_copied_as_its_hlg_base_layer(workdir: Path) -> None:
    src = _dolby_clip(workdir / "iphone.mov", 8, 4)
    with pytest.warns(ProvenanceWarning, match=r"Dolby Vision layer \(Dolby Vision profile "
                      r"8\.4\) is not carried: the copy plays as its HLG base layer"):
        out = embed_file(src, workdir / "marked.mov", PAYLOAD)
    assert read_dolby_vision(out) is None  # the copy does not claim a layer it lacks
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.color_trc == 18  # HLG, as the base layer
    assert detect_file(out).payload == PAYLOAD


def test_profile_5_is_refused_before_anything_is_written(workdir: Path) -> None:
    src = _dolby_clip(workdir / "stream.mp4", 5, 0)
    with pytest.raises(UnsupportedMediaError, match="wrong colours") as caught:
        embed_file(src, workdir / "marked.mp4", PAYLOAD)
    assert "Dolby Vision-aware tool" in caught.value.hint
    assert list(workdir.iterdir()) == [src]


def test_other_videos_have_none(workdir: Path, clip: Path) -> None:
    assert read_dolby_vision(clip) is None
    (workdir / "text.mp4").write_bytes(b"not a video")
    assert read_dolby_vision(workdir / "text.mp4") is None
