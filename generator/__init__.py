"""Provenant's built-in text-to-video generator: a space-time factorised (2+1)D U-Net trained
by flow matching on a closed-vocabulary world of coloured shapes, with swappable samplers,
classifier-free guidance, and outputs that are watermarked and C2PA-signed by construction.

Public names are imported lazily, so registering the CLI does not import torch::

    from generator import generate_clip
    result = generate_clip("a red circle moving left on a blue background", "out.mp4", seed=1)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "generate_clip", "generate_frames", "load_pipeline",
    "TextToVideoPipeline", "UNet3D", "UNetConfig", "TrainConfig",
    "SCHEDULERS", "make_scheduler", "FlowMatchEulerScheduler", "DDIMScheduler",
    "DPMSolverPlusPlus2MScheduler",
    "parse_prompt", "describe", "PromptError", "Scene", "SceneObject", "known_words",
    "render_scene", "train", "evaluate", "training_permission", "UserVideoClips",
]

_HOME = {
    "generate_clip": "generate", "generate_frames": "generate", "load_pipeline": "generate",
    "TextToVideoPipeline": "pipeline", "UNet3D": "model", "UNetConfig": "config",
    "TrainConfig": "config", "SCHEDULERS": "schedulers", "make_scheduler": "schedulers",
    "FlowMatchEulerScheduler": "schedulers", "DDIMScheduler": "schedulers",
    "DPMSolverPlusPlus2MScheduler": "schedulers", "parse_prompt": "grammar",
    "describe": "grammar", "PromptError": "grammar", "Scene": "grammar",
    "SceneObject": "grammar", "known_words": "grammar", "render_scene": "render",
    "train": "training", "evaluate": "evaluation", "training_permission": "data",
    "UserVideoClips": "data",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"generator.{_HOME[name]}"), name)
    raise AttributeError(f"module 'generator' has no attribute {name!r}")
