"""``provenant detect``, ``provenant train detector`` and ``provenant eval detector``.

Registered into the core CLI through the ``provenant.cli`` entry point. Exit codes are set by
the core: 0 done, 2 bad usage or input (one line), 1 internal failure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from provenant.cli import FILES_HELP, command_group

__all__ = ["register", "cmd_detect", "cmd_train", "cmd_eval"]


def register(subparsers: Any) -> None:
    from detector.config import DEFAULT_FAMILIES, DetectorConfig

    d = DetectorConfig()
    p = subparsers.add_parser("detect", help="score a file with the AI-video classifier")
    p.add_argument("file", nargs="+", help=FILES_HELP)
    p.add_argument("--weights", help="model folder (default: the shipped detector weights)")
    p.add_argument("--json", action="store_true", help="print a JSON result")
    p.set_defaults(handler=cmd_detect)

    t = command_group(subparsers, "train", "train a model").add_parser(
        "detector", help="train the AI-video detector (real footage vs synthetic families)")
    t.add_argument("--real", action="append", default=[], metavar="DIR",
                   help="folder of real videos, searched recursively (repeatable); each file "
                        "is one source; a file that cannot be read is skipped with a warning")
    t.add_argument("--no-samples", action="store_true", help="leave out the registry's sample footage")
    t.add_argument("--families", default=",".join(DEFAULT_FAMILIES),
                   help="synthetic families, comma-separated (default: %(default)s)")
    t.add_argument("--backbone", default=d.backbone, help="any timm model name (default: %(default)s)")
    t.add_argument("--pretrained-path", help="your own timm weights for the backbone (optional)")
    t.add_argument("--epochs", type=int, default=d.epochs)
    t.add_argument("--patch-size", type=int, default=d.patch_size)
    t.add_argument("--temporal-window", type=int, choices=[3, 5], default=d.temporal_window,
                   help="consecutive frames the network sees at once (default: %(default)s)")
    t.add_argument("--clips-per-photo", type=int, default=20)
    t.add_argument("--clips-per-video", type=int, default=48)
    t.add_argument("--patches-per-clip", type=int, default=16,
                   help="tubes (all of a clip's frames) cut from each encoded clip (default: %(default)s)")
    t.add_argument("--generator-every", type=int, default=3, metavar="N",
                   help="a generator twin for every N-th clip (each one is a sampling run)")
    t.add_argument("--min-twin-change", type=float, default=1.0, metavar="LEVELS",
                   help="drop twins whose frames all stay within LEVELS grey levels (mean absolute "
                        "difference) of the real clip; 0 keeps every twin (default: %(default)s)")
    t.add_argument("--test-fraction", type=float, default=0.3, help="share of source groups held out")
    t.add_argument("--calibration", choices=["platt", "isotonic"], default="platt")
    t.add_argument("--calibration-fraction", type=float, default=d.calibration_fraction,
                   help="share of the training source groups held out to fit the fusion, the "
                        "calibrator and the threshold (default: %(default)s)")
    t.add_argument("--target-fpr", type=float, default=0.01)
    t.add_argument("--face-mode", choices=["off", "on"], default="off")
    t.add_argument("--no-clip-statistics", action="store_true",
                   help="the network alone, without the fused clip statistics (parity, spectrum)")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--version", default=d.version, help="model version recorded in config.json "
                   "(default: %(default)s)")
    t.add_argument("--out", default="detector/weights", help="model folder (default: %(default)s)")
    t.add_argument("--cache", default=".cache/detector", help="feature cache folder")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.add_argument("--json", action="store_true")
    t.set_defaults(handler=cmd_train)

    e = command_group(subparsers, "eval", "evaluate a model").add_parser(
        "detector", help="evaluate the AI-video detector on held-out sources")
    e.add_argument("--weights", help="model folder (default: the shipped detector weights)")
    e.add_argument("--no-lofo", action="store_true", help="skip leave-one-family-out (it trains)")
    e.add_argument("--crf", type=int, default=28, help="re-encoding CRF for the robustness test")
    e.add_argument("--lofo-epochs", type=int, default=2,
                   help="epochs of each leave-one-family-out model (default: %(default)s)")
    e.add_argument("--cache", default=".cache/detector")
    e.add_argument("--quiet", action="store_true")
    e.add_argument("--json", action="store_true")
    e.set_defaults(handler=cmd_eval)


def cmd_detect(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from provenant.filelist import report_each
    from provenant.media import probe

    def one(path: Path) -> tuple[dict[str, Any], str]:
        probe(path)  # refuse bad input in a moment, before torch and the model load
        from detector.inference import detect_file

        ev = detect_file(path, args.weights)
        label = "likely AI-generated" if ev.score >= ev.threshold else "not flagged"
        text = (f"File: {path}\nClassifier: {ev.score:.3f} (threshold {ev.threshold:.3f}): "
                f"{label}\nModel: {ev.model}\nWindow scores: "
                + " ".join(f"{s:.2f}" for s in ev.frame_scores))
        return {"file": str(path), **asdict(ev)}, text

    return report_each(args.file, one, args.json)


def cmd_train(args: argparse.Namespace) -> int:
    from detector.config import DetectorConfig
    from detector.data import DataSpec
    from detector.training import train_detector

    families = tuple(f.strip() for f in args.families.split(",") if f.strip())
    config = DetectorConfig(backbone=args.backbone, pretrained=bool(args.pretrained_path),
                            pretrained_path=args.pretrained_path, epochs=args.epochs,
                            patch_size=args.patch_size, temporal_window=args.temporal_window,
                            calibration=args.calibration, target_fpr=args.target_fpr,
                            calibration_fraction=args.calibration_fraction,
                            face_mode=args.face_mode, device=args.device, seed=args.seed,
                            clip_statistics=not args.no_clip_statistics, version=args.version)
    spec = DataSpec(clips_per_photo=args.clips_per_photo, clips_per_video=args.clips_per_video,
                    patches_per_clip=args.patches_per_clip, families=families,
                    generator_every=args.generator_every, seed=args.seed,
                    min_twin_change=args.min_twin_change)
    t0 = time.time()
    _, result = train_detector(config, args.out, real_dirs=args.real, samples=not args.no_samples,
                               spec=spec, test_fraction=args.test_fraction,
                               cache=Path(args.cache), progress=not args.quiet)
    result["total_seconds"] = round(time.time() - t0, 1)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"Saved {result['out']} ({result['clips']} clips, {result['patches']} patches, "
              f"{result['total_seconds']} s); threshold {result['threshold']:.4f}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from detector.evaluation import evaluate, render_table

    report = evaluate(args.weights, lofo=not args.no_lofo, crf=args.crf, lofo_epochs=args.lofo_epochs,
                      cache=Path(args.cache), progress=not args.quiet)
    print(json.dumps(report, indent=2) if args.json else render_table(report))
    return 0
