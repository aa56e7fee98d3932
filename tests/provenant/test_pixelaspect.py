"""An anamorphic video (16:9 PAL stored as 720x576, HDV as 1440x1080) keeps its pixel shape
through a re-encode, so it is shown stretched as its source was; before, the copy played
squeezed (a 16:9 picture shown 5:4)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from provenant.media import probe
from provenant.mediainfo import pixel_aspect
from provenant.samples import render_clip
from tests.conftest import encode_clip
from watermark import detect_file, embed_file

PAYLOAD = "0123456789abcdef"


def _anamorphic(path: Path, ratio: Fraction, codec: str = "libx264", h: int = 144,
                w: int = 176, pix_fmt: str = "yuv420p") -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.sample_aspect_ratio = ratio
        for frame in render_clip(12, h, w):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return path


def _shown(path: Path) -> tuple[Fraction | None, Fraction | None]:
    """The sample and display aspect ratios FFmpeg reads from the file."""
    with av.open(str(path)) as c:
        video = c.streams.video[0]
        return video.sample_aspect_ratio, video.display_aspect_ratio


@pytest.mark.parametrize("name, ratio, codec, pix_fmt", [
    ("pal_wide.mp4", Fraction(64, 45), "libx264", "yuv420p"),     # 16:9 PAL, H.264
    ("hdv.mpg", Fraction(4, 3), "mpeg2video", "yuv420p"),          # MPEG-2
    ("ntsc.mkv", Fraction(40, 33), "libx264", "yuv420p"),          # 4:3 NTSC, Matroska
    ("deep.mp4", Fraction(64, 45), "libx265", "yuv420p10le"),      # 10-bit: written as HEVC
])
def test_a_watermarked_copy_keeps_the_pixel_shape(workdir: Path, name: str, ratio: Fraction,
                                                   codec: str, pix_fmt: str) -> None:
    src = _anamorphic(workdir / name, ratio, codec, pix_fmt=pix_fmt)
    # MPEG-2 stores a display aspect code (16:9 here), so its pixels come out 16/11
    assert probe(src).pixel_aspect == _shown(src)[0] == (
        Fraction(16, 11) if codec == "mpeg2video" else ratio)
    out = embed_file(src, workdir / "marked.mp4", PAYLOAD)
    assert _shown(out) == _shown(src)
    assert detect_file(out).payload == PAYLOAD


def test_square_pixels_are_written_as_before(workdir: Path) -> None:
    src = encode_clip(workdir / "square.mp4", render_clip(6, 96, 128))
    assert probe(src).pixel_aspect is None
    out = embed_file(src, workdir / "marked.mp4", PAYLOAD)
    assert _shown(out)[0] in (None, Fraction(1, 1))


def test_an_odd_sized_anamorphic_video_keeps_it_too(workdir: Path) -> None:
    """Odd sides go the RGB path, which writes the pixel shape as well."""
    src = _anamorphic(workdir / "odd.mkv", Fraction(16, 11), h=97, w=129, pix_fmt="yuv444p")
    out = embed_file(src, workdir / "marked.mp4", PAYLOAD)
    assert _shown(out)[0] == Fraction(16, 11)


class _Stream:
    def __init__(self, ratio: Fraction | None) -> None:
        self.sample_aspect_ratio = ratio


@pytest.mark.parametrize("ratio, turns, expected", [
    (Fraction(64, 45), 0, Fraction(64, 45)),
    (Fraction(64, 45), 1, Fraction(45, 64)),   # turned a quarter: the pixels' shape turns too
    (Fraction(4, 3), 2, Fraction(4, 3)),
    (Fraction(1, 1), 0, None), (None, 0, None), (Fraction(0, 1), 0, None),
    (Fraction(1, 1000), 0, None), (Fraction(255, 1), 0, None),  # damaged headers
])
def test_pixel_aspect_as_read(ratio: Fraction | None, turns: int,
                              expected: Fraction | None) -> None:
    assert pixel_aspect(_Stream(ratio), turns) == expected


def test_frames_are_not_resampled(workdir: Path) -> None:
    """The pixels are written as they are coded; only their shape is declared."""
    src = _anamorphic(workdir / "pal_wide.mp4", Fraction(64, 45))
    out = embed_file(src, workdir / "marked.mp4", PAYLOAD)
    with av.open(str(out)) as c:
        frame = next(c.decode(video=0))
    assert (frame.width, frame.height) == (176, 144)
    assert np.asarray(frame.to_ndarray()).shape[:2] == (216, 176)
