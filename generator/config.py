"""Typed, frozen configs of the generator: the denoiser, the sampling defaults, training."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from provenant.errors import ConfigurationError

from generator.grammar import SLOT_SIZES

__all__ = ["UNetConfig", "TrainConfig", "from_dict", "check_guidance_interval"]

SchedulerName = Literal["euler", "ddim", "dpmpp_2m"]


@dataclass(frozen=True)
class UNetConfig:
    """The (2+1)D U-Net denoiser and the clip format it was trained on."""

    in_channels: int = 3
    patch: int = 4  # space-to-depth factor at the input (pixel unshuffle)
    # "sample": the network predicts x₀ and returns the velocity (x − x₀)/t (robust with large
    # patches, whose narrow stem cannot carry the noise through); "velocity": predicts v.
    prediction: Literal["sample", "velocity"] = "sample"
    t_min: float = 0.05  # clamp of t in the x₀ → velocity conversion
    channels: tuple[int, ...] = (32, 64)
    blocks_per_level: int = 1
    emb_dim: int = 128
    slot_dim: int = 32
    slot_sizes: tuple[int, ...] = SLOT_SIZES
    temporal_attention: bool = True
    # Give the network motion hints when it continues a clip (see generator/motion.py).
    motion_hints: bool = False
    groups: int = 8
    # Clip format (native; outputs are upscaled for viewing).
    frames: int = 8
    size: int = 32
    fps: float = 8.0
    # Sampling defaults. "joint": every frame is denoised together from noise;
    # "autoregressive": frame k is denoised with frames < k already clean (the model must be
    # trained with a clean prefix, TrainConfig.p_prefix > 0). On its own it did not make the
    # motion follow the prompt; together with motion_hints it did (see the model card).
    sampling: Literal["joint", "autoregressive"] = "joint"
    scheduler: SchedulerName = "euler"
    num_inference_steps: int = 24
    guidance_scale: float = 3.0
    # Classifier-free guidance acts only while the noise level t lies in (lo, hi]; below lo
    # the conditional prediction alone finishes the clip, in one pass instead of two. (On
    # 0.5.0, guidance at low noise doubled each frame's fine grain and the flicker it makes;
    # see the model card.)
    guidance_interval: tuple[float, float] = (0.0, 1.0)
    name: str = "provenant-shapes-t2v"
    version: str = "0.1.0"

    def __post_init__(self) -> None:
        if not self.channels or any(c % self.groups for c in self.channels):
            raise ConfigurationError(
                f"channels={self.channels!r} must be non-empty multiples of groups={self.groups}")
        if self.size % (self.patch * 2 ** (len(self.channels) - 1)):
            raise ConfigurationError(f"size={self.size} must be divisible by "
                                     f"patch·2**{len(self.channels) - 1}")
        if self.frames < 1:
            raise ConfigurationError(f"frames={self.frames} must be >= 1")
        check_guidance_interval(self.guidance_interval)
        if self.sampling not in ("joint", "autoregressive"):
            raise ConfigurationError(f"sampling={self.sampling!r} is not one of: joint, "
                                     "autoregressive")


def check_guidance_interval(interval: Any) -> tuple[float, float]:
    """``(lo, hi)`` with 0 ≤ lo < hi ≤ 1, as floats; anything else is a ConfigurationError."""
    try:
        lo, hi = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise ConfigurationError(f"guidance_interval={interval!r} must be two numbers "
                                 "(lo, hi) with 0 <= lo < hi <= 1") from None
    if not 0.0 <= lo < hi <= 1.0:
        raise ConfigurationError(f"guidance_interval={interval!r} must satisfy "
                                 "0 <= lo < hi <= 1")
    return lo, hi


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 3000
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.0
    warmup: int = 100
    ema_decay: float = 0.999
    p_uncond: float = 0.1  # all slots null: the CFG branch
    p_slot_drop: float = 0.05  # one slot null: "unspecified" attributes
    p_two_objects: float = 0.25
    # Share of clips trained with a clean prefix: frames < k (k uniform in 1..T-1) are given
    # clean at t = 0 and only the rest are noised and scored (what autoregressive sampling
    # needs); the other clips are noised whole, at one level.
    p_prefix: float = 0.0
    prefix_noise: float = 0.0  # max std of the noise added to the clean prefix (see training)
    prefix_self: float = 0.0  # share of prefixes replaced by the model's own estimate of them
    user_fraction: float = 0.0  # share of each batch drawn from user videos (unconditional)
    seed: int = 0
    checkpoint_every: int = 250
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = 0  # 0: torch default
    max_minutes: float = 0.0  # 0: no time limit; else stop (and save) after this long
    amp: Literal["auto", "bf16", "off"] = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU
    # Background render processes (0: render in the training loop, bit-reproducible); with
    # workers, batches are drawn from a replay pool of the last ``pool_clips`` clips
    # (generator/stream.py).
    workers: int = 0
    pool_clips: int = 20000

    def __post_init__(self) -> None:
        def check(ok: bool, name: str, allowed: str) -> None:
            if not ok:
                raise ConfigurationError(f"TrainConfig.{name}={getattr(self, name)!r} is "
                                         f"invalid; allowed: {allowed}")

        for name in ("steps", "batch_size", "checkpoint_every", "pool_clips"):
            check(getattr(self, name) >= 1, name, "an integer >= 1")
        for name in ("warmup", "workers", "threads"):
            check(getattr(self, name) >= 0, name, "an integer >= 0")
        for name in ("p_uncond", "p_slot_drop", "p_two_objects", "p_prefix", "prefix_self",
                     "user_fraction"):
            check(0.0 <= getattr(self, name) <= 1.0, name, "a probability in [0, 1]")
        check(self.lr > 0, "lr", "> 0")
        check(self.weight_decay >= 0, "weight_decay", ">= 0")
        check(0.0 <= self.ema_decay < 1.0, "ema_decay", "in [0, 1)")
        check(self.prefix_noise >= 0, "prefix_noise", ">= 0")
        check(self.max_minutes >= 0, "max_minutes", ">= 0 (0: no time limit)")
        check(0 <= self.seed < 2**32, "seed", "an integer from 0 to 2**32 - 1")


def from_dict(cls: type, data: dict[str, Any]):
    """Build a config dataclass from JSON data, ignoring unknown keys, tuples restored."""
    names = {f.name for f in fields(cls)}
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    return asdict(cfg)
