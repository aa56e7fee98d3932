"""An adaptive-bitrate capture (an HLS stream saved to one file) switches renditions
mid-way. Detection, a re-encode and an audit used to stop at the first switch ("frame size
differs from the first frame's"); they now scale the other renditions to the first frame's
size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from provenant import media
from provenant.samples import render_clip
from tests.conftest import make_renditions
from watermark import detect_file, embed_file
from watermark.audit import read_clip

PAYLOAD = "0123456789abcdef"


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return list(render_clip(36, 192, 256, seed=3))


def test_a_mark_made_before_the_renditions_is_found_across_them(
        frames: list[np.ndarray], workdir: Path) -> None:
    clip = media.write_video(frames, workdir / "clip.mp4", fps=24)
    marked = embed_file(clip, workdir / "marked.mp4", PAYLOAD, key="k")
    capture = make_renditions(workdir / "capture.ts", list(media.iter_frames(marked)), 12)
    assert {f.shape for f in media.iter_frames(capture)} == {(192, 256, 3), (96, 128, 3)}
    result = detect_file(capture, key="k")
    assert result.detected and result.payload == PAYLOAD


def test_a_capture_is_marked_at_one_size(frames: list[np.ndarray], workdir: Path) -> None:
    capture = make_renditions(workdir / "capture.ts", frames, 12)
    out = embed_file(capture, workdir / "marked.mp4", PAYLOAD, key="k")
    assert {f.shape for f in media.iter_frames(out)} == {(192, 256, 3)}
    assert detect_file(out, key="k").payload == PAYLOAD
    clip = read_clip(capture)
    assert len(clip.frames) == 36 and {f.shape for f in clip.frames} == {(192, 256, 3)}
