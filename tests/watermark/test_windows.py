"""The window search: a marked video shown inside another one (picture in picture)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from tests.watermark.conftest import KEY, PAYLOAD
from watermark import WatermarkConfig, detect, embed
from watermark.looks import Looks, _wide_look
from watermark.attacks import Clip, make_attack
from watermark.testing import procedural_clip
from watermark.windows import WINDOW_FRAMES, windows


@pytest.fixture(scope="module")
def marked_720p() -> Clip:
    """8 frames of a generated 720p clip, marked: at a third of its size its 8-pixel chips
    are 2.7 pixels, which the working scale (shorter side 400) would bring under 1.5."""
    return Clip(list(embed(np.stack(procedural_clip(720, 1280, 8, seed=11)), PAYLOAD, KEY)),
                25.0)


def test_the_windows_are_the_quarters_and_the_centre() -> None:
    cut = dict(windows((101, 200)))
    assert list(cut) == ["top-left quarter", "top-right quarter", "bottom-left quarter",
                         "bottom-right quarter", "centre"]
    grid = np.arange(101 * 200).reshape(101, 200)
    assert all(grid[rows, cols].shape == (50, 100) for rows, cols in cut.values())
    assert grid[cut["bottom-right quarter"]][-1, -1] == grid[100, 199] - 200  # row 99
    assert grid[cut["centre"]][0, 0] == grid[25, 50]


@pytest.mark.parametrize("corner, place", [(0, "top-left quarter"), (3, "bottom-right quarter")])
def test_a_picture_in_picture_is_found_in_its_window(marked_720p: Clip, corner: int,
                                                     place: str) -> None:
    """At a third of its size in a corner of another (generated, unmarked) video: the whole
    frame misses it, the window that holds it finds the payload and says where it was.
    (The motion look is off here: it removes enough of the moving host that the whole
    frame sometimes finds the picture as a rescaled pattern, before any window is cut.)"""
    shown = make_attack("picture_in_picture")(marked_720p, {"corner": corner, "host_seed": 3})
    frames = np.stack(shown.frames)
    still_host = WatermarkConfig(motion_look_pixels=0)
    found = detect(frames, KEY, still_host)
    assert found.detected and found.payload == PAYLOAD and found.p_value <= 1e-6
    assert found.transform == f"shown in the {place} of the frame"
    assert not detect(frames, KEY, replace(still_host, window_search=False)).detected
    assert not detect(frames, "not-the-key").detected
    default = detect(frames, KEY)
    assert default.payload == PAYLOAD and default.p_value <= 1e-6
    assert default.transform in (None, f"shown in the {place} of the frame")


def test_a_whole_frame_brought_down_under_the_searchs_chips_names_no_window() -> None:
    """A 1080p clip shown at 230×130 (its 11-pixel chips at 1.3 pixels, under the 1.4 the
    whole frame's period search tries) is found through a window's refined period; the
    whole frame meets the pilot better at that period, so no window is named. It was
    reported as "shown in the bottom-left quarter of the frame"."""
    marked = np.stack(list(embed(np.stack(procedural_clip(1080, 1920, 8, seed=11)),
                                 PAYLOAD, KEY)))
    small = np.stack([cv2.resize(f, (230, 130), interpolation=cv2.INTER_AREA) for f in marked])
    found = detect(small, KEY)
    assert found.detected and found.payload == PAYLOAD
    assert found.period[0] < 44  # 32 chips of 1.4 pixels: what the whole frame tries
    assert found.transform is None
    assert not detect(small, KEY, WatermarkConfig(window_search=False)).detected


def test_an_unwindowed_detection_names_no_window(marked_720p: Clip) -> None:
    found = detect(np.stack(marked_720p.frames), KEY)
    assert found.detected and found.transform is None


def test_large_frames_keep_a_few_finer_residuals_for_the_windows(marked_720p: Clip) -> None:
    cfg = WatermarkConfig()
    assert _wide_look(cfg, 400, 711, 32) is None  # at the working scale already: no copy
    assert _wide_look(WatermarkConfig(window_search=False), 720, 1280, 32) is None
    looks = Looks(cfg, 40)
    for _ in range(5):
        for frame in marked_720p.frames:
            looks.add(frame, even=True, key=False)
    assert looks.wide is not None and len(looks.wide.pending) <= WINDOW_FRAMES
    assert looks.wide.pending[0].shape == (600, 1067)  # 1.5 times the working side
    assert looks.analyse(KEY.encode()).detected  # found without them: never computed
    assert looks.wide.frames == 0 and looks.wide.pending


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 300, 3), (40, 2000, 3), (63, 63, 3)])
def test_pictures_too_small_for_a_window_are_read(shape: tuple[int, int, int]) -> None:
    """A window too small to hold one tile is left out: slivers and icons get an answer,
    not an error (a 1-pixel-high window has no autocorrelation)."""
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert not detect(image, KEY).detected
