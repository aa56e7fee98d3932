"""Generate a clip with provenance by construction: sample → upscale → temporary high-quality
MP4 → :func:`provenant.provenance.stamp` (watermark with the manifest's short id, H.264,
C2PA ``c2pa.created`` + ``trainedAlgorithmicMedia`` + software agent + generation parameters
+ training-mining + ``c2pa.watermarked`` soft binding, registered in the store).

There is no way to skip any of it: without an installed watermark stamper this raises
:class:`~provenant.errors.CapabilityUnavailableError` and writes nothing.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from provenant.manifest import SignOptions, SignResult
from provenant.media import MP4_SUFFIXES, check_output_suffix, sibling_temp, write_video

from generator.data import training_mining_assertion
from generator.grammar import describe, parse_prompt
from generator.pipeline import TextToVideoPipeline, default_weights_dir

__all__ = ["GENERATION_ASSERTION", "load_pipeline", "generate_frames", "upscale",
           "generation_assertion", "generate_clip"]

GENERATION_ASSERTION = "io.provenant.generation"
MIN_VIEW_SIZE = 256


@lru_cache(maxsize=4)
def load_pipeline(weights: str | None = None, scheduler: str | None = None) -> TextToVideoPipeline:
    """The pipeline for ``weights`` (default: shipped), cached per process."""
    return TextToVideoPipeline.from_pretrained(weights, scheduler=scheduler)


def upscale(frames: np.ndarray, min_size: int = MIN_VIEW_SIZE) -> np.ndarray:
    """``(T, h, w, 3)`` → ``(T, k·h, k·w, 3)`` with the smallest integer ``k`` reaching ``min_size``."""
    h, w = frames.shape[1:3]
    k = max(1, -(-min_size // min(h, w)))
    return np.stack([cv2.resize(f, (w * k, h * k), interpolation=cv2.INTER_CUBIC) for f in frames])


def generate_frames(prompt: str, *, num_frames: int | None = None, seed: int = 0,
                    steps: int | None = None, guidance: float | None = None,
                    scheduler: str | None = None, weights: str | os.PathLike[str] | None = None,
                    guidance_interval: tuple[float, float] | None = None,
                    ) -> tuple[np.ndarray, dict[str, Any]]:
    """Native frames ``(T, H, W, 3)`` uint8 and the generation parameters used
    (``guidance_interval`` None: the model's default)."""
    scene = parse_prompt(prompt)  # a bad prompt fails before any model is loaded
    pipe = load_pipeline(str(weights) if weights is not None else None, scheduler)
    c = pipe.config
    params = {
        "prompt": prompt, "canonical_prompt": describe(scene), "seed": int(seed),
        "steps": int(c.num_inference_steps if steps is None else steps),
        "guidance": float(c.guidance_scale if guidance is None else guidance),
        "guidance_interval": [float(v) for v in (guidance_interval or c.guidance_interval)],
        "scheduler": pipe.scheduler.name,
        "num_frames": int(c.frames if num_frames is None else num_frames),
        "native_size": [c.size, c.size], "fps": c.fps,
        "model": {"name": c.name, "version": c.version, "sha256": pipe.weights_sha256},
    }
    frames = pipe(prompt, num_frames=params["num_frames"], num_inference_steps=params["steps"],
                  guidance_scale=params["guidance"], seed=params["seed"],
                  guidance_interval=tuple(params["guidance_interval"]))
    return frames, params


def generation_assertion(params: dict[str, Any]) -> dict[str, Any]:
    return {"label": GENERATION_ASSERTION, "data": params}


def generate_clip(prompt: str, out_path: str | os.PathLike[str], *, num_frames: int | None = None,
                  seed: int = 0, steps: int | None = None, guidance: float | None = None,
                  scheduler: str | None = None, weights: str | os.PathLike[str] | None = None,
                  training_mining: str = "notAllowed", credentials: Any = None,
                  store: Any = None) -> SignResult:
    """Generate ``prompt`` into ``out_path``: a watermarked, C2PA-signed, registered H.264 MP4.

    ``training_mining`` is the declared AI-training/mining permission of the output
    (``notAllowed`` by default). Returns the :class:`~provenant.manifest.SignResult`.
    """
    from provenant.provenance import stamp

    out = check_output_suffix(out_path, MP4_SUFFIXES, "an H.264 MP4 video")  # before sampling
    frames, params = generate_frames(prompt, num_frames=num_frames, seed=seed, steps=steps,
                                     guidance=guidance, scheduler=scheduler, weights=weights)
    big = upscale(frames)  # (T, ≥256, ≥256, 3)
    params["output_size"] = [int(big.shape[1]), int(big.shape[2])]
    model = params["model"]
    options = SignOptions(
        source_type="trainedAlgorithmicMedia",
        title=out.name,
        software_agent={"name": model["name"], "version": model["version"]},
        extra_assertions=(generation_assertion(params), training_mining_assertion(training_mining)),
    )
    tmp = sibling_temp(out, ".mp4")  # the raw clip, stamped into out
    try:
        write_video(big, tmp, fps=params["fps"], crf=10, preset="medium")
        return stamp(tmp, out, options, credentials=credentials, store=store)
    finally:
        Path(tmp).unlink(missing_ok=True)


def default_weights_available() -> bool:
    d = default_weights_dir()
    return (d / "config.json").is_file() and (d / "model.safetensors").is_file()
