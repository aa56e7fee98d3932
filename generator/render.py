"""The procedural scene renderer: a :class:`~generator.grammar.Scene` → ``T×H×W×3`` uint8 clip.

Every clip comes with its ground truth (the fully specified scene), which serves both for
training the generator and for training the evaluation classifier. Shapes are drawn at 4×
and area-downsampled (anti-aliased). The background is the named colour with a faint
checkerboard, so that a camera pan is visible; objects move in the scene's frame, and the
camera pan (slower than any object) shifts everything on screen.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import cv2
import numpy as np

from generator.grammar import (
    BACKGROUNDS, CAMERAS, DIRECTIONS, SPEEDS, Scene, SceneObject, condition_ids, random_scene,
)

__all__ = ["OBJECT_RGB", "BACKGROUND_RGB", "SPEED_PX", "CAMERA_PX", "UNIT", "complete_scene",
           "render_scene", "render_clips", "to_model_range", "render_batch"]

OBJECT_RGB = {
    "red": (230, 40, 40), "green": (40, 200, 60), "blue": (50, 80, 245), "yellow": (240, 220, 40),
    "magenta": (220, 50, 220), "cyan": (40, 220, 230), "white": (245, 245, 245),
}
BACKGROUND_RGB = {
    "black": (15, 15, 15), "gray": (110, 110, 110), "blue": (20, 30, 110),
    "green": (20, 90, 30), "white": (235, 235, 235),
}
SPEED_PX = {"slow": 1.0, "fast": 2.0}  # pixels per frame at 32×32, scaled with the size
CAMERA_PX = 0.5  # the camera's pan, pixels per frame at 32×32
UNIT = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1), "static": (0, 0)}
_SS = 4  # supersampling factor


def complete_scene(scene: Scene, rng: np.random.Generator) -> Scene:
    """Fill every unspecified attribute of ``scene`` at random (the renderer needs them all)."""
    objects = tuple(
        replace(o, direction=o.direction or DIRECTIONS[rng.integers(len(DIRECTIONS))],
                speed=o.speed or SPEEDS[rng.integers(len(SPEEDS))])
        for o in scene.objects
    )
    background = scene.background
    if background is None:
        choices = [b for b in BACKGROUNDS if b not in {o.colour for o in objects}]
        background = choices[rng.integers(len(choices))]
    camera = scene.camera or CAMERAS[rng.integers(len(CAMERAS))]
    return Scene(objects, background, camera)


@lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    n = size * _SS
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) / _SS
    return ys, xs


def _background(name: str, size: int, offset: tuple[float, float]) -> np.ndarray:
    """``(size·SS)²×3`` float32 background with a checkerboard shifted by ``offset`` pixels."""
    period = size / 2  # two checks per frame
    ys, xs = _grid(size)
    checks = (np.floor((xs + offset[0]) / (period / 2)) + np.floor((ys + offset[1]) / (period / 2))) % 2
    rgb = np.asarray(BACKGROUND_RGB[name], np.float32)
    sign = -1.0 if rgb.mean() > 128 else 1.0
    return rgb[None, None, :] + sign * 22.0 * checks[..., None]


def _draw(canvas: np.ndarray, obj: SceneObject, cx: float, cy: float, size: int) -> None:
    r = 0.17 * size * _SS
    colour = tuple(float(c) for c in OBJECT_RGB[obj.colour])
    x, y = cx * _SS, cy * _SS
    if obj.shape == "circle":
        cv2.circle(canvas, (round(x), round(y)), round(r), colour, -1, cv2.LINE_AA)
        return
    if obj.shape == "square":
        h = r * 0.85
        pts = [(x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h)]
    else:  # triangle, pointing up
        rr = r * 1.2
        pts = [(x, y - rr), (x + rr * 0.866, y + rr * 0.5), (x - rr * 0.866, y + rr * 0.5)]
    cv2.fillPoly(canvas, [np.round(np.asarray(pts)).astype(np.int32)], colour, cv2.LINE_AA)


def _trajectory(obj: SceneObject, frames: int, size: int, rng: np.random.Generator
                ) -> tuple[float, float, float, float]:
    """Start position and per-frame velocity (scene coordinates) that keep the path in view."""
    v = SPEED_PX[obj.speed or "slow"] * size / 32
    ux, uy = UNIT[obj.direction or "right"]
    margin = 0.2 * size
    travel = v * (frames - 1)

    def start(u: int) -> float:
        lo, hi = margin, size - margin
        if u > 0:
            hi = max(lo, hi - travel)
        elif u < 0:
            lo = min(hi, lo + travel)
        return float(rng.uniform(lo, hi))

    return start(ux), start(uy), v * ux, v * uy


def render_scene(scene: Scene, frames: int = 8, size: int = 32,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Render a fully specified ``scene``: ``(frames, size, size, 3)`` uint8."""
    rng = rng or np.random.default_rng()
    cam = UNIT[scene.camera or "static"]
    paths = [_trajectory(o, frames, size, rng) for o in scene.objects]
    phase = rng.uniform(0, size, 2)
    out = np.empty((frames, size, size, 3), np.uint8)
    for t in range(frames):
        shift = (cam[0] * CAMERA_PX * size / 32 * t, cam[1] * CAMERA_PX * size / 32 * t)
        canvas = _background(scene.background or "black", size, (phase[0] + shift[0], phase[1] + shift[1]))
        for o, (x0, y0, vx, vy) in zip(scene.objects, paths):
            _draw(canvas, o, x0 + vx * t - shift[0], y0 + vy * t - shift[1], size)
        small = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
        out[t] = np.clip(np.round(small), 0, 255).astype(np.uint8)
    return out


def render_clips(batch: int, frames: int, size: int, rng: np.random.Generator, *,
                 max_objects: int = 2, p_two: float = 0.25
                 ) -> tuple[np.ndarray, np.ndarray, list[Scene]]:
    """Random scenes: clips ``(B, T, H, W, 3)`` uint8, condition ids ``(B, S)``, scenes."""
    scenes = [random_scene(rng, max_objects=max_objects, p_two=p_two) for _ in range(batch)]
    clips = np.stack([render_scene(s, frames, size, rng) for s in scenes])
    return clips, np.stack([condition_ids(s) for s in scenes]), scenes


def to_model_range(clips: np.ndarray) -> np.ndarray:
    """uint8 clips ``(B, T, H, W, 3)`` → float32 ``(B, 3, T, H, W)`` in [-1, 1]."""
    return clips.transpose(0, 4, 1, 2, 3).astype(np.float32) / 127.5 - 1.0


def render_batch(batch: int, frames: int, size: int, rng: np.random.Generator, *,
                 max_objects: int = 2, p_two: float = 0.25
                 ) -> tuple[np.ndarray, np.ndarray, list[Scene]]:
    """Random scenes: clips ``(B, 3, T, H, W)`` float32 in [-1, 1], ids ``(B, S)``, scenes."""
    clips, ids, scenes = render_clips(batch, frames, size, rng, max_objects=max_objects,
                                      p_two=p_two)
    return to_model_range(clips), ids, scenes
