"""Training: rectified-flow matching on procedural scenes (plus optional user videos), with
classifier-free-guidance dropout, EMA, checkpoints and resume, seeds and a progress bar.

Output folder layout::

    OUT/config.json, OUT/model.safetensors   the EMA weights (what from_pretrained loads)
    OUT/checkpoint.pt                        model, EMA, optimiser, step, RNG states (resume)
    OUT/train_log.jsonl                      one line per logged step
    OUT/data_manifest.json                   user videos used/skipped, with reasons (if any)
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from provenant.errors import NotFoundError

from generator.config import TrainConfig, UNetConfig, from_dict
from generator.model import UNet3D
from generator.pipeline import WEIGHTS_NAME, pick_device, save_model
from generator.render import render_clips, to_model_range
from generator.schedulers import FlowScheduler
from generator.stream import ClipStream, ReplayPool

__all__ = ["train", "flow_matching_loss", "self_made_prefix"]


def flow_matching_loss(model: UNet3D, x0: torch.Tensor, cond: torch.Tensor,
                       generator: torch.Generator, p_prefix: float = 0.0,
                       prefix_noise: float = 0.0, prefix_self: float = 0.0) -> torch.Tensor:
    """MSE between predicted and true velocity at logit-normal ``t`` (SD3's weighting).

    With probability ``p_prefix`` a clip keeps a clean prefix: its first ``k`` frames
    (``k`` uniform in 1..T-1) get ``t = 0`` and are not scored, so the model learns to
    continue given frames, with the prompt deciding how things move. The prefix is
    corrupted with Gaussian noise of a standard deviation up to ``prefix_noise`` (uniform
    per clip): when sampling, the prefix is the model's own imperfect output, and a model
    that trusts it exactly lets errors grow from frame to frame.

    With probability ``prefix_self`` a prefixed clip's prefix is instead the model's own
    one-step estimate of it (:func:`self_made_prefix`): softer edges and shapes a little
    off, the kind of error its own frames carry when it samples. The frames after it are
    still scored against the true clip, so the model learns to restore the scene from an
    imperfect past instead of copying the imperfection forward."""
    b, _, frames = x0.shape[:3]
    dev = generator.device  # draw on the generator's device (CPU draws stay reproducible)
    t = torch.sigmoid(torch.randn(b, generator=generator, device=dev)).to(x0.device)  # (B,)
    noise = torch.randn(x0.shape, generator=generator, device=dev).to(x0.device)
    if p_prefix <= 0.0 or frames < 2:
        xt = FlowScheduler.add_noise(x0, noise, t)
        v = model(xt, t, cond)
        return (v.float() - FlowScheduler.velocity_target(x0, noise)).pow(2).mean()
    use = torch.rand(b, generator=generator, device=dev) < p_prefix
    k = torch.where(use, torch.randint(1, frames, (b,), generator=generator, device=dev),
                    0).to(x0.device)  # (B,)
    scored = torch.arange(frames, device=x0.device)[None] >= k[:, None]  # (B, T)
    tf = t[:, None] * scored  # (B, T): 0 on the clean prefix
    past = x0
    if prefix_self > 0:
        own = (torch.rand(b, generator=generator, device=dev) < prefix_self).to(x0.device) & (k > 0)
        if bool(own.any()):
            made = self_made_prefix(model, x0[own], cond[own], generator)
            past = x0.clone()
            past[own] = torch.where(scored[own][:, None, :, None, None], x0[own], made)
    xt = FlowScheduler.add_noise(past, noise, tf[:, None, :, None, None])
    if prefix_noise > 0:
        sigma = prefix_noise * torch.rand(b, generator=generator, device=dev).to(x0.device)
        jitter = torch.randn(x0.shape, generator=generator, device=dev).to(x0.device)
        xt = xt + jitter * (sigma[:, None] * ~scored)[:, None, :, None, None]
    v = model(xt, tf, cond)
    err = (v.float() - FlowScheduler.velocity_target(x0, noise)).pow(2).mean(dim=(1, 3, 4))
    return (err * scored).sum() / scored.sum()


def self_made_prefix(model: UNet3D, x0: torch.Tensor, cond: torch.Tensor,
                     generator: torch.Generator, levels: tuple[float, float] = (0.1, 0.4)
                     ) -> torch.Tensor:
    """The model's own one-step estimate of ``x0 (B, C, T, H, W)`` from the whole clip noised
    to one level in ``levels`` (uniform per clip), without gradients: ``x - t·v``."""
    b = x0.shape[0]
    dev = generator.device
    t = levels[0] + (levels[1] - levels[0]) * torch.rand(b, generator=generator, device=dev)
    t = t.to(x0.device)
    noise = torch.randn(x0.shape, generator=generator, device=dev).to(x0.device)
    xt = FlowScheduler.add_noise(x0, noise, t)
    with torch.no_grad():
        v = model(xt, t, cond)
    return (xt - t[:, None, None, None, None] * v).to(x0.dtype).clamp(-1, 1)


def _drop_condition(ids: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """CFG dropout: whole prompts to null with ``p_uncond``; single slots with ``p_slot_drop``."""
    ids = ids.copy()
    ids[rng.random(len(ids)) < cfg.p_uncond] = 0
    mask = (rng.random(ids.shape) < cfg.p_slot_drop) & (ids != 1)  # keep "absent" tokens
    ids[mask] = 0
    return ids


def _batch(cfg: TrainConfig, mcfg: UNetConfig, rng: np.random.Generator, user: Any | None,
           device: torch.device, pool: ReplayPool | None = None
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch on ``device``: clips ``(B, 3, T, H, W)`` in [-1, 1] and condition
    ids ``(B, S)``; procedural clips come from ``pool`` when there is one, else are rendered
    here."""
    n_user = int(round(cfg.batch_size * cfg.user_fraction)) if user is not None else 0
    n = cfg.batch_size - n_user
    if pool is not None:
        x, ids = pool.sample(n, rng)
    else:
        clips, ids, _ = render_clips(n, mcfg.frames, mcfg.size, rng, p_two=cfg.p_two_objects)
        x = torch.from_numpy(to_model_range(clips)).to(device)
    ids = _drop_condition(ids, cfg, rng)
    if n_user:
        ux = user.sample(n_user, rng)  # (n, 3, T, H, W), unconditional
        x = torch.cat([x, torch.from_numpy(ux).to(device)])
        ids = np.concatenate([ids, np.zeros((n_user, ids.shape[1]), ids.dtype)])
    return x, torch.from_numpy(ids).to(device)


def _fill(pool: ReplayPool, stream: ClipStream, need: int, chunks: int) -> None:
    """Move ready chunks from ``stream`` into ``pool`` (at most ``chunks`` without waiting),
    then wait for more while the pool holds fewer than ``need`` clips."""
    for _ in range(chunks):
        got = stream.get(block=False)
        if got is None:
            break
        pool.add(*got)
    while pool.filled < need:
        pool.add(*stream.get(block=True))


def _lr(step: int, cfg: TrainConfig, time_frac: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to 10% over the steps (or the time budget)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = max((step - cfg.warmup) / max(1, cfg.steps - cfg.warmup), time_frac)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))


def _save_checkpoint(out: Path, state: dict[str, Any]) -> None:
    tmp = out / "checkpoint.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, out / "checkpoint.pt")


def _restore(out: Path, model, ema, opt, gen: torch.Generator) -> tuple[int, np.random.Generator, float]:
    ck = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=False)
    model.load_state_dict(ck["model"])
    ema.load_state_dict(ck["ema"])
    opt.load_state_dict(ck["optimizer"])
    try:
        gen.set_state(ck["torch_rng"])
    except (RuntimeError, TypeError):  # saved on another device: the draws restart from there
        gen.manual_seed(int(ck["step"]))
    rng = np.random.default_rng()
    rng.bit_generator.state = ck["numpy_rng"]
    return int(ck["step"]), rng, float(ck.get("elapsed_s", 0.0))


def warm_start(model: UNet3D, weights_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Copy a trained model's weights (``weights_dir/model.safetensors``) into ``model``:
    every tensor whose name and shape match; the others keep their initialisation.

    When the new model's pixel-unshuffle ``patch`` is a multiple ``r`` of the old one (e.g.
    a 64×64 model with patch 8 from a 32×32 model with patch 4, so that both work on the
    same 8×8 grid), the stem and output convolutions are carried over too: the new model
    starts as the old one behind an ``r×r`` average-pool in and a nearest ``r×``
    upsampling out. Returns how many tensors were copied, mapped and left new."""
    from safetensors.torch import load_file

    path = Path(weights_dir) / WEIGHTS_NAME
    if not path.is_file():
        raise NotFoundError(f"no {WEIGHTS_NAME} in {weights_dir} to start from",
                            hint="point --init-from at a folder written by `provenant train generator`")
    old = load_file(str(path))
    old_patch = _source_patch(Path(weights_dir), model.config.patch)
    counts = {"copied": 0, "mapped": 0, "new": 0}
    with torch.no_grad():
        for name, param in model.state_dict().items():
            src = old.get(name)
            if src is not None and src.shape == param.shape:
                param.copy_(src)
                counts["copied"] += 1
            elif src is not None and (mapped := _map_patch(name, src, param, old_patch,
                                                            model.config)) is not None:
                param.copy_(mapped)
                counts["mapped"] += 1
            else:
                counts["new"] += 1
    return counts


def _source_patch(folder: Path, default: int) -> int:
    try:
        return int(json.loads((folder / "config.json").read_text()).get("patch", default))
    except (OSError, ValueError):
        return default


def _map_patch(name: str, src: torch.Tensor, param: torch.Tensor, old_patch: int,
               cfg: UNetConfig) -> torch.Tensor | None:
    """The stem/output tensors of a patch-``p`` model for a patch-``r·p`` one (or None).

    Unshuffled channels are ordered ``(channel, dy, dx)``; a new sub-pixel ``(dy, dx)``
    reads the old sub-pixel ``(dy // r, dx // r)``. A stem with extra input channels at the
    same patch (motion hints added) keeps the old weights and zeros for the new inputs."""
    p_new = cfg.patch
    if old_patch <= 0 or p_new % old_patch:
        return None
    r = p_new // old_patch
    dy, dx = np.meshgrid(np.arange(p_new), np.arange(p_new), indexing="ij")

    def index(channels: int) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(
            [ch * old_patch ** 2 + (dy // r) * old_patch + dx // r for ch in range(channels)]
        ).reshape(-1))

    if name == "stem.weight" and src.shape[1] < param.shape[1] and p_new == old_patch:
        out = torch.zeros_like(param)  # new input channels (motion hints) start switched off
        out[:, :src.shape[1]] = src
        return out
    if p_new == old_patch:
        return None
    if name == "stem.weight" and src.shape[1] % old_patch ** 2 == 0:
        out = src[:, index(src.shape[1] // old_patch ** 2)] / (r * r)
    elif name in ("out.weight", "out.bias") and src.shape[0] == cfg.in_channels * old_patch ** 2:
        out = src[index(cfg.in_channels)]
    else:
        return None
    return out if out.shape == param.shape else None


def train(out_dir: str | os.PathLike[str], model_config: UNetConfig = UNetConfig(),
          config: TrainConfig = TrainConfig(), *, data_dir: str | os.PathLike[str] | None = None,
          resume: bool = False, init_from: str | os.PathLike[str] | None = None,
          progress: bool = True) -> dict[str, Any]:
    """Train a generator into ``out_dir``; returns a summary (losses, steps, time, device).

    ``init_from``: start from another model's weights (see :func:`warm_start`) instead of a
    fresh initialisation; ignored when resuming from a checkpoint."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    if resume and (out / "config.json").is_file():
        model_config = from_dict(UNetConfig, json.loads((out / "config.json").read_text()))
    model = UNet3D(model_config)
    warm = warm_start(model, init_from) if init_from is not None and not (
        resume and (out / "checkpoint.pt").is_file()) else None
    model = model.to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    gen = torch.Generator(device).manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    start, elapsed0 = 0, 0.0
    if resume and (out / "checkpoint.pt").is_file():
        start, rng, elapsed0 = _restore(out, model, ema, opt, gen)
    user = None
    if data_dir is not None:
        from generator.data import UserVideoClips

        user = UserVideoClips(data_dir, frames=model_config.frames, size=model_config.size,
                              manifest_path=out / "data_manifest.json")
        if not len(user):
            user = None
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    use_bf16 = config.amp == "bf16" or (config.amp == "auto" and device.type == "cuda")
    amp = torch.autocast(device.type, torch.bfloat16, enabled=use_bf16)
    stream = pool = None
    if config.workers > 0:
        stream = ClipStream(config.workers, model_config.frames, model_config.size,
                            seed=config.seed + start, p_two=config.p_two_objects)
        pool = ReplayPool(config.pool_clips, model_config.frames, model_config.size,
                          len(model_config.slot_sizes), device)
    log = (out / "train_log.jsonl").open("a")
    losses: list[float] = []
    pending: list[torch.Tensor] = []
    params, ema_params = list(model.parameters()), list(ema.parameters())
    t0 = time.perf_counter()
    bar = tqdm(range(start, config.steps), initial=start, total=config.steps,
               desc="train generator", disable=not progress, dynamic_ncols=True)
    try:
        for step in bar:
            if pool is not None and stream is not None:
                _fill(pool, stream, need=min(config.pool_clips, 4 * config.batch_size),
                      chunks=config.workers)
            x, ids = _batch(config, model_config, rng, user, device, pool)
            spent = elapsed0 + time.perf_counter() - t0
            lr = _lr(step, config, spent / (60 * config.max_minutes) if config.max_minutes else 0.0)
            for g in opt.param_groups:
                g["lr"] = lr
            with amp:
                loss = flow_matching_loss(model, x, ids, gen, config.p_prefix, config.prefix_noise,
                                          config.prefix_self)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            decay = min(config.ema_decay, (1 + step) / (10 + step))
            with torch.no_grad():
                torch._foreach_lerp_(ema_params, params, 1 - decay)
            pending.append(loss.detach())
            if (step + 1) % 25 == 0 or step + 1 == config.steps:
                losses.extend(torch.stack(pending).float().cpu().tolist())  # one sync per 25
                pending.clear()
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
                if (step + 1) % 25 == 0:
                    log.write(json.dumps({"step": step + 1, "loss": float(np.mean(losses[-25:])),
                                          "lr": lr}) + "\n")
                    log.flush()
            out_of_time = config.max_minutes > 0 and \
                elapsed0 + time.perf_counter() - t0 > 60 * config.max_minutes
            if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps or out_of_time:
                elapsed = elapsed0 + time.perf_counter() - t0
                save_model(ema, out)
                _save_checkpoint(out, {
                    "model": model.state_dict(), "ema": ema.state_dict(),
                    "optimizer": opt.state_dict(), "step": step + 1,
                    "torch_rng": gen.get_state(), "numpy_rng": rng.bit_generator.state,
                    "train_config": asdict(config), "elapsed_s": elapsed,
                })
            if out_of_time:
                break
    finally:
        if stream is not None:
            stream.close()
    if pending:
        losses.extend(torch.stack(pending).float().cpu().tolist())
    log.close()
    save_model(ema, out)
    return {"steps": start + len(losses), "start_step": start, "device": str(device),
            "params": sum(p.numel() for p in model.parameters()),
            "first_loss": losses[0] if losses else None,
            "final_loss": float(np.mean(losses[-50:])) if losses else None,
            "train_seconds": elapsed0 + time.perf_counter() - t0, "out": str(out),
            "warm_start": warm, "workers": config.workers,
            "pool_clips_rendered": pool.added if pool is not None else None,
            "losses": losses}
