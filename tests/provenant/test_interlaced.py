"""Interlaced video (a broadcast capture: 1080i, 576i) keeps its scan through a re-encode:
its frames are coded as interlaced H.264 with the source's field order, so players and
playout deinterlace them as they did the source's (written as progressive, a moving picture
showed the comb of its two fields)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from provenant import media
from provenant.samples import render_clip
from tests.conftest import encode_clip


def make_interlaced(path: Path, order: str, frames: int = 8, h: int = 96, w: int = 128) -> Path:
    """H.264 coded as interlaced (MBAFF), each frame woven from two moments of a moving
    scene: its even rows from one, its odd rows from the next."""
    moments = list(render_clip(2 * frames, h, w, seed=4))
    woven = []
    for k in range(frames):
        frame = moments[2 * k].copy()
        frame[1::2] = moments[2 * k + 1][1::2]
        woven.append(frame)
    return encode_clip(path, woven, rate=25, options={"x264-params": f"{order}=1"},
                       flags=av.codec.context.Flags.interlaced_dct
                       | av.codec.context.Flags.interlaced_me)


@pytest.mark.parametrize("order", ["tff", "bff"])
def test_a_re_encode_keeps_the_field_order(workdir: Path, order: str) -> None:
    src = make_interlaced(workdir / f"{order}.mp4", order)
    info = media.probe(src)
    assert info.field_order == order
    out = media.write_video(media.iter_timed_frames(src, "yuv420p"), workdir / "out.mp4",
                            info.fps, pixel_format="yuv420p", field_order=info.field_order)
    assert media.probe(out).field_order == order
    with av.open(str(out)) as container:
        assert all(frame.interlaced_frame for frame in container.decode(video=0))
    assert np.abs(media.read_frames(out).astype(int) - media.read_frames(src)).mean() < 3


def test_progressive_video_stays_progressive(clip: Path, workdir: Path) -> None:
    assert media.probe(clip).field_order == "progressive"
    out = media.write_video(media.iter_frames(clip), workdir / "out.mp4", 24)
    assert media.probe(out).field_order == "progressive"


def test_standard_definition_dv_is_bottom_field_first(workdir: Path) -> None:
    """A camcorder's DV in AVI: FFmpeg reports its frames as interlaced but leaves the order
    unknown; DV's standard says bottom field first."""
    path = encode_clip(workdir / "camcorder.avi", render_clip(3, 576, 720), "dvvideo", rate=25)
    info = media.probe(path)
    assert (info.mime, info.codec, info.field_order) == ("video/x-msvideo", "dvvideo", "bff")
