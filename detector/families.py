"""Synthetic (AI-generated) families: a registry of factories, each ``draw``-then-``apply``.

Every family turns a real clip ``(T, S, S, 3)`` uint8 into a synthetic one of the same shape,
so both classes share content and differ only in how the pixels were made:

* ``upscale``: super-resolved low-resolution video: area-downscale by 2-4x, then upscale with
  a random interpolator (bilinear, bicubic, Lanczos, nearest+blur);
* ``interpolate``: frame-rate up-conversion: every odd frame is synthesised from its neighbours
  by blending or by optical-flow (Farneback) midpoint warping;
* ``smooth``: "regenerated" frames with no sensor noise: edge-preserving bilateral filtering,
  sometimes followed by an unsharp mask (the plastic look of many generators);
* ``generator``: clips of Provenant's own text-to-video model at several settings (steps,
  guidance, guidance interval, sampler; own content), fitted to the clip's size or upscaled
  4x as ``provenant generate`` writes them and cropped; available only once the generator
  ships weights (see :func:`available_families`). Sampled clips are kept under
  :data:`GENERATED_CACHE`, keyed by the weights' checksum, their config and the parameters.

The random draw (``draw(rng) -> params``) is kept apart from ``apply(frames, params)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from provenant.errors import CapabilityUnavailableError, ConfigurationError

__all__ = ["Family", "FAMILIES", "get_family", "available_families", "register_family"]


@dataclass(frozen=True)
class Family:
    name: str
    draw: Callable[[np.random.Generator], dict[str, Any]]
    apply: Callable[[np.ndarray, dict[str, Any]], np.ndarray]

    def __call__(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.apply(frames, self.draw(rng))


_INTERP = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4,
           "nearest_blur": cv2.INTER_NEAREST}


def _upscale_draw(rng: np.random.Generator) -> dict[str, Any]:
    return {"factor": float(rng.uniform(2.0, 4.0)), "interp": str(rng.choice(list(_INTERP)))}


def _upscale_apply(frames: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    t, h, w, _ = frames.shape
    small = (max(4, round(w / p["factor"])), max(4, round(h / p["factor"])))
    out = []
    for f in frames:
        up = cv2.resize(cv2.resize(f, small, interpolation=cv2.INTER_AREA), (w, h),
                        interpolation=_INTERP[p["interp"]])
        if p["interp"] == "nearest_blur":
            up = cv2.GaussianBlur(up, (3, 3), 0.8)
        out.append(up)
    return np.stack(out)


def _interp_draw(rng: np.random.Generator) -> dict[str, Any]:
    return {"method": str(rng.choice(["blend", "flow", "flow"]))}


def _flow_midpoint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ga, gb = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    flow = cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # (H, W, 2)
    h, w = ga.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    wa = cv2.remap(a, gx - 0.5 * flow[..., 0], gy - 0.5 * flow[..., 1], cv2.INTER_LINEAR,
                   borderMode=cv2.BORDER_REFLECT)
    wb = cv2.remap(b, gx + 0.5 * flow[..., 0], gy + 0.5 * flow[..., 1], cv2.INTER_LINEAR,
                   borderMode=cv2.BORDER_REFLECT)
    return ((wa.astype(np.uint16) + wb + 1) // 2).astype(np.uint8)


def _interp_apply(frames: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    out = frames.copy()
    for t in range(1, len(frames) - 1, 2):
        a, b = frames[t - 1], frames[t + 1]
        if p["method"] == "blend":
            out[t] = ((a.astype(np.uint16) + b + 1) // 2).astype(np.uint8)
        else:
            out[t] = _flow_midpoint(a, b)
    return out


def _smooth_draw(rng: np.random.Generator) -> dict[str, Any]:
    return {"d": int(rng.choice([5, 7, 9])), "sigma_color": float(rng.uniform(20, 60)),
            "sigma_space": float(rng.uniform(3, 7)), "sharpen": float(rng.choice([0.0, 0.0, 0.6]))}


def _smooth_apply(frames: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    out = []
    for f in frames:
        g = cv2.bilateralFilter(f, p["d"], p["sigma_color"], p["sigma_space"])
        if p["sharpen"]:
            blur = cv2.GaussianBlur(g, (0, 0), 1.5)
            g = cv2.addWeighted(g, 1 + p["sharpen"], blur, -p["sharpen"], 0)
        out.append(g)
    return np.stack(out)


FAMILIES: dict[str, Family] = {
    "upscale": Family("upscale", _upscale_draw, _upscale_apply),
    "interpolate": Family("interpolate", _interp_draw, _interp_apply),
    "smooth": Family("smooth", _smooth_draw, _smooth_apply),
}


def register_family(family: Family) -> None:
    """Add a family (e.g. a new generator) to the registry."""
    FAMILIES[family.name] = family


def _generator_draw(rng: np.random.Generator) -> dict[str, Any]:
    from generator.grammar import describe, random_scene

    return {"prompt": describe(random_scene(rng)), "seed": int(rng.integers(2**31)),
            "steps": int(rng.choice([8, 16, 24])), "guidance": float(rng.choice([1.0, 3.0, 5.0])),
            "scheduler": str(rng.choice(["euler", "ddim", "dpmpp_2m"])),
            "interp": str(rng.choice(["linear", "cubic", "lanczos"])),
            # guidance at every step, or only at high noise (the shipped default since 0.5.1)
            "guidance_interval": GUIDANCE_INTERVALS[int(rng.integers(len(GUIDANCE_INTERVALS)))],
            # 1: fitted to the clip's size (at most 2x here); VIEW_ZOOM: upscaled the way
            # ``provenant generate`` writes its clips (4x), then cropped to the clip's size
            "zoom": int(rng.choice([1, VIEW_ZOOM])), "crop": rng.uniform(0.0, 1.0, 2).tolist()}


#: The guidance intervals the family samples with (see ``UNetConfig.guidance_interval``).
GUIDANCE_INTERVALS: tuple[tuple[float, float], ...] = ((0.0, 1.0), (0.15, 1.0))
#: The upscale of ``provenant generate`` for the shipped 64-pixel model (64 → 256).
VIEW_ZOOM = 4


def generator_fingerprint() -> str | None:
    """SHA-256 of the generator weights the ``generator`` family samples, combined with their
    ``config.json`` (None without weights), so that data made with other weights, or with the
    same weights under other sampling defaults, is never taken from a cache."""
    try:
        from generator.pipeline import default_weights_dir
    except ImportError:
        return None
    path = default_weights_dir() / "model.safetensors"
    if not path.is_file():
        return None
    st = path.stat()
    weights = _file_sha256(str(path), st.st_mtime_ns, st.st_size)
    config = default_weights_dir() / "config.json"
    if not config.is_file():
        return weights
    return hashlib.sha256(weights.encode() + b"\0" + config.read_bytes()).hexdigest()


def generator_identity() -> dict[str, Any] | None:
    """Name, version and :func:`generator_fingerprint` of the generator the ``generator``
    family samples (None without weights), for the record a trained detector keeps."""
    fingerprint = generator_fingerprint()
    if fingerprint is None:
        return None
    from generator.pipeline import default_weights_dir

    try:
        config = json.loads((default_weights_dir() / "config.json").read_text())
    except (OSError, ValueError):
        config = {}
    return {"name": config.get("name"), "version": config.get("version"),
            "fingerprint": fingerprint}


@lru_cache(maxsize=4)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    """Hashed once per file version (the modification time and size are part of the key)."""
    from generator.pipeline import weights_hash

    return weights_hash(path)


#: Generated clips, kept on disk by weights checksum and parameters (sampling is the slow part).
GENERATED_CACHE = Path(".cache/detector/generated")


def _generated(p: dict[str, Any], num_frames: int) -> np.ndarray:
    """The generator's native frames for ``p``, from :data:`GENERATED_CACHE` when made before."""
    from generator.generate import generate_frames

    keys = ("prompt", "seed", "steps", "guidance", "scheduler", "guidance_interval")
    blob = json.dumps([generator_fingerprint(), num_frames, {k: p[k] for k in keys}],
                      sort_keys=True)
    path = GENERATED_CACHE / f"{hashlib.sha256(blob.encode()).hexdigest()[:24]}.npy"
    if path.exists():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):  # a truncated entry is simply made again
            path.unlink(missing_ok=True)
    native, _ = generate_frames(p["prompt"], num_frames=num_frames, seed=p["seed"], steps=p["steps"],
                                guidance=p["guidance"], scheduler=p["scheduler"],
                                guidance_interval=p["guidance_interval"])  # (T, s, s, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, native)
    tmp.replace(path)
    return native


def _generator_apply(frames: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """A generated clip (own content, at several settings) in ``frames``' shape: upscaled to
    it, or (``zoom`` > 1) upscaled ``zoom``-fold and cropped to it at a random place."""
    t, h, w, _ = frames.shape
    native = _generated(p, t)
    zoom = int(p.get("zoom", 1))
    nh, nw = native.shape[1:3]
    if zoom <= 1 or nh * zoom < h or nw * zoom < w:
        return np.stack([cv2.resize(f, (w, h), interpolation=_INTERP[p["interp"]]) for f in native])
    big = np.stack([cv2.resize(f, (nw * zoom, nh * zoom), interpolation=_INTERP[p["interp"]])
                    for f in native])
    y = int(p["crop"][0] * (nh * zoom - h + 1))
    x = int(p["crop"][1] * (nw * zoom - w + 1))
    return big[:, y:y + h, x:x + w]


def _generator_family() -> Family:
    """Provenant's own text-to-video model (steps, guidance, sampler drawn per clip), when
    it ships trained weights. Its content is its own (not the real clip's)."""
    try:
        from generator.generate import default_weights_available
    except ImportError:
        raise CapabilityUnavailableError("the generator component is not installed") from None
    if not default_weights_available():
        raise CapabilityUnavailableError("the generator ships no trained weights yet")
    return Family("generator", _generator_draw, _generator_apply)


def get_family(name: str) -> Family:
    if name == "generator":
        return _generator_family()
    if name not in FAMILIES:
        raise ConfigurationError(f"family={name!r} is unknown; allowed: {sorted(FAMILIES)}")
    return FAMILIES[name]


def available_families() -> list[str]:
    """Registered families, plus ``generator`` when it can be used."""
    names = sorted(FAMILIES)
    try:
        _generator_family()
        names.append("generator")
    except CapabilityUnavailableError:
        pass
    return names
