"""Evaluation with no pretrained networks: small 3D-CNN judges trained here on procedural
ground truth measure prompt adherence (per-attribute accuracy on generated clips) and give
the feature space of a Fréchet distance, reported beside the real-vs-real baseline (two
independent procedural renderings of the same prompts). Also temporal flicker against the
procedural clips, whether the object keeps its size and stays one piece
(:mod:`generator.consistency`, the defect that distance is most sensitive to), and sampling
time.

Judges trained from different seeds agree on procedural clips (held-out accuracy 99-100 % on
shape) but not on generated ones, which lie off their training distribution: on the same 120
generated clips of generator 0.4.0, three judges scored shape 89.2 / 87.5 / 86.7 % and
direction 92.5 / 88.3 / 84.2 %. So the figures come from an ensemble of ``judges``
classifiers (seeds ``seed``, ``seed + 1``, ...): accuracy is that of their mean class
probabilities, each judge's own accuracy is reported beside it, and the Fréchet distances are
the mean over the judges' feature spaces. A judge depends only on its training arguments, so
trained judges are kept under ``.cache/generator/judges`` (:func:`cached_classifier`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import linalg
from torch import nn
from tqdm import tqdm

from provenant.errors import ConfigurationError
from provenant.tempnames import write_whole

from generator.consistency import object_consistency
from generator.grammar import (
    BACKGROUNDS, CAMERAS, COLOURS, DIRECTIONS, SHAPES, SPEEDS, Scene, SceneObject, describe,
    random_scene,
)
from generator.render import render_scene

__all__ = ["ATTRIBUTES", "SceneClassifier", "train_classifier", "scene_labels", "frechet_distance",
           "flicker", "predict", "predict_proba", "evaluate", "render_text", "cached_classifier",
           "JUDGE_CACHE", "interval_text"]

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "colour": COLOURS, "shape": SHAPES, "direction": DIRECTIONS, "speed": SPEEDS,
    "background": BACKGROUNDS, "camera": CAMERAS,
}


def scene_labels(scene: Scene) -> dict[str, int]:
    """Class index per attribute of a one-object, fully specified scene."""
    o = scene.objects[0]
    values = {"colour": o.colour, "shape": o.shape, "direction": o.direction, "speed": o.speed,
              "background": scene.background, "camera": scene.camera}
    return {k: ATTRIBUTES[k].index(v) for k, v in values.items()}


def scene_from_labels(labels: dict[str, int]) -> Scene:
    """The one-object scene whose class index per attribute is ``labels`` (inverse of
    :func:`scene_labels`)."""
    v = {k: ATTRIBUTES[k][int(i)] for k, i in labels.items()}
    return Scene((SceneObject(v["shape"], v["colour"], v["direction"], v["speed"]),),
                 v["background"], v["camera"])


class SceneClassifier(nn.Module):
    """A tiny 3D-CNN: ``(B, 3, T, H, W)`` in [-1, 1] → features ``(B, 64)`` and one head per
    attribute. The input is stacked with its temporal difference (motion), and the last
    feature maps are pooled by both mean and max (a small moving object is local)."""

    def __init__(self, width: int = 16, features: int = 64) -> None:
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv3d(6, w, 3, stride=(1, 2, 2), padding=1), nn.GroupNorm(4, w), nn.SiLU(),
            nn.Conv3d(w, 2 * w, 3, stride=(1, 2, 2), padding=1), nn.GroupNorm(4, 2 * w), nn.SiLU(),
            nn.Conv3d(2 * w, 4 * w, 3, stride=(2, 1, 1), padding=1), nn.GroupNorm(4, 4 * w), nn.SiLU(),
        )
        self.proj = nn.Sequential(nn.Linear(8 * w, features), nn.SiLU())
        self.heads = nn.ModuleDict({k: nn.Linear(features, len(v)) for k, v in ATTRIBUTES.items()})

    def features(self, x: torch.Tensor) -> torch.Tensor:
        diff = torch.cat([x[:, :, 1:] - x[:, :, :-1], torch.zeros_like(x[:, :, :1])], dim=2)
        h = self.body(torch.cat([x, diff], dim=1))  # (B, 4w, T/2, H/4, W/4)
        pooled = torch.cat([h.mean(dim=(2, 3, 4)), h.amax(dim=(2, 3, 4))], dim=1)  # (B, 8w)
        return self.proj(pooled)  # (B, features)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f = self.features(x)
        return {k: head(f) for k, head in self.heads.items()}


def _to_tensor(clips: np.ndarray) -> torch.Tensor:
    """``(B, T, H, W, 3)`` uint8 → ``(B, 3, T, H, W)`` float in [-1, 1]."""
    return torch.from_numpy(clips).permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0


def _procedural_set(n: int, frames: int, size: int, rng: np.random.Generator
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    scenes = [random_scene(rng, max_objects=1) for _ in range(n)]
    clips = np.stack([render_scene(s, frames, size, rng) for s in scenes])
    labels = [scene_labels(s) for s in scenes]
    return clips, {k: np.asarray([l[k] for l in labels]) for k in ATTRIBUTES}


def train_classifier(*, frames: int = 8, size: int = 32, steps: int = 600, batch: int = 32,
                     train_clips: int = 3000, seed: int = 0, progress: bool = False
                     ) -> tuple[SceneClassifier, dict[str, float]]:
    """Train the evaluation classifier on procedural clips; returns it and held-out accuracy."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed + 1000)
    clips, labels = _procedural_set(train_clips, frames, size, rng)
    test_clips, test_labels = _procedural_set(max(50, min(400, train_clips // 4)), frames, size, rng)
    model = SceneClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss()
    for _ in tqdm(range(steps), desc="eval classifier", disable=not progress):
        idx = rng.integers(0, len(clips), batch)
        x = _to_tensor(clips[idx])
        x = x + 0.03 * torch.randn_like(x)  # a little noise: generated clips are not exact
        out = model(x)
        loss = sum(loss_fn(out[k], torch.from_numpy(labels[k][idx])) for k in ATTRIBUTES)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    preds = predict(model, test_clips)
    acc = {k: float(np.mean(preds[k] == test_labels[k])) for k in ATTRIBUTES}
    return model, acc


JUDGE_CACHE = Path(".cache/generator/judges")
_JUDGE_FORMAT = 1  # bump when SceneClassifier or train_classifier changes


def cached_classifier(*, frames: int, size: int, steps: int, train_clips: int, seed: int,
                      cache: Path | None = JUDGE_CACHE, progress: bool = False
                      ) -> tuple[SceneClassifier, dict[str, float]]:
    """:func:`train_classifier`, kept under ``cache`` (a judge is a pure function of these
    arguments, and training one takes about three minutes on two CPU cores); ``cache=None``
    always trains. An unreadable cache entry is retrained and overwritten."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, save_file

    if cache is None:
        return train_classifier(frames=frames, size=size, steps=steps,
                                train_clips=train_clips, seed=seed, progress=progress)
    stem = f"judge-v{_JUDGE_FORMAT}-f{frames}-s{size}-n{steps}-c{train_clips}-seed{seed}"
    weights, meta = Path(cache) / f"{stem}.safetensors", Path(cache) / f"{stem}.json"
    if weights.is_file() and meta.is_file():
        try:
            model = SceneClassifier()
            model.load_state_dict(load_file(str(weights)))
            return model.eval(), {k: float(v) for k, v in json.loads(meta.read_text()).items()}
        except (OSError, ValueError, RuntimeError, KeyError, SafetensorError):
            pass  # damaged: train again
    model, acc = train_classifier(frames=frames, size=size, steps=steps,
                                  train_clips=train_clips, seed=seed, progress=progress)
    weights.parent.mkdir(parents=True, exist_ok=True)
    write_whole(weights, lambda tmp: save_file(model.state_dict(), str(tmp)))
    meta.write_text(json.dumps(acc))
    return model, acc


@torch.no_grad()
def predict_proba(model: SceneClassifier, clips: np.ndarray) -> dict[str, np.ndarray]:
    """Class probabilities per attribute, ``(N, classes)`` each."""
    outs: dict[str, list[np.ndarray]] = {k: [] for k in ATTRIBUTES}
    for i in range(0, len(clips), 64):
        out = model(_to_tensor(clips[i:i + 64]))
        for k in ATTRIBUTES:
            outs[k].append(torch.softmax(out[k], dim=-1).numpy())
    return {k: np.concatenate(v) for k, v in outs.items()}


def predict(model: SceneClassifier, clips: np.ndarray) -> dict[str, np.ndarray]:
    """The most probable class per attribute, ``(N,)`` each."""
    return {k: v.argmax(-1) for k, v in predict_proba(model, clips).items()}


def _ensemble(probs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Argmax of the judges' mean class probabilities (``predict_proba`` of each), per attribute."""
    return {k: np.mean([p[k] for p in probs], axis=0).argmax(-1) for k in ATTRIBUTES}


def _accuracy(pred: dict[str, np.ndarray], truth: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(np.mean(pred[k] == truth[k])) for k in ATTRIBUTES}


@torch.no_grad()
def features(model: SceneClassifier, clips: np.ndarray) -> np.ndarray:
    return np.concatenate([model.features(_to_tensor(clips[i:i + 64])).numpy()
                           for i in range(0, len(clips), 64)])


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` and ``b`` ``(N, D)``."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        eps = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def flicker(clips: np.ndarray) -> dict[str, float]:
    """Temporal change per clip, averaged: mean |x(t+1) − x(t)| and the second difference
    mean |x(t+1) − 2x(t) + x(t−1)| (flicker), on the 0–255 scale."""
    x = clips.astype(np.float32)  # (B, T, H, W, 3)
    d1 = np.abs(np.diff(x, axis=1)).mean()
    d2 = np.abs(x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]).mean() if x.shape[1] > 2 else 0.0
    return {"mean_abs_diff": float(d1), "second_diff": float(d2)}


def _generate(pipe, prompts: list[str], *, steps: int | None, guidance: float | None,
              interval: tuple[float, float] | None, seed: int, batch: int, progress: bool
              ) -> tuple[np.ndarray, float]:
    """Generated clips ``(N, T, H, W, 3)`` for ``prompts`` and the seconds it took."""
    out, t0 = [], time.perf_counter()
    for i in tqdm(range(0, len(prompts), batch), desc="generate", disable=not progress):
        frames = pipe(prompts[i:i + batch], num_inference_steps=steps, guidance_scale=guidance,
                      guidance_interval=interval, seed=seed + i)
        out.append(frames if frames.ndim == 5 else frames[None])
    return np.concatenate(out), time.perf_counter() - t0


def _latency(pipe, prompt: str, steps: int | None, guidance: float | None,
             interval: tuple[float, float] | None, runs: int = 3) -> float:
    times = []
    for r in range(runs):
        t0 = time.perf_counter()
        pipe(prompt, num_inference_steps=steps, guidance_scale=guidance,
             guidance_interval=interval, seed=r)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def evaluate(*, weights: str | None = None, num_prompts: int = 120, steps: int | None = None,
             guidance: float | None = None, scheduler: str | None = None, seed: int = 0,
             guidance_interval: tuple[float, float] | None = None, judges: int = 3,
             classifier_steps: int = 600, classifier_clips: int = 3000,
             batch: int = 24, progress: bool = True, pipeline: Any = None,
             judge_cache: Path | None = JUDGE_CACHE, judge_seed: int | None = None
             ) -> dict[str, Any]:
    """Prompt adherence, Fréchet distance (vs the real-vs-real baseline), flicker and
    sampling time of the generator over ``num_prompts`` random one-object prompts (sampled
    with the model's defaults unless ``steps``, ``guidance``, ``guidance_interval`` or
    ``scheduler`` are given), judged by
    an ensemble of ``judges`` classifiers (trained once and kept under ``judge_cache``;
    ``None`` trains them afresh). The judges' seeds are ``judge_seed``, ``judge_seed + 1``, ...
    (default: ``seed``); fixing ``judge_seed`` compares prompt sets under the same judges."""
    from generator.pipeline import TextToVideoPipeline

    if judges < 1:
        raise ConfigurationError(f"judges={judges} is invalid; allowed: an integer >= 1")
    if num_prompts < 1:  # checked before the judges train (minutes)
        raise ConfigurationError(f"num_prompts={num_prompts} is invalid; allowed: an integer >= 1")
    for name, value in (("seed", seed), ("judge_seed", judge_seed)):
        if value is not None and not 0 <= value < 2**32:
            raise ConfigurationError(f"{name}={value} is invalid; allowed: an integer from 0 to "
                                     "2**32 - 1")
    pipe = pipeline or TextToVideoPipeline.from_pretrained(weights, scheduler=scheduler)
    c = pipe.config
    t0 = time.perf_counter()
    trained = [cached_classifier(frames=c.frames, size=c.size, steps=classifier_steps,
                                 train_clips=classifier_clips,
                                 seed=(seed if judge_seed is None else judge_seed) + j,
                                 cache=judge_cache, progress=progress)
               for j in range(judges)]
    models = [m for m, _ in trained]
    clf_seconds = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng, max_objects=1) for _ in range(num_prompts)]
    prompts = [describe(s) for s in scenes]
    gen, gen_seconds = _generate(pipe, prompts, steps=steps, guidance=guidance,
                                 interval=guidance_interval, seed=seed, batch=batch,
                                 progress=progress)
    rng_a, rng_b = np.random.default_rng(seed + 1), np.random.default_rng(seed + 2)
    real_a = np.stack([render_scene(s, c.frames, c.size, rng_a) for s in scenes])
    real_b = np.stack([render_scene(s, c.frames, c.size, rng_b) for s in scenes])
    labels = [scene_labels(s) for s in scenes]
    truth = {k: np.asarray([l[k] for l in labels]) for k in ATTRIBUTES}
    probs = [predict_proba(m, gen) for m in models]
    seen = _ensemble(probs)
    accuracy = _accuracy(seen, truth)
    # Procedural clips of what the judges saw in each generated clip: their distance to
    # real_a is the part of the Fréchet distance that wrong attributes alone explain. They
    # are drawn with real_b's seed: had the judges seen every attribute of every clip right,
    # they would be real_b's clips (ratio 1).
    rng_s = np.random.default_rng(seed + 2)
    as_seen = np.stack([render_scene(scene_from_labels({k: seen[k][i] for k in ATTRIBUTES}),
                                     c.frames, c.size, rng_s) for i in range(num_prompts)])
    per_judge = [_accuracy(_ensemble([p]), truth) for p in probs]
    fds, fd_seen = [], []
    for m in models:
        f_gen, f_a, f_b = features(m, gen), features(m, real_a), features(m, real_b)
        fds.append((frechet_distance(f_gen, f_a), frechet_distance(f_b, f_a)))
        fd_seen.append(frechet_distance(features(m, as_seen), f_a))
    fd, fd_base = float(np.mean([a for a, _ in fds])), float(np.mean([b for _, b in fds]))
    used_steps = steps or c.num_inference_steps
    latency = _latency(pipe, prompts[0], steps, guidance, guidance_interval)
    report = {
        "model": {"name": c.name, "version": c.version, "sha256": pipe.weights_sha256,
                  "params": sum(p.numel() for p in pipe.model.parameters())},
        "settings": {"prompts": num_prompts, "steps": used_steps, "scheduler": pipe.scheduler.name,
                     "guidance": c.guidance_scale if guidance is None else guidance,
                     "guidance_interval": list(c.guidance_interval if guidance_interval is None
                                               else guidance_interval),
                     "seed": seed, "judges": judges,
                     "judge_seed": seed if judge_seed is None else judge_seed, "frames": c.frames, "size": c.size,
                     "device": str(pipe.device)},
        "attribute_accuracy": accuracy,
        "attribute_accuracy_per_judge": per_judge,
        "classifier_accuracy_on_procedural": _accuracy(
            _ensemble([predict_proba(m, real_a) for m in models]), truth),
        "classifier_heldout_accuracy": {k: float(np.mean([a[k] for _, a in trained]))
                                        for k in ATTRIBUTES},
        "frechet_distance": {"generated_vs_real": fd, "real_vs_real_baseline": fd_base,
                             "ratio": fd / fd_base if fd_base > 0 else float("inf"),
                             "ratio_per_judge": [a / b if b > 0 else float("inf") for a, b in fds],
                             "attribute_errors_only": float(np.mean(fd_seen)),
                             "attribute_errors_only_ratio": (float(np.mean(fd_seen)) / fd_base
                                                             if fd_base > 0 else float("inf"))},
        "flicker": {"generated": flicker(gen), "real": flicker(real_a)},
        "object_consistency": {"generated": object_consistency(gen, scenes),
                               "real": object_consistency(real_a, scenes)},
        "timing": {"seconds_per_clip_batch1": latency,
                   "seconds_per_clip_batched": gen_seconds / num_prompts,
                   "classifier_train_seconds": clf_seconds,
                   "classifiers_cached": judge_cache is not None},
    }
    report["criteria"] = {
        **{f"{k}_accuracy>=0.9": accuracy[k] >= 0.9 for k in ("colour", "shape", "direction")},
        "frechet_within_2x_baseline": report["frechet_distance"]["ratio"] <= 2.0,
    }
    return report


def interval_text(settings: dict[str, Any]) -> str:
    """How a report names the guidance interval in its ``settings``: nothing for the full
    range (also for reports from before intervals existed, which were sampled that way)."""
    lo, hi = settings.get("guidance_interval", [0.0, 1.0])
    return "" if (lo, hi) == (0.0, 1.0) else f" for noise levels t in ({lo:g}, {hi:g}]"


def _consistency_lines(oc: dict[str, Any] | None) -> list[str]:
    if not oc:  # reports from before the measurement existed
        return []
    g, r = oc["generated"], oc["real"]
    return [f"Object (generated vs procedural): size change per frame {g['area_jitter']:.1%} vs "
            f"{r['area_jitter']:.1%}, drift over the clip {g['area_drift']:.1%} vs "
            f"{r['area_drift']:.1%}, frames not one blob {g['not_one_blob']:.1%} vs "
            f"{r['not_one_blob']:.1%}, area {g['area_px']:.0f} vs {r['area_px']:.0f} px"]


def render_text(report: dict[str, Any]) -> str:
    s, fd, fl = report["settings"], report["frechet_distance"], report["flicker"]
    lines = [f"Generator {report['model']['name']} {report['model']['version']} "
             f"({report['model']['params']:,} parameters); {s['prompts']} prompts, "
             f"{s['steps']} {s['scheduler']} steps, guidance {s['guidance']}"
             + interval_text(s),
             f"Attribute accuracy, {s.get('judges', 1)} judges (generated | each judge | "
             "procedural reference):"]
    per_judge = report.get("attribute_accuracy_per_judge", [])
    for k, v in report["attribute_accuracy"].items():
        each = " ".join(f"{a[k]:.1%}" for a in per_judge)
        lines.append(f"  {k:<11} {v:6.1%} | {each} | "
                     f"{report['classifier_accuracy_on_procedural'][k]:6.1%}")
    lines += [f"Fréchet distance {fd['generated_vs_real']:.3f} vs real-vs-real "
              f"{fd['real_vs_real_baseline']:.3f} (ratio {fd['ratio']:.2f})",
              *([f"  procedural clips of the attributes the judges saw: ratio "
                 f"{fd['attribute_errors_only_ratio']:.2f} (what wrong attributes alone cost)"]
                if "attribute_errors_only_ratio" in fd else []),
              f"Flicker (2nd temporal difference) generated {fl['generated']['second_diff']:.2f}"
              f" vs real {fl['real']['second_diff']:.2f}",
              *_consistency_lines(report.get("object_consistency")),
              f"Sampling {report['timing']['seconds_per_clip_batch1']:.2f} s/clip (batch 1), "
              f"{report['timing']['seconds_per_clip_batched']:.2f} s/clip (batched)"]
    lines += [f"  [{'ok' if ok else 'NO'}] {name}" for name, ok in report["criteria"].items()]
    return "\n".join(lines)
