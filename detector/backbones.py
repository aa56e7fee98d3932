"""Backbones by name: any timm model, built with the forensic channel count.

``pretrained`` weights are used only when the user supplies them (``pretrained_path``);
nothing is downloaded at run time.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn

from provenant.errors import ConfigurationError

from detector.config import DetectorConfig
from detector.features import ForensicFeatures, in_chans

__all__ = ["RECOMMENDED_BACKBONES", "check_backbone", "build_backbone", "DetectorNet"]

#: Small backbones that train on CPU in minutes (any timm name works).
RECOMMENDED_BACKBONES = ("resnet10t", "mobilenetv3_small_100", "mobilenetv3_small_050",
                         "efficientnet_b0")


def _load_user_weights(model: nn.Module, path: Path) -> None:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    # Input stem and head differ from ImageNet models: keep only tensors whose shapes match.
    own = model.state_dict()
    state = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(state, strict=False)


def check_backbone(config: DetectorConfig) -> None:
    """Refuse an unknown timm name or missing pretrained weights (training calls this before
    building its data, which takes minutes)."""
    if config.backbone not in timm.list_models():
        raise ConfigurationError(
            f"backbone={config.backbone!r} is not a timm model; try one of {RECOMMENDED_BACKBONES}")
    if config.pretrained and not config.pretrained_path:
        raise ConfigurationError(
            "pretrained=True needs pretrained_path (weights are never downloaded here)")
    if config.pretrained and not Path(config.pretrained_path).exists():
        raise ConfigurationError(f"pretrained_path={str(config.pretrained_path)!r} does not exist")


def build_backbone(config: DetectorConfig) -> nn.Module:
    """A timm model by ``config.backbone`` with the front end's channels in and one logit out."""
    check_backbone(config)
    model = timm.create_model(config.backbone, pretrained=False,
                              in_chans=in_chans(config.temporal_window), num_classes=1)
    if config.pretrained:
        _load_user_weights(model, Path(config.pretrained_path))
    return model


#: Residuals of [0, 1] pixels are ~0.02 in magnitude; this brings them near unit scale.
FEATURE_SCALE = 20.0


class DetectorNet(nn.Module):
    """Forensic residuals (fixed scale), then the backbone: one logit per patch."""

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__()
        self.features = ForensicFeatures(config.temporal_window)
        self.backbone = build_backbone(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.features(x) * FEATURE_SCALE  # (B, channels, P, P)
        return self.backbone(z).squeeze(1)  # (B,) logits
