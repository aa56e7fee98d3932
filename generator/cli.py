"""``provenant generate``, ``provenant train generator`` and ``provenant eval generator``,
registered into the core CLI through the ``provenant.cli`` entry point. Thin: parse, call
the library, render."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register", "cmd_generate", "cmd_train", "cmd_eval"]


def register(subparsers: Any) -> None:
    from provenant.cli import command_group

    p = subparsers.add_parser("generate", help="generate a signed, watermarked clip from a prompt")
    p.add_argument("prompt", help="e.g. 'a red circle moving left on a blue background, "
                                  "camera panning right'")
    p.add_argument("-o", "--output", required=True, help="output MP4")
    p.add_argument("--frames", type=int, default=None, help="number of frames (default: model's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=None, help="sampling steps (default: model's)")
    p.add_argument("--guidance", type=float, default=None, help="CFG scale (default: model's)")
    p.add_argument("--scheduler", default=None, help="euler | ddim | dpmpp_2m")
    p.add_argument("--weights", default=None, help="weights folder (default: shipped)")
    p.add_argument("--json", action="store_true", help="print a JSON result")
    p.set_defaults(handler=cmd_generate)

    t = command_group(subparsers, "train", "train models").add_parser(
        "generator", help="train the text-to-video generator")
    t.add_argument("--out", required=True, help="output folder (weights, checkpoint, log)")
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--batch-size", type=int, default=12)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--ema-decay", type=float, default=0.995)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    t.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    t.add_argument("--max-minutes", type=float, default=0.0, help="time budget (0: none)")
    t.add_argument("--checkpoint-every", type=int, default=250)
    t.add_argument("--channels", default=None, help="U-Net widths, e.g. 48,96")
    t.add_argument("--frames", type=int, default=None)
    t.add_argument("--size", type=int, default=None)
    t.add_argument("--patch", type=int, default=None,
                   help="pixel-unshuffle factor of the stem (default 4); e.g. --size 64 --patch 8 "
                        "keeps the 32×32 model's 8×8 grid, so --init-from can start from it")
    t.add_argument("--version", default=None, help="model version recorded in config.json")
    t.add_argument("--sampling", default="joint", choices=("joint", "autoregressive"),
                   help="how the trained model samples: all frames at once, or frame by frame "
                        "after the frames already made (needs --p-prefix > 0)")
    t.add_argument("--motion-hints", action="store_true",
                   help="give the network the last clean frame moved as the prompt says "
                        "(with --sampling autoregressive; see generator/motion.py)")
    t.add_argument("--guidance-interval", type=_interval, default=(0.15, 1.0), metavar="LO,HI",
                   help="noise levels t in (LO, HI] where guidance acts, written into the "
                        "trained model's config.json as its sampling default (default 0.15,1, "
                        "as the shipped model; 0,1 guides at every step)")
    t.add_argument("--prefix-noise", type=float, default=0.1,
                   help="max std of the noise added to the clean prefix in training, so the "
                        "model learns to correct its own earlier frames (default 0.1)")
    t.add_argument("--prefix-self", type=float, default=0.0,
                   help="share of clean prefixes replaced by the model's own one-step estimate "
                        "of them, so that it learns to restore, not copy, its own errors "
                        "(0.6.0 was fine-tuned with 0.5; default 0)")
    t.add_argument("--p-prefix", type=float, default=None,
                   help="share of training clips given a clean prefix of frames "
                        "(default: 0.75 with --sampling autoregressive, else 0)")
    t.add_argument("--data-dir", default=None, help="folder of your own videos (C2PA "
                   "do-not-train files are skipped); used unconditionally")
    t.add_argument("--user-fraction", type=float, default=0.25,
                   help="share of each batch from --data-dir")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--init-from", default=None, metavar="DIR",
                   help="fine-tune: start from the weights in DIR (e.g. generator/weights) "
                        "instead of a fresh initialisation")
    t.add_argument("--amp", default="auto", choices=("auto", "bf16", "off"),
                   help="auto: bf16 autocast on CUDA, fp32 on CPU")
    t.add_argument("--workers", type=int, default=0,
                   help="background processes rendering training clips into a replay pool "
                        "(0: render in the training loop, reproducible; a GPU needs several)")
    t.add_argument("--pool-clips", type=int, default=20000,
                   help="clips the replay pool keeps with --workers (64×64×8 frames: 98 KB each)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(handler=cmd_train)

    e = command_group(subparsers, "eval", "evaluate models").add_parser(
        "generator", help="prompt adherence, Fréchet distance, flicker, sampling time")
    e.add_argument("--weights", default=None, help="weights folder (default: shipped)")
    e.add_argument("--prompts", type=int, default=120, help="number of random prompts")
    e.add_argument("--steps", type=int, default=None)
    e.add_argument("--guidance", type=float, default=None)
    e.add_argument("--guidance-interval", type=_interval, default=None, metavar="LO,HI",
                   help="noise levels (lo, hi] where guidance acts (default: model's)")
    e.add_argument("--scheduler", default=None)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--judges", type=int, default=3,
                   help="judge classifiers (seeds SEED, SEED+1, ...) whose mean probabilities "
                        "decide each attribute (default: %(default)s)")
    e.add_argument("--judge-seed", type=int, default=None,
                   help="seed of the first judge (default: --seed); fix it to compare prompt "
                        "sets under the same judges")
    e.add_argument("--no-judge-cache", action="store_true",
                   help="train the judges afresh instead of reusing .cache/generator/judges")
    e.add_argument("--classifier-steps", type=int, default=600)
    e.add_argument("--json", action="store_true")
    e.set_defaults(handler=cmd_eval)


def _interval(text: str) -> tuple[float, float]:
    """``"0.15,1"`` → ``(0.15, 1.0)``, checked (an argparse type)."""
    from generator.config import check_guidance_interval
    from provenant.errors import ConfigurationError

    try:
        return check_guidance_interval(text.split(","))
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _model_config(args: argparse.Namespace):
    from dataclasses import replace

    from generator.config import UNetConfig

    cfg = UNetConfig()
    if args.channels:
        cfg = replace(cfg, channels=tuple(int(c) for c in args.channels.split(",")))
    if args.frames:
        cfg = replace(cfg, frames=args.frames)
    if args.size:
        cfg = replace(cfg, size=args.size)
    if args.patch:
        cfg = replace(cfg, patch=args.patch)
    if args.version:
        cfg = replace(cfg, version=args.version)
    return replace(cfg, sampling=args.sampling, motion_hints=bool(args.motion_hints),
                   guidance_interval=tuple(args.guidance_interval))


def _p_prefix(args: argparse.Namespace) -> float:
    from provenant.errors import ConfigurationError

    p = args.p_prefix if args.p_prefix is not None else (
        0.75 if args.sampling == "autoregressive" else 0.0)
    if not 0.0 <= p <= 1.0:
        raise ConfigurationError(f"--p-prefix={p} must lie in [0, 1]")
    if not 0.0 <= args.prefix_noise <= 1.0:
        raise ConfigurationError(f"--prefix-noise={args.prefix_noise} must lie in [0, 1]")
    if not 0.0 <= getattr(args, "prefix_self", 0.0) <= 1.0:
        raise ConfigurationError(f"--prefix-self={args.prefix_self} must lie in [0, 1]")
    if not 0.0 <= getattr(args, "user_fraction", 0.0) <= 1.0:  # with or without --data-dir
        raise ConfigurationError(f"--user-fraction={args.user_fraction} must lie in [0, 1]")
    if args.sampling == "autoregressive" and p == 0.0:
        raise ConfigurationError("--sampling autoregressive needs --p-prefix > 0: the model "
                                 "must learn to continue from clean frames")
    return p


def cmd_train(args: argparse.Namespace) -> int:
    from generator.config import TrainConfig
    from generator.training import train

    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                      ema_decay=args.ema_decay, seed=args.seed, device=args.device,
                      threads=args.threads, max_minutes=args.max_minutes,
                      checkpoint_every=args.checkpoint_every, amp=args.amp,
                      user_fraction=args.user_fraction if args.data_dir else 0.0,
                      p_prefix=_p_prefix(args), prefix_noise=args.prefix_noise,
                      prefix_self=args.prefix_self,
                      workers=args.workers, pool_clips=args.pool_clips)
    summary = train(args.out, _model_config(args), cfg, data_dir=args.data_dir,
                    resume=args.resume, init_from=args.init_from, progress=not args.json)
    summary.pop("losses", None)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from generator.generate import generate_clip

    result = generate_clip(args.prompt, args.output, num_frames=args.frames, seed=args.seed,
                           steps=args.steps, guidance=args.guidance, scheduler=args.scheduler,
                           weights=args.weights)
    info = {"output": str(result.path), "manifest_id": result.manifest_id,
            "signer": result.signer, "source_type": result.source_type,
            "soft_bindings": [{"alg": a, "value": v} for a, v in result.soft_bindings]}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"Generated {info['output']}\n  manifest {info['manifest_id']}\n  signer   {info['signer']}")
        for b in info["soft_bindings"]:
            print(f"  watermark {b['alg']} = {b['value']}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from generator.evaluation import JUDGE_CACHE, evaluate, render_text

    report = evaluate(weights=args.weights, num_prompts=args.prompts, steps=args.steps,
                      guidance=args.guidance, scheduler=args.scheduler, seed=args.seed,
                      guidance_interval=args.guidance_interval, judges=args.judges,
                      classifier_steps=args.classifier_steps,
                      progress=not args.json, judge_seed=args.judge_seed,
                      judge_cache=None if args.no_judge_cache else JUDGE_CACHE)
    print(json.dumps(report, indent=2) if args.json else render_text(report))
    return 0
