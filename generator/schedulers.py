"""Samplers for the flow-matching (rectified-flow) denoiser, swappable through a registry.

Convention: ``x_t = (1 − σ) x₀ + σ ε`` with ``σ = t ∈ [0, 1]`` (σ = 1 is pure noise), and the
model predicts the velocity ``v = ε − x₀``, so ``dx/dσ = v``. The signal and noise scales are
``α = 1 − σ`` and ``σ``. Every scheduler has ``set_timesteps(n)`` and
``step(model_output, timestep, sample, generator=None)`` (diffusers' shape):

- ``euler``: the flow-matching Euler step ``x ← x + (σ_next − σ) v``.
- ``ddim``: DDIM through the predicted ``x₀`` and ``ε`` (``eta`` > 0 adds fresh noise; at
  ``eta = 0`` it coincides with Euler on this linear path).
- ``dpmpp_2m``: DPM-Solver++(2M), second-order multistep in data prediction over
  ``λ = log(α/σ)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from provenant.errors import ConfigurationError

__all__ = [
    "SchedulerOutput", "FlowScheduler", "FlowMatchEulerScheduler", "DDIMScheduler",
    "DPMSolverPlusPlus2MScheduler", "SCHEDULERS", "make_scheduler",
]


@dataclass
class SchedulerOutput:
    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class FlowScheduler:
    """Shared timestep grid and noising. ``shift`` > 1 spends more steps at high noise."""

    name = "base"

    def __init__(self, shift: float = 1.0) -> None:
        self.shift = shift
        self.sigmas = torch.tensor([1.0, 0.0])
        self.timesteps = self.sigmas[:-1]
        self._index = 0

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device = "cpu") -> None:
        if not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise ConfigurationError(
                f"num_inference_steps={num_inference_steps!r} must be an integer >= 1")
        s = torch.linspace(1.0, 0.0, num_inference_steps + 1, dtype=torch.float64)
        s = self.shift * s / (1 + (self.shift - 1) * s)
        self.sigmas = s.to(device)
        self.timesteps = self.sigmas[:-1].float()
        self._index = 0
        self.reset()

    def reset(self) -> None:
        """Forget multistep history (called by ``set_timesteps``)."""

    @staticmethod
    def add_noise(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x_t`` for a batch: ``t (B,)`` broadcast over the remaining dimensions, or ``t``
        already shaped to broadcast against ``x0`` (e.g. ``(B, 1, T, 1, 1)``, per frame)."""
        if t.dim() != x0.dim():
            t = t.reshape(-1, *([1] * (x0.dim() - 1)))
        t = t.to(x0.dtype)
        return (1 - t) * x0 + t * noise

    @staticmethod
    def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return noise - x0

    def _sigma_pair(self) -> tuple[float, float]:
        if self._index >= len(self.sigmas) - 1:
            raise RuntimeError("step() called more times than set_timesteps() allows")
        return float(self.sigmas[self._index]), float(self.sigmas[self._index + 1])

    def step(self, model_output: torch.Tensor, timestep: Any, sample: torch.Tensor,
             generator: torch.Generator | None = None) -> SchedulerOutput:
        s, s_next = self._sigma_pair()
        x0 = sample - s * model_output  # predicted clean sample
        prev = self._update(model_output.double(), sample.double(), x0.double(), s, s_next,
                            generator).to(sample.dtype)
        self._index += 1
        return SchedulerOutput(prev, x0)

    def _update(self, v, x, x0, s, s_next, generator):  # pragma: no cover - abstract
        raise NotImplementedError


class FlowMatchEulerScheduler(FlowScheduler):
    name = "euler"

    def _update(self, v, x, x0, s, s_next, generator):
        return x + (s_next - s) * v


class DDIMScheduler(FlowScheduler):
    name = "ddim"

    def __init__(self, shift: float = 1.0, eta: float = 0.0) -> None:
        super().__init__(shift)
        if not 0.0 <= eta <= 1.0:
            raise ConfigurationError(f"eta={eta!r} must lie in [0, 1]")
        self.eta = eta

    def _update(self, v, x, x0, s, s_next, generator):
        eps = x + (1 - s) * v  # predicted noise
        a, a_next = 1 - s, 1 - s_next
        c2 = 0.0
        if self.eta > 0 and s_next > 0:
            ratio = (a * s_next) / (a_next * s) if s > 0 else 0.0
            c2 = self.eta ** 2 * s_next ** 2 * max(0.0, 1 - ratio ** 2)
        out = a_next * x0 + math.sqrt(max(s_next ** 2 - c2, 0.0)) * eps
        if c2 > 0:
            z = torch.randn(x.shape, generator=generator, dtype=torch.float32,
                            device=generator.device if generator is not None else x.device)
            out = out + math.sqrt(c2) * z.to(x.device, x.dtype)
        return out


class DPMSolverPlusPlus2MScheduler(FlowScheduler):
    name = "dpmpp_2m"

    def reset(self) -> None:
        self._prev_x0: torch.Tensor | None = None
        self._prev_h: float | None = None

    @staticmethod
    def _lambda(s: float) -> float:
        if s <= 0:
            return math.inf
        if s >= 1:
            return -math.inf
        return math.log((1 - s) / s)

    def _update(self, v, x, x0, s, s_next, generator):
        if s_next <= 0:  # last step: the data prediction itself
            out = x0
            h = math.inf
        else:
            a_next = 1 - s_next
            h = self._lambda(s_next) - self._lambda(s)
            exp_neg_h = ((1 - s) * s_next) / (s * a_next)  # e^{−h}, finite at σ = 1
            d = x0
            if self._prev_x0 is not None and math.isfinite(h) and math.isfinite(self._prev_h or math.inf):
                r = self._prev_h / h
                d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * self._prev_x0
            out = (s_next / s) * x - a_next * (exp_neg_h - 1) * d
        self._prev_x0, self._prev_h = x0, h
        return out


SCHEDULERS: dict[str, type[FlowScheduler]] = {
    cls.name: cls for cls in (FlowMatchEulerScheduler, DDIMScheduler, DPMSolverPlusPlus2MScheduler)
}


def make_scheduler(name: str, **kwargs: Any) -> FlowScheduler:
    """The scheduler registered as ``name`` (``euler``, ``ddim``, ``dpmpp_2m``)."""
    if name not in SCHEDULERS:
        raise ConfigurationError(f"scheduler={name!r} is not one of: {', '.join(SCHEDULERS)}")
    return SCHEDULERS[name](**kwargs)
