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

    Inputs are tubes: square windows cropped at native resolution (never resized) through
    consecutive frames. The network sees ``patch_size`` pixels of ``temporal_window``
    consecutive frames at a time; the forensic front end turns them into residual channels (see
    :mod:`detector.features`) for the timm ``backbone``. With ``clip_statistics``, measurements
    of the whole tubes (see :mod:`detector.clipstats`) are fused with the network's logit.
    """

    backbone: str = "resnet10t"
    pretrained: bool = False
    pretrained_path: str | None = None  # user-supplied timm weights (safetensors or .pth)
    patch_size: int = 32  # the network's input (cropped from the centre of a tube)
    temporal_window: int = 3  # consecutive frames the network sees at once: 3 or 5
    patches_per_frame: int = 16  # at inference, tubes per window
    frames_per_clip: int = 8  # at inference, windows spread evenly over a video
    window_frames: int = 8  # at inference, consecutive frames per window (as in training)
    tube_size: int = 48  # at inference, the tubes' side (the statistics see all of it)
    clip_statistics: bool = True  # fuse the clip statistics (detector.clipstats) with the network
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
    version: str = "0.6.1"

    def __post_init__(self) -> None:
        checks = [
            ("patch_size", self.patch_size >= 16 and self.patch_size % 4 == 0,
             "a multiple of 4, >= 16"),
            ("patches_per_frame", self.patches_per_frame >= 1, ">= 1"),
            ("frames_per_clip", self.frames_per_clip >= 1, ">= 1"),
            ("temporal_window", self.temporal_window in (3, 5), "3 or 5"),
            ("window_frames", self.window_frames >= 3, ">= 3"),
            ("tube_size", self.tube_size >= self.patch_size and self.tube_size % 2 == 0,
             "an even number >= patch_size"),
            ("epochs", self.epochs >= 1, ">= 1"),
            ("seed", 0 <= self.seed < 2**32, "an integer from 0 to 2**32 - 1"),
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
