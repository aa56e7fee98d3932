"""Frame timing survives a re-encode: a variable-frame-rate video stays in sync with its sound."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from provenant.media import iter_timed_frames, write_video
from provenant.samples import render_clip
from watermark import detect, embed_file

#: 1 s at 30 fps, 2 s at 15 fps (a phone in low light), 1 s at 30 fps: 90 frames in 4 s.
VFR_TIMES = [i / 30 for i in range(30)] + [1 + i / 15 for i in range(30)] + \
            [3 + i / 30 for i in range(30)]


def _frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.pts * f.time_base) for f in c.decode(c.streams.video[0])]


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A variable-frame-rate clip with a sound track, as phones record."""
    path = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    frames = list(render_clip(len(VFR_TIMES), 96, 128, seed=2))
    tb = Fraction(1, 90_000)
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 128, 96, "yuv420p"
        v.codec_context.time_base = tb
        a = out.add_stream("aac", rate=48000)
        a.layout = "mono"
        for frame, t in zip(frames, VFR_TIMES):
            f = av.VideoFrame.from_ndarray(frame, format="rgb24")
            f.pts, f.time_base = round(t / tb), tb
            for p in v.encode(f):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        for k in range(4 * 48000 // 1024):
            af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                            layout="mono")
            af.sample_rate, af.pts = 48000, k * 1024
            for p in a.encode(af):
                out.mux(p)
        for p in a.encode():
            out.mux(p)
    return path


def test_timed_frames_carry_the_source_times(vfr_clip: Path) -> None:
    times = [t for _, t in iter_timed_frames(vfr_clip)]
    assert np.allclose(times, VFR_TIMES, atol=1e-3)
    planes = list(iter_timed_frames(vfr_clip, "yuv420p"))
    assert planes[0][0].shape == (144, 128) and np.allclose([t for _, t in planes], times)


def test_watermark_embed_keeps_a_variable_frame_rate(vfr_clip: Path, tmp_path: Path) -> None:
    out = embed_file(vfr_clip, tmp_path / "marked.mp4", "0123456789abcdef", progress=False)
    # written at the average rate (22.5 fps), frame 30 would play at 1.33 s instead of 1.0 s
    # and frame 60 at 2.67 s instead of 3.0 s: a third of a second out of sync with the sound
    assert np.allclose(_frame_times(out), VFR_TIMES, atol=1e-3)
    with av.open(str(out)) as c:
        assert c.streams.audio  # the sound track came along
    r = detect(out)
    assert r.detected and r.payload == "0123456789abcdef"


def test_frames_without_times_are_evenly_spaced_and_times_never_go_back(tmp_path: Path) -> None:
    frames = list(render_clip(6, 64, 64))
    out = write_video(frames, tmp_path / "cfr.mp4", fps=24)
    assert np.allclose(_frame_times(out), [i / 24 for i in range(6)], atol=1e-3)
    # a repeated or earlier time is moved just after the previous frame; None continues at fps
    timed = list(zip(frames, [0.0, 0.5, 0.5, 0.25, None, 2.0]))
    times = _frame_times(write_video(timed, tmp_path / "vfr.mp4", fps=24))
    assert times[:2] == [0.0, 0.5] and times[-1] == 2.0
    assert all(b > a for a, b in zip(times, times[1:]))
    assert abs(times[4] - (times[3] + 1 / 24)) < 1e-3


@pytest.mark.parametrize("rate", [Fraction(24000, 1001), Fraction(60000, 1001), Fraction(25)])
def test_a_constant_rate_keeps_frames_of_equal_length(tmp_path: Path, rate: Fraction) -> None:
    """NTSC film (23.976 fps) and 59.94 fps do not divide MPEG's 1/90000 s clock: stamped in
    it, frames lasted 3754, 3754 and 3753 ticks in turn, a variable rate in the MP4."""
    frames = list(render_clip(12, 64, 64))
    for name, timed in (("cfr.mp4", frames),
                        ("timed.mp4", [(f, float(i / rate)) for i, f in enumerate(frames)])):
        with av.open(str(write_video(timed, tmp_path / name, fps=float(rate)))) as c:
            stream = c.streams.video[0]
            pts = [f.pts for f in c.decode(stream)]
            assert len(set(np.diff(pts).tolist())) == 1  # every frame lasts the same
            assert stream.average_rate == rate


def test_a_damaged_time_far_ahead_does_not_stop_the_copy(tmp_path: Path) -> None:
    """A damaged FLV put one frame 49 days in; the MP4 muxer, which stores each frame's
    length in 32 bits, refused the copy. That frame now follows the one before it."""
    frames = list(render_clip(5, 64, 64))
    times = [0.0, 1 / 24, 4291035.261, 3 / 24, 4 / 24]
    out = write_video(list(zip(frames, times)), tmp_path / "damaged.mp4", fps=24)
    assert np.allclose(_frame_times(out), [i / 24 for i in range(5)], atol=1e-3)
