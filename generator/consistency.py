"""Object consistency of one-object clips: does the object keep its size and stay one piece?

The evaluation's Fréchet distance is measured in the judges' feature space, and the judges look
at each frame and at its temporal difference. Perturbing procedural clips (the evaluation's
120 prompts, seed 0, the same 3 judges, ratio to the real-vs-real baseline) shows what that
space is most sensitive to: the object's size changing by 5 % (standard deviation) from one
frame to the next gives 3.3×, a steady shrink to 90 % over 8 frames 1.9×, every object at
90 % of its size 2.5×, but a Gaussian blur of σ 0.7 px only 1.4× and smooth noise of σ 3
levels 1.4×. These measurements put numbers on those defects, beside the same numbers for
procedural clips of the same prompts, so a change to the model can be judged on them before
the judges are consulted.

The object is found by colour: the pixels closer to the prompt's object colour than half its
distance to the background colour (``render.OBJECT_RGB``, ``render.BACKGROUND_RGB``; the
background's faint checkerboard stays far from that line).
"""

from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from provenant.errors import InputError

from generator.grammar import Scene
from generator.render import BACKGROUND_RGB, OBJECT_RGB

__all__ = ["object_masks", "object_consistency"]

MIN_BLOB_PX = 3  # a blob smaller than this is a speck, not a second object


def object_masks(clip: np.ndarray, scene: Scene) -> np.ndarray:
    """Boolean masks ``(T, H, W)`` of the pixels of ``clip (T, H, W, 3)`` that show the first
    object of ``scene`` (by colour)."""
    obj = np.asarray(OBJECT_RGB[scene.objects[0].colour], np.float32)
    bg = np.asarray(BACKGROUND_RGB[scene.background or "black"], np.float32)
    distance = np.linalg.norm(clip.astype(np.float32) - obj, axis=-1)
    return distance < 0.5 * float(np.linalg.norm(obj - bg))


def _blobs(mask: np.ndarray) -> int:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return int((stats[1:, cv2.CC_STAT_AREA] >= MIN_BLOB_PX).sum()) if n > 1 else 0


def object_consistency(clips: np.ndarray, scenes: Sequence[Scene]) -> dict[str, Any]:
    """Size and integrity of the object over clips ``(N, T, H, W, 3)`` of one-object
    ``scenes``:

    * ``area_px``: the object's mean area in pixels;
    * ``area_jitter``: the mean |Δ log area| from one frame to the next (0.05 ≈ 5 %);
    * ``area_drift``: the mean |log(last area / first area)|;
    * ``not_one_blob``: the share of frames where the object is not exactly one blob of at
      least ``MIN_BLOB_PX`` pixels (missing, broken up, or with a spurious twin).
    """
    if len(clips) != len(scenes) or len(clips) == 0:
        raise InputError(f"need one scene per clip; got {len(clips)} clips and {len(scenes)} "
                         "scenes", hint="pass the scenes the clips were made from, in order")
    areas, blobs = [], []
    for clip, scene in zip(clips, scenes):
        masks = object_masks(clip, scene)
        areas.append(masks.reshape(len(masks), -1).sum(axis=1).astype(np.float64))
        blobs.append([_blobs(m) for m in masks])
    a = np.log1p(np.stack(areas))  # (N, T)
    return {
        "area_px": float(np.mean(areas)),
        "area_jitter": float(np.abs(np.diff(a, axis=1)).mean()) if a.shape[1] > 1 else 0.0,
        "area_drift": float(np.abs(a[:, -1] - a[:, 0]).mean()),
        "not_one_blob": float((np.asarray(blobs) != 1).mean()),
    }
