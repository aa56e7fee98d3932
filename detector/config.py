"""The detector's one frozen, typed configuration (saved as ``config.json`` beside the weights)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from provenant.errors import ConfigurationError

__all__ = ["DetectorConfig", "CalibrationMethod", "FaceMode", "DEFAULT_FAMILIES"]

#: Synthetic families the shipped model is trained on ("smooth" is left out: see MODEL_CARD).
DEFAULT_FAMILIES: tuple[str, ...] = ("upscale", "interpolate", "generator")

CalibrationMethod = Literal["platt", "isotonic"]
FaceMode = Literal["off", "on"]
Device = Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class DetectorConfig:
    """Everything that defines a detector model; validated in one place (``__post_init__``).

    Inputs are patches of ``patch_size`` pixels cropped at native resolution (never resized)
    from three consecutive frames; the forensic front end turns each into ``in_chans`` residual
    channels (see :mod:`detector.features`) for the timm ``backbone``.
    """

    backbone: str = "resnet10t"
    pretrained: bool = False
    pretrained_path: str | None = None  # user-supplied timm weights (safetensors or .pth)
    patch_size: int = 32
    patches_per_frame: int = 16  # at inference, per sampled frame
    frames_per_clip: int = 8  # at inference, sampled frames (triplets) per video
    face_mode: FaceMode = "off"
    # Training.
    epochs: int = 24
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    device: Device = "auto"
    # Calibration and decision.
    calibration: CalibrationMethod = "platt"
    calibration_fraction: float = 0.25  # of the training groups, held out for calibration
    target_fpr: float = 0.01
    name: str = "provenant-detector"
    version: str = "0.4.0"

    def __post_init__(self) -> None:
        checks = [
            ("patch_size", self.patch_size >= 16 and self.patch_size % 4 == 0,
             "a multiple of 4, >= 16"),
            ("patches_per_frame", self.patches_per_frame >= 1, ">= 1"),
            ("frames_per_clip", self.frames_per_clip >= 1, ">= 1"),
            ("epochs", self.epochs >= 1, ">= 1"),
            ("batch_size", self.batch_size >= 2, ">= 2"),
            ("learning_rate", self.learning_rate > 0, "> 0"),
            ("calibration_fraction", 0.0 < self.calibration_fraction < 1.0, "in (0, 1)"),
            ("target_fpr", 0.0 < self.target_fpr < 0.5, "in (0, 0.5)"),
            ("calibration", self.calibration in ("platt", "isotonic"), "'platt' or 'isotonic'"),
            ("face_mode", self.face_mode in ("off", "on"), "'off' or 'on'"),
            ("device", self.device in ("auto", "cpu", "cuda"), "'auto', 'cpu' or 'cuda'"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ConfigurationError(
                    f"DetectorConfig.{name}={getattr(self, name)!r} is invalid; allowed: {allowed}")

    @property
    def model_id(self) -> str:
        return f"{self.name}-{self.version} ({self.backbone})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"unknown detector config keys {unknown}; allowed: {sorted(known)}")
        return cls(**data)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> DetectorConfig:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{path} is not valid JSON: {exc}") from None
