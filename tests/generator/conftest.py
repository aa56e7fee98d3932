"""Tiny generator fixtures: a randomly initialised model saved like shipped weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from generator.config import UNetConfig
from generator.model import UNet3D
from generator.pipeline import save_model

TINY = UNetConfig(channels=(8, 16), groups=4, emb_dim=32, slot_dim=8, frames=4, size=16,
                  patch=4, num_inference_steps=3, name="tiny-test", version="0.0.1")


@pytest.fixture(scope="session", autouse=True)
def _few_threads():
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = UNet3D(TINY)
    with torch.no_grad():  # non-zero output layer, so outputs depend on the prompt
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return save_model(model, tmp_path_factory.mktemp("tiny-weights"))
