"""Synthetic clips for the tests and the benchmark (nothing is downloaded).

``procedural_clip``: a panning multi-scale texture with flat regions and moving shapes.
``photo_pan_clip``: a still photo (e.g. scikit-image's sample PNGs) filmed by a virtual
camera that pans and zooms.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from watermark.api import detect_clip

__all__ = ["procedural_clip", "photo_pan_clip", "psnr", "detect_clip"]


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """``(h, w, 3)`` float32 multi-scale coloured noise in [0, 255]."""
    out = np.zeros((h, w, 3), np.float32)
    for scale, weight in ((64, 60.0), (16, 30.0), (4, 14.0), (1, 6.0)):
        small = rng.normal(0, 1, (max(2, h // scale), max(2, w // scale), 3)).astype(np.float32)
        out += weight * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(out + 128.0, 0, 255)


def procedural_clip(height: int, width: int, frames: int, seed: int = 0) -> list[np.ndarray]:
    """Moving shapes over a panning texture with a flat sky band: ``frames`` RGB frames."""
    rng = np.random.default_rng(seed)
    pad = 64
    world = _texture(rng, height + 2 * pad, width + 2 * pad)
    sky = np.array(rng.uniform(60, 200, 3), np.float32)
    world[: (height + 2 * pad) // 4] = sky  # a flat region: the mask must leave it alone
    shapes = [(rng.uniform(0, width), rng.uniform(0, height), rng.uniform(-3, 3),
               rng.uniform(-2, 2), rng.uniform(6, max(8, min(height, width) / 5)),
               tuple(float(c) for c in rng.uniform(0, 255, 3))) for _ in range(5)]
    out = []
    for t in range(frames):
        dx, dy = int(pad + pad * np.sin(t / 17.0)), int(pad + pad * 0.5 * np.cos(t / 23.0))
        frame = world[dy: dy + height, dx: dx + width].copy()
        for x, y, vx, vy, r, col in shapes:
            cv2.circle(frame, (int(x + vx * t) % width, int(y + vy * t) % height), int(r), col, -1)
        out.append(np.clip(frame, 0, 255).astype(np.uint8))
    return out


def photo_pan_clip(photo: str | Path | np.ndarray, height: int, width: int, frames: int,
                   seed: int = 0) -> list[np.ndarray]:
    """A virtual camera panning and zooming over a still photo, output ``height×width``."""
    rng = np.random.default_rng(seed)
    img = photo if isinstance(photo, np.ndarray) else _read_rgb(Path(photo))
    ih, iw = img.shape[:2]
    aspect = width / height
    z0, z1 = rng.uniform(0.55, 0.8), rng.uniform(0.55, 0.8)
    cx0, cy0, cx1, cy1 = rng.uniform(0.35, 0.65, 4)
    out = []
    for t in range(frames):
        a = t / max(1, frames - 1)
        zoom = z0 + (z1 - z0) * a
        ch = min(ih, iw / aspect) * zoom
        cw = ch * aspect
        cx = (cx0 + (cx1 - cx0) * a) * iw
        cy = (cy0 + (cy1 - cy0) * a) * ih
        x0 = float(np.clip(cx - cw / 2, 0, iw - cw))
        y0 = float(np.clip(cy - ch / 2, 0, ih - ch))
        m = np.array([[width / cw, 0, -x0 * width / cw], [0, height / ch, -y0 * height / ch]])
        out.append(cv2.warpAffine(img, m, (width, height), flags=cv2.INTER_CUBIC,
                                  borderMode=cv2.BORDER_REFLECT))
    return out


def _read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 arrays of the same shape."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
