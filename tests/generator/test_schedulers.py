"""Scheduler maths: every registered sampler, on velocity fields known in closed form."""

from __future__ import annotations

import math

import pytest
import torch

from generator.schedulers import SCHEDULERS, FlowScheduler, make_scheduler
from provenant.errors import ConfigurationError


def _sample(scheduler, velocity, x, steps):
    scheduler.set_timesteps(steps)
    for t in scheduler.timesteps:
        x = scheduler.step(velocity(x, float(t)), t, x).prev_sample
    return x


def gaussian_velocity(m: float, s: float):
    """Exact flow-matching velocity E[ε − x₀ | x_t] for data N(m, s²)."""
    def v(x, t):
        a = 1 - t
        var = a * a * s * s + t * t
        x0 = m + a * s * s / var * (x - a * m)
        return (x - x0) / max(t, 1e-12)
    return v


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_point_mass_is_reached_exactly(name):
    c = torch.tensor([0.3, -0.7], dtype=torch.float64)
    sched = make_scheduler(name)
    x = _sample(sched, lambda x, t: (x - c) / t, torch.randn(2, dtype=torch.float64), 5)
    assert torch.allclose(x, c, atol=1e-9)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_gaussian_transport_converges(name):
    # The ODE maps noise z to m + s·z exactly; samplers approach it as steps grow.
    m, s = 0.5, 0.3
    z = torch.linspace(-2, 2, 9, dtype=torch.float64)
    err = {n: (_sample(make_scheduler(name), gaussian_velocity(m, s), z.clone(), n)
               - (m + s * z)).abs().max().item() for n in (8, 128)}
    assert err[128] < 0.02 and err[128] < err[8]


def test_euler_is_first_order_on_linear_ode():
    # dx/dσ = k·x, integrated from σ = 1 to 0: x(0) = x(1)·e^{−k}.
    k, x1 = 0.8, torch.tensor([1.0], dtype=torch.float64)
    exact = x1 * math.exp(-k)
    errs = [(_sample(make_scheduler("euler"), lambda x, t: k * x, x1.clone(), n) - exact).abs().item()
            for n in (10, 20, 40)]
    assert 1.8 < errs[0] / errs[1] < 2.2 and 1.8 < errs[1] / errs[2] < 2.2


def test_dpmpp_beats_euler_with_few_steps():
    m, s = 0.5, 0.3
    z = torch.linspace(-2, 2, 9, dtype=torch.float64)
    e = {n: (_sample(make_scheduler(n), gaussian_velocity(m, s), z.clone(), 6) - (m + s * z)).abs().max()
         for n in ("euler", "dpmpp_2m")}
    assert e["dpmpp_2m"] < e["euler"]


def test_ddim_eta0_equals_euler_and_eta_adds_noise():
    v = gaussian_velocity(0.1, 0.5)
    z = torch.randn(16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = _sample(make_scheduler("ddim"), v, z.clone(), 7)
    b = _sample(make_scheduler("euler"), v, z.clone(), 7)
    assert torch.allclose(a, b, atol=1e-10)
    noisy = make_scheduler("ddim", eta=1.0)
    noisy.set_timesteps(4)
    x = z.clone()
    for t in noisy.timesteps:
        x = noisy.step(v(x, float(t)), t, x, generator=torch.Generator().manual_seed(1)).prev_sample
    assert torch.isfinite(x).all() and not torch.allclose(x, _sample(make_scheduler("euler"), v, z.clone(), 4))


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_set_timesteps(name):
    sched = make_scheduler(name)
    sched.set_timesteps(5)
    assert len(sched.timesteps) == 5 and sched.timesteps[0] == 1.0 and float(sched.sigmas[-1]) == 0.0
    assert (sched.timesteps[1:] < sched.timesteps[:-1]).all()
    with pytest.raises(ConfigurationError):
        sched.set_timesteps(0)


def test_registry_errors_and_noising():
    with pytest.raises(ConfigurationError, match="euler"):
        make_scheduler("nope")
    x0, eps = torch.zeros(2, 3), torch.ones(2, 3)
    xt = FlowScheduler.add_noise(x0, eps, torch.tensor([0.0, 1.0]))
    assert torch.equal(xt[0], x0[0]) and torch.equal(xt[1], eps[1])
