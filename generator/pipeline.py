"""The text-to-video pipeline: prompt → condition → sampling loop (written out) → frames.

``save_pretrained(dir)`` writes ``config.json`` + ``model.safetensors``; ``from_pretrained``
reads them offline. CUDA with bf16 autocast is used when present, the CPU in fp32 otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from provenant.errors import ConfigurationError, InputError, NotFoundError
from provenant.tempnames import write_whole

from generator.config import UNetConfig, check_guidance_interval, from_dict
from generator.grammar import null_condition, condition_ids, parse_prompt
from generator.model import UNet3D
from generator.schedulers import FlowScheduler, make_scheduler

__all__ = ["TextToVideoPipeline", "default_weights_dir", "pick_device", "weights_hash",
           "MAX_FRAMES", "MAX_STEPS", "MAX_GUIDANCE"]

CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"
#: Bounds of a pipeline call: beyond them a request is a mistake (or an attempt to tie up a
#: server), not a better clip. The HTTP API's request schema stays within them.
MAX_FRAMES, MAX_STEPS, MAX_GUIDANCE = 64, 1000, 20.0


def default_weights_dir() -> Path:
    """The shipped weights (``generator/weights``)."""
    return Path(__file__).resolve().parent / "weights"


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigurationError(f"device={device!r} is not one of: auto, cpu, cuda")
    return torch.device(device)


def weights_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a weights file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class TextToVideoPipeline:
    """Model + scheduler + the sampling loop. ``pipe(prompt)`` gives ``(T, H, W, 3)`` uint8."""

    def __init__(self, model: UNet3D, scheduler: FlowScheduler | None = None,
                 device: str | torch.device = "auto") -> None:
        self.model = model.eval()
        self.config: UNetConfig = model.config
        self.scheduler = scheduler or make_scheduler(self.config.scheduler)
        self.device = pick_device(device) if isinstance(device, str) else device
        self.model.to(self.device)
        self.weights_sha256: str | None = None

    # -- persistence -------------------------------------------------------------------
    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        return save_model(self.model, directory)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str] | None = None, *,
                        scheduler: str | None = None, device: str = "auto") -> TextToVideoPipeline:
        directory = Path(directory) if directory is not None else default_weights_dir()
        cfg_path, w_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
        if not cfg_path.is_file() or not w_path.is_file():
            raise NotFoundError(f"no generator weights in {directory} "
                                f"(need {CONFIG_NAME} and {WEIGHTS_NAME})",
                                hint="train some with `provenant train generator`")
        config = from_dict(UNetConfig, json.loads(cfg_path.read_text()))
        model = UNet3D(config)
        model.load_state_dict(load_file(str(w_path)))
        pipe = cls(model, make_scheduler(scheduler or config.scheduler), device)
        pipe.weights_sha256 = weights_hash(w_path)
        return pipe

    # -- sampling ----------------------------------------------------------------------
    def encode_prompt(self, prompt: str | list[str]) -> torch.Tensor:
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        ids = np.stack([condition_ids(parse_prompt(p)) for p in prompts])
        return torch.from_numpy(ids).to(self.device)  # (B, S)

    def _velocity(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                  guidance_scale: float) -> torch.Tensor:
        """Classifier-free guidance: ``v_u + w (v_c − v_u)`` from one doubled batch.
        ``t``: ``(B,)`` or per frame ``(B, T)``."""
        b = x.shape[0]
        if guidance_scale == 1.0:
            return self.model(x, t, cond).float()
        null = torch.from_numpy(null_condition()).to(self.device).expand(b, -1)
        v = self.model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, null])).float()
        v_c, v_u = v.chunk(2)
        return v_u + guidance_scale * (v_c - v_u)

    def _denoise(self, x: torch.Tensor, cond: torch.Tensor, steps: int, guidance: float,
                 generator: torch.Generator, clean: torch.Tensor | None = None,
                 interval: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
        """The sampling loop over ``x (B, C, T, H, W)`` from pure noise. The first frames
        can be given ``clean`` ``(B, C, P, H, W)``: they are held there, at ``t = 0``.
        Guidance acts at the steps whose ``t`` lies in ``interval`` = ``(lo, hi]``."""
        p = 0 if clean is None else clean.shape[2]
        b, frames = x.shape[0], x.shape[2]
        self.scheduler.set_timesteps(steps, self.device)
        autocast = torch.autocast("cuda", torch.bfloat16, enabled=self.device.type == "cuda")
        for t in self.scheduler.timesteps:
            if p:
                x[:, :, :p] = clean
            tf = torch.full((b, frames), float(t), device=self.device)  # (B, T)
            tf[:, :p] = 0.0
            scale = guidance if interval[0] < float(t) <= interval[1] else 1.0
            with autocast:
                v = self._velocity(x, tf, cond, scale)
            x = self.scheduler.step(v, t, x, generator=generator).prev_sample
        if p:
            x[:, :, :p] = clean
        return x

    def _autoregressive(self, cond: torch.Tensor, shape: tuple[int, ...], steps: int,
                        guidance: float, generator: torch.Generator,
                        interval: tuple[float, float]) -> torch.Tensor:
        """Frame ``k`` is sampled in a window of the model's length whose earlier frames are
        the clean frames already made (``k`` = 0: the whole window from noise); each frame
        costs one sampling loop."""
        b, ch, num_frames, h, w = shape
        span = min(self.config.frames, num_frames)
        made: list[torch.Tensor] = []  # (B, C, H, W) each
        for k in range(num_frames):
            start = max(0, k - span + 1)
            prefix = torch.stack(made[start:k], dim=2) if k > start else None
            noise = torch.randn((b, ch, span - (k - start), h, w), generator=generator)
            noise = noise.to(self.device)
            x = noise if prefix is None else torch.cat([prefix, noise], dim=2)
            x = self._denoise(x, cond, steps, guidance, generator, prefix, interval)
            made.append(x[:, :, k - start])
        return torch.stack(made, dim=2)  # (B, C, T, H, W)

    @torch.no_grad()
    def __call__(self, prompt: str | list[str], num_frames: int | None = None,
                 height: int | None = None, width: int | None = None,
                 num_inference_steps: int | None = None, guidance_scale: float | None = None,
                 seed: int | None = None, generator: torch.Generator | None = None,
                 output_type: Literal["np", "pt"] = "np",
                 guidance_interval: tuple[float, float] | None = None
                 ) -> np.ndarray | torch.Tensor:
        c = self.config
        num_frames = c.frames if num_frames is None else num_frames
        height = c.size if height is None else height
        width = c.size if width is None else width
        steps = c.num_inference_steps if num_inference_steps is None else num_inference_steps
        guidance = c.guidance_scale if guidance_scale is None else float(guidance_scale)
        _check_call(num_frames, height, width, steps, guidance, output_type, c)
        try:
            interval = check_guidance_interval(c.guidance_interval if guidance_interval is None
                                               else guidance_interval)
        except ConfigurationError as exc:
            raise InputError(str(exc)) from None
        cond = self.encode_prompt(prompt)  # (B, S)
        if generator is None:
            generator = torch.Generator("cpu").manual_seed(_checked_seed(seed))
        shape = (cond.shape[0], c.in_channels, num_frames, height, width)
        if c.sampling == "autoregressive":
            x = self._autoregressive(cond, shape, steps, guidance, generator, interval)
        else:
            x = torch.randn(shape, generator=generator).to(self.device)  # (B, C, T, H, W)
            x = self._denoise(x, cond, steps, guidance, generator, interval=interval)
        x = x.clamp(-1, 1)
        if output_type == "pt":
            return x if cond.shape[0] > 1 else x[0]
        frames = ((x.permute(0, 2, 3, 4, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
        return frames if cond.shape[0] > 1 else frames[0]  # (B?, T, H, W, 3)


def _checked_seed(seed: int | None) -> int:
    """``seed`` for torch's generator, which takes 0 to 2**64 - 1 (a larger one ended in an
    internal OverflowError; a negative one wrapped onto a large one, two seeds for one clip)."""
    if seed is None:
        return 0
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= int(seed) < 2**64:
        raise InputError(f"seed={seed!r} is invalid; allowed: an integer from 0 to 2**64 - 1")
    return int(seed)


def _check_call(frames: int, height: int, width: int, steps: int, guidance: float,
                output_type: str, c: UNetConfig) -> None:
    unit = c.patch * 2 ** (len(c.channels) - 1)
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, int) or value < unit or value % unit:
            raise InputError(f"{name}={value!r} must be a positive multiple of {unit}")
    if not isinstance(frames, int) or not 1 <= frames <= MAX_FRAMES:
        raise InputError(f"num_frames={frames!r} must be an integer in [1, {MAX_FRAMES}]")
    if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise InputError(f"num_inference_steps={steps!r} must be an integer in [1, {MAX_STEPS}]")
    if not 0.0 <= guidance <= MAX_GUIDANCE:
        raise InputError(f"guidance_scale={guidance!r} must lie in [0, {MAX_GUIDANCE:g}]")
    if output_type not in ("np", "pt"):
        raise InputError(f"output_type={output_type!r} is not one of: np, pt")


def save_model(model: UNet3D, directory: str | os.PathLike[str]) -> Path:
    """Write ``config.json`` + ``model.safetensors`` (fp32) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_NAME).write_text(json.dumps(asdict(model.config), indent=2) + "\n")
    state = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}
    write_whole(directory / WEIGHTS_NAME, lambda tmp: save_file(state, str(tmp)))
    return directory
