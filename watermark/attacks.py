"""Named attacks on clips, shared by the tests and the benchmark.

Every attack has ONE signature: ``attack(clip, params) -> clip``. Randomness is kept apart:
``attack.draw(rng) -> params`` draws the random parts (crop position, noise seed, segment
start), and applying the same params twice gives the same result. Codecs are real encoders,
in memory (:mod:`watermark.roundtrips`, which holds :class:`Clip` too).

    >>> atk = make_attack("h264_crf35")
    >>> out = atk(clip, atk.draw(np.random.default_rng(0)))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np

from provenant.errors import ConfigurationError
from watermark.roundtrips import (Clip, animated_roundtrip, codec_roundtrip,
                                  still_codec_roundtrip)

__all__ = ["Clip", "Attack", "ATTACKS", "IMAGE_ATTACKS", "attack_names", "make_attack",
           "codec_roundtrip", "still_codec_roundtrip"]

Category = Literal["none", "codec", "geometry", "colour", "noise", "time", "combination"]
Params = Mapping[str, Any]
Apply = Callable[[Clip, Params], Clip]
Draw = Callable[[np.random.Generator], dict[str, Any]]


def _no_draw(rng: np.random.Generator) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Attack:
    """A named attack: ``draw(rng)`` picks random params, ``attack(clip, params)`` applies."""

    name: str
    category: Category
    apply: Apply
    draw: Draw = _no_draw
    description: str = ""
    fixed: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, clip: Clip, params: Params | None = None) -> Clip:
        return self.apply(clip, {**self.fixed, **(params or {})})


# ---------------------------------------------------------------- codecs
def _codec(codec: str, crf: int) -> Apply:
    return lambda clip, p: codec_roundtrip(clip, codec, crf)


def _still_codec(fmt: str, quality: int) -> Apply:
    return lambda clip, p: still_codec_roundtrip(clip, fmt, quality)


# ---------------------------------------------------------------- geometry
def _resize(clip: Clip, p: Params) -> Clip:
    h, w = clip.shape
    size = (max(2, round(w * p["scale"])), max(2, round(h * p["scale"])))
    interp = cv2.INTER_AREA if p["scale"] < 1 else cv2.INTER_LINEAR
    return clip.with_frames([cv2.resize(f, size, interpolation=interp) for f in clip.frames])


def _stretch(clip: Clip, p: Params) -> Clip:
    """Widen by ``factor``, as a platform converts anamorphic video (HDV 1440x1080, 16:9 SD)
    to square pixels."""
    h, w = clip.shape
    size = (max(2, round(w * p["factor"])), h)
    return clip.with_frames([cv2.resize(f, size, interpolation=cv2.INTER_LINEAR)
                             for f in clip.frames])


def _crop(clip: Clip, p: Params) -> Clip:
    """Keep ``area`` of the frame (same aspect); ``x``/``y`` in [0, 1] place the window."""
    h, w = clip.shape
    side = math.sqrt(p["area"])
    ch, cw = max(2, round(h * side)), max(2, round(w * side))
    y0, x0 = round((h - ch) * p.get("y", 0.5)), round((w - cw) * p.get("x", 0.5))
    return clip.with_frames([np.ascontiguousarray(f[y0: y0 + ch, x0: x0 + cw])
                             for f in clip.frames])


def _letterbox(clip: Clip, p: Params) -> Clip:
    """Pad with black bars to a square frame (a 1:1 feed showing a 16:9 or 9:16 video),
    the picture centred and not rescaled."""
    h, w = clip.shape
    side = max(h, w)
    y0, x0 = (side - h) // 2, (side - w) // 2
    out = []
    for f in clip.frames:
        frame = np.zeros((side, side, 3), np.uint8)
        frame[y0: y0 + h, x0: x0 + w] = f
        out.append(frame)
    return clip.with_frames(out)


def _inset(clip: Clip, p: Params) -> Clip:
    """Picture in picture: the clip at ``scale`` of its size in a corner (``corner`` 0-3:
    top-left, top-right, bottom-left, bottom-right; ``margin`` of each side from the edges)
    of another video of the same size, an unmarked generated one (``watermark.testing``),
    as a reaction video or a news report shows a clip."""
    from watermark.testing import procedural_clip

    h, w = clip.shape
    host = procedural_clip(h, w, len(clip.frames), int(p["host_seed"]))
    ih, iw = max(2, round(h * p["scale"])), max(2, round(w * p["scale"]))
    corner, my, mx = int(p["corner"]), round(h * p["margin"]), round(w * p["margin"])
    y0 = my if corner < 2 else h - ih - my
    x0 = mx if corner % 2 == 0 else w - iw - mx
    for frame, picture in zip(host, clip.frames):
        frame[y0: y0 + ih, x0: x0 + iw] = cv2.resize(picture, (iw, ih),
                                                    interpolation=cv2.INTER_AREA)
    return clip.with_frames(host)


def _draw_inset(rng: np.random.Generator) -> dict[str, Any]:
    return {"corner": int(rng.integers(0, 4)), "host_seed": int(rng.integers(0, 2**31))}


def _draw_offcentre(rng: np.random.Generator) -> dict[str, Any]:
    corner = rng.integers(0, 4)
    return {"x": float(corner % 2) * 0.9 + rng.uniform(0, 0.1),
            "y": float(corner // 2) * 0.9 + rng.uniform(0, 0.1)}


def _rotate(clip: Clip, p: Params) -> Clip:
    """Rotate about the centre, then crop the central 80% (no black borders)."""
    h, w = clip.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), p["degrees"], 1.0)
    rot = [cv2.warpAffine(f, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
           for f in clip.frames]
    return _crop(clip.with_frames(rot), {"area": 0.64})


def _mirror(clip: Clip, p: Params) -> Clip:
    """Left and right swapped (a mirrored re-upload)."""
    return clip.with_frames([np.ascontiguousarray(f[:, ::-1]) for f in clip.frames])


def _quarter_turn(clip: Clip, p: Params) -> Clip:
    """Turned by ``turns`` quarter turns clockwise (a rotation flag baked into the pixels)."""
    return clip.with_frames([np.ascontiguousarray(np.rot90(f, -int(p["turns"])))
                             for f in clip.frames])


# ---------------------------------------------------------------- colour and noise
def _lut(clip: Clip, table: np.ndarray) -> Clip:
    lut = np.clip(np.round(table), 0, 255).astype(np.uint8)
    return clip.with_frames([cv2.LUT(f, lut) for f in clip.frames])


def _brightness(clip: Clip, p: Params) -> Clip:
    return _lut(clip, np.arange(256.0) + p["offset"])


def _contrast(clip: Clip, p: Params) -> Clip:
    return _lut(clip, 128.0 + (np.arange(256.0) - 128.0) * p["factor"])


def _gamma(clip: Clip, p: Params) -> Clip:
    return _lut(clip, 255.0 * (np.arange(256.0) / 255.0) ** p["gamma"])


def _noise(clip: Clip, p: Params) -> Clip:
    rng = np.random.default_rng(p["seed"])
    out = []
    for f in clip.frames:
        noisy = f.astype(np.float32) + rng.normal(0.0, p["sigma"], f.shape).astype(np.float32)
        out.append(np.clip(np.round(noisy), 0, 255).astype(np.uint8))
    return clip.with_frames(out)


def _draw_seed(rng: np.random.Generator) -> dict[str, Any]:
    return {"seed": int(rng.integers(0, 2**31))}


def _blur(clip: Clip, p: Params) -> Clip:
    return clip.with_frames([cv2.GaussianBlur(f, (0, 0), p["sigma"]) for f in clip.frames])


# ---------------------------------------------------------------- time
def _drop_alternate(clip: Clip, p: Params) -> Clip:
    return clip.select(list(range(0, len(clip.frames), 2)), clip.fps / 2)


def _segment(clip: Clip, p: Params) -> Clip:
    n = max(1, round(p["seconds"] * clip.fps))
    start = round(p.get("start", 0.0) * max(0, len(clip.frames) - n))
    return clip.select(list(range(start, min(len(clip.frames), start + n))), clip.fps)


def _draw_start(rng: np.random.Generator) -> dict[str, Any]:
    return {"start": float(rng.uniform(0, 1))}


def _fps_change(clip: Clip, p: Params) -> Clip:
    """Resample time by ``ratio`` (30->24 fps is 0.8): nearest earlier source frame."""
    n_out = max(1, int(len(clip.frames) * p["ratio"]))
    idx = np.minimum((np.arange(n_out) / p["ratio"]).astype(int), len(clip.frames) - 1)
    return clip.select([int(i) for i in idx], clip.fps * p["ratio"])


def _combo(clip: Clip, p: Params) -> Clip:
    clip = codec_roundtrip(clip, "libx264", 28)
    clip = _resize(clip, {"scale": 0.5})
    return _crop(clip, {"area": 0.8, "x": p.get("x", 0.5), "y": p.get("y", 0.5)})


def _image_combo(clip: Clip, p: Params) -> Clip:
    clip = still_codec_roundtrip(clip, "jpeg", 75)
    clip = _resize(clip, {"scale": 0.5})
    return still_codec_roundtrip(_crop(clip, {"area": 0.8, "x": p.get("x", 0.5),
                                              "y": p.get("y", 0.5)}), "jpeg", 75)


def _draw_xy(rng: np.random.Generator) -> dict[str, Any]:
    return {"x": float(rng.uniform(0, 1)), "y": float(rng.uniform(0, 1))}


def _identity(clip: Clip, p: Params) -> Clip:
    return clip


def _animated(fmt: str, step_ms: int, least_ms: int, **options: Any) -> Apply:
    return lambda clip, p: animated_roundtrip(clip, fmt, step_ms, least_ms, **options)


#: Measured beside the required suite, on videos only.
_STRETCH_ATTACKS = (
    Attack("stretch_4_3", "geometry", _stretch, fixed={"factor": 4 / 3},
           description="widened by 4/3, as anamorphic video is converted to square pixels"),
)
_INSET_ATTACKS = (
    Attack("picture_in_picture", "geometry", _inset, _draw_inset,
           fixed={"scale": 1 / 3, "margin": 0.04},
           description="shown at a third of its size in a corner of another video"),
)
_ORIENTATION_ATTACKS = (
    Attack("mirror", "geometry", _mirror, description="left and right swapped"),
    Attack("rotate_90", "geometry", _quarter_turn, fixed={"turns": 1},
           description="a quarter turn clockwise"),
)


def _registry() -> dict[str, Attack]:
    a = [
        Attack("none", "none", _identity, description="no attack"),
        Attack("h264_crf23", "codec", _codec("libx264", 23), description="H.264 CRF 23"),
        Attack("h264_crf28", "codec", _codec("libx264", 28), description="H.264 CRF 28"),
        Attack("h264_crf35", "codec", _codec("libx264", 35), description="H.264 CRF 35"),
        Attack("h264_crf40", "codec", _codec("libx264", 40), description="H.264 CRF 40"),
        Attack("h265_crf28", "codec", _codec("libx265", 28), description="H.265 CRF 28"),
        Attack("vp9_crf32", "codec", _codec("libvpx-vp9", 32), description="VP9 CRF 32"),
        Attack("resize_0.5", "geometry", _resize, fixed={"scale": 0.5}),
        Attack("resize_0.25", "geometry", _resize, fixed={"scale": 0.25}),
        Attack("crop_centre_70", "geometry", _crop, fixed={"area": 0.7},
               description="keep the central 70% of the area"),
        Attack("crop_offcentre_50", "geometry", _crop, _draw_offcentre, fixed={"area": 0.5},
               description="keep an off-centre 50% of the area"),
        Attack("rotate_5", "geometry", _rotate, fixed={"degrees": 5.0}),
        Attack("brightness_+30", "colour", _brightness, fixed={"offset": 30.0}),
        Attack("brightness_-30", "colour", _brightness, fixed={"offset": -30.0}),
        Attack("contrast_0.7", "colour", _contrast, fixed={"factor": 0.7}),
        Attack("contrast_1.3", "colour", _contrast, fixed={"factor": 1.3}),
        Attack("gamma_0.8", "colour", _gamma, fixed={"gamma": 0.8}),
        Attack("gamma_1.2", "colour", _gamma, fixed={"gamma": 1.2}),
        Attack("noise_5", "noise", _noise, _draw_seed, fixed={"sigma": 5.0}),
        Attack("blur_1", "noise", _blur, fixed={"sigma": 1.0}),
        Attack("drop_alternate", "time", _drop_alternate, description="drop every other frame"),
        Attack("segment_2s", "time", _segment, _draw_start, fixed={"seconds": 2.0}),
        Attack("fps_30_to_24", "time", _fps_change, fixed={"ratio": 0.8}),
        Attack("combo_h264_28_resize_0.5_crop_80", "combination", _combo, _draw_xy,
               description="H.264 CRF 28, then resize 0.5, then crop 80% of the area"),
        # Last, so that the draws of the attacks above keep their registry index.
        Attack("letterbox_square", "geometry", _letterbox,
               description="black bars to a square frame (a 1:1 feed), not rescaled"),
        *_ORIENTATION_ATTACKS,
        # after them, for the same reason
        Attack("gif", "codec", _animated("GIF", 10, 20),
               description="an animated GIF (256-colour palettes, delays in 1/100 s)"),
        Attack("webp_anim_75", "codec", _animated("WEBP", 1, 1, quality=75),
               description="an animated WebP, lossy at quality 75 (a sticker)"),
        *_STRETCH_ATTACKS,
        *_INSET_ATTACKS,
    ]
    return {x.name: x for x in a}


ATTACKS: dict[str, Attack] = _registry()


def _image_registry() -> dict[str, Attack]:
    """The attacks on a still image: an image platform's re-encodes (JPEG, WebP, HEIC, AVIF)
    in place of the video codecs, the same geometry, colour and noise attacks, and no time
    attacks."""
    a = [
        ATTACKS["none"],
        Attack("jpeg_90", "codec", _still_codec("jpeg", 90), description="JPEG quality 90"),
        Attack("jpeg_75", "codec", _still_codec("jpeg", 75), description="JPEG quality 75"),
        Attack("jpeg_50", "codec", _still_codec("jpeg", 50), description="JPEG quality 50"),
        Attack("webp_75", "codec", _still_codec("webp", 75), description="WebP quality 75"),
        Attack("webp_50", "codec", _still_codec("webp", 50), description="WebP quality 50"),
        *(a for a in ATTACKS.values() if a.category in ("geometry", "colour", "noise")
          and a not in _ORIENTATION_ATTACKS + _STRETCH_ATTACKS + _INSET_ATTACKS),
        Attack("combo_jpeg_75_resize_0.5_crop_80", "combination", _image_combo, _draw_xy,
               description="JPEG 75, then resize 0.5, crop 80% of the area and JPEG 75 again"),
        *_ORIENTATION_ATTACKS,
        # last, so that the draws of the attacks above stay as they were
        Attack("heic_50", "codec", _still_codec("heic", 50),
               description="HEIC (HEVC) quality 50, as phones and photo apps convert"),
        Attack("avif_50", "codec", _still_codec("avif", 50), description="AVIF quality 50"),
    ]
    return {x.name: x for x in a}


#: The attacks on still images (``watermark.attacks`` keeps the video registry apart, so
#: that the video benchmark's draws do not move).
IMAGE_ATTACKS: dict[str, Attack] = _image_registry()


def attack_names(category: Category | None = None) -> list[str]:
    """Registered attack names, optionally of one category, in registry order."""
    return [n for n, a in ATTACKS.items() if category is None or a.category == category]


def make_attack(name: str, **overrides: Any) -> Attack:
    """The registered attack ``name``, with any fixed parameters overridden."""
    if name not in ATTACKS:
        raise ConfigurationError(f"attack={name!r} is unknown; allowed: {', '.join(ATTACKS)}")
    base = ATTACKS[name]
    if not overrides:
        return base
    return Attack(base.name, base.category, base.apply, base.draw, base.description,
                  {**base.fixed, **overrides})
