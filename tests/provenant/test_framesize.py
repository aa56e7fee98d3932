"""A stream whose frame size changes mid-way (an adaptive-bitrate capture): readers give each
frame at its coded size, and :mod:`provenant.framesize` brings frames to one size where one
is needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from provenant import media
from provenant.framesize import one_size, scaled_to
from provenant.samples import render_clip
from tests.conftest import make_renditions


def _planar(height: int, width: int, levels: tuple[int, int, int]) -> np.ndarray:
    """A flat planar YUV 4:2:0 frame, laid out as PyAV gives it (a plane after another)."""
    area = height * width
    flat = np.concatenate([np.full(area, levels[0]), np.full(area // 4, levels[1]),
                           np.full(area // 4, levels[2])]).astype(np.uint8)
    return flat.reshape(height * 3 // 2, width)


def test_a_planar_frame_is_scaled_plane_by_plane() -> None:
    """90 rows: its chroma planes do not start on a row of the array, which the scaling must
    not assume."""
    frame = _planar(90, 64, (100, 60, 200))
    scaled = scaled_to(frame, 180, 128, planar=True)
    assert scaled.shape == (270, 128)
    assert np.array_equal(scaled, _planar(180, 128, (100, 60, 200)))
    assert scaled_to(frame, 90, 64, planar=True) is frame  # already that size


def test_grey_and_rgb_frames_are_scaled() -> None:
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, 32:] = 255
    half = scaled_to(rgb, 24, 32)
    assert half.shape == (24, 32, 3) and half[:, :16].max() == 0 and half[:, 16:].min() == 255
    assert scaled_to(rgb[..., 0], 96, 128).shape == (96, 128)


def test_one_size_brings_frames_and_timed_frames_to_the_first_size() -> None:
    frames = [np.zeros((48, 64, 3), np.uint8), np.zeros((24, 32, 3), np.uint8),
              np.zeros((96, 128, 3), np.uint8)]
    assert {f.shape for f in one_size(frames)} == {(48, 64, 3)}
    timed = list(one_size((f, 0.5 * i) for i, f in enumerate(frames)))
    assert [t for _, t in timed] == [0.0, 0.5, 1.0]
    assert {f.shape for f, _ in timed} == {(48, 64, 3)}


def test_readers_give_each_frame_at_its_coded_size(workdir: Path) -> None:
    frames = list(render_clip(12, 96, 128))
    path = make_renditions(workdir / "capture.ts", frames, segment=4)
    info = media.probe(path)
    assert (info.width, info.height) == (128, 96)  # the first frame's
    sizes = [f.shape[:2] for f in media.iter_frames(path)]
    assert sizes == [(96, 128)] * 4 + [(48, 64)] * 4 + [(96, 128)] * 4
