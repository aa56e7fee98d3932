from __future__ import annotations

import numpy as np
import pytest

from generator.consistency import object_consistency, object_masks
from generator.grammar import Scene, SceneObject
from generator.render import BACKGROUND_RGB, OBJECT_RGB, render_scene
from provenant.errors import InputError

SCENE = Scene((SceneObject("circle", "red", "right", "slow"),), "blue", "static")


def _clip(size_per_frame: list[int], extra_blob_frame: int | None = None) -> np.ndarray:
    """Square objects of the given side on a flat background, one per frame."""
    clip = np.empty((len(size_per_frame), 32, 32, 3), np.uint8)
    clip[:] = BACKGROUND_RGB["blue"]
    for t, side in enumerate(size_per_frame):
        clip[t, 10:10 + side, 10:10 + side] = OBJECT_RGB["red"]
    if extra_blob_frame is not None:
        clip[extra_blob_frame, 0:3, 0:3] = OBJECT_RGB["red"]
    return clip


def test_a_rendered_clip_is_one_steady_object():
    clip = render_scene(SCENE, frames=8, size=64, rng=np.random.default_rng(0))
    masks = object_masks(clip, SCENE)
    assert masks.shape == (8, 64, 64) and masks.any(axis=(1, 2)).all()
    m = object_consistency(clip[None], [SCENE])
    assert m["not_one_blob"] == 0.0
    assert m["area_jitter"] < 0.02 and m["area_drift"] < 0.02
    assert 250 < m["area_px"] < 450  # a circle of radius 0.17·64 ≈ 10.9 px covers ~372 px


def test_size_changes_and_broken_objects_are_measured():
    steady = object_consistency(_clip([6] * 4)[None], [SCENE])
    assert steady == {"area_px": 36.0, "area_jitter": 0.0, "area_drift": 0.0, "not_one_blob": 0.0}
    shrinking = object_consistency(_clip([8, 7, 6, 5])[None], [SCENE])
    assert shrinking["area_drift"] == pytest.approx(np.log1p(64) - np.log1p(25))
    assert shrinking["area_jitter"] == pytest.approx(shrinking["area_drift"] / 3)
    twin = object_consistency(_clip([6] * 4, extra_blob_frame=2)[None], [SCENE])
    assert twin["not_one_blob"] == 0.25
    gone = object_consistency(_clip([6, 0, 6, 6])[None], [SCENE])
    assert gone["not_one_blob"] == 0.25 and gone["area_jitter"] > 1.0


def test_clips_and_scenes_must_pair_up():
    with pytest.raises(InputError, match="one scene per clip"):
        object_consistency(_clip([6] * 4)[None], [])
