"""``provenant watermark embed|detect|audit|attack|keys``: registered into the core CLI via entry point.

Exit codes (set by the core CLI): 0 done, including "not detected"; 2 bad usage or input
(one line, no traceback); 1 internal failure.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from provenant.cli import FILES_HELP
from provenant.animwrite import ANIMATION_FORMATS
from provenant.errors import InputError
from provenant.filelist import report_each
from provenant.media import (IMAGE_KINDS, IMAGE_SUFFIXES, MP4_SUFFIXES, check_not_the_input,
                             check_output_suffix, probe)
from watermark.api import detect_file, embed_file
from watermark.config import (ALGORITHM, DEFAULT_KEY, RETIRED_KEYS_ENV, WatermarkConfig,
                              detection_keys, key_id, parse_payload, resolve_key)

__all__ = ["register", "cmd_embed", "cmd_detect", "cmd_audit", "cmd_attack", "cmd_keys"]

_STORE_HELP = ("also test the payloads issued in a manifest store (the configured one, or "
               "PATH): finds far weaker watermarks than a blind decode")
_KEY_HELP = ("secret key (default: $PROVENANT_WATERMARK_KEY, else the public default "
             "'provenant-default-key'; a deployment must set its own)")


def register(subparsers: Any) -> None:
    """Add the ``watermark`` command with ``embed`` and ``detect`` sub-commands."""
    p = subparsers.add_parser("watermark", help="embed or detect the invisible video watermark")
    sub = p.add_subparsers(dest="watermark_command", metavar="SUBCOMMAND", required=True)
    e = sub.add_parser("embed", help="watermark a video (H.264, audio kept; a 10-bit source as "
                                        "10-bit HEVC) or an image")
    e.add_argument("input", type=Path,
                   help="video (MP4/MOV/WebM/MKV/AVI, MPEG-TS/PS, MXF, FLV, WMV, animated "
                        "GIF/PNG/WebP/AVIF) or image (PNG/JPEG/WebP/HEIC/AVIF/TIFF, still GIF)")
    e.add_argument("-o", "--output", type=Path, required=True,
                   help="output file: .mp4, .mov or .mkv for a video; an image's kind "
                        "(.png, .jpg, .webp, .heic, .avif) for an image; for an animated GIF, "
                        "PNG, WebP or AVIF also .gif, .png, .webp or .avif (it stays an "
                        "animation)")
    e.add_argument("--payload", required=True, help="64-bit payload as 16 hex digits")
    e.add_argument("--key", default=None, help=_KEY_HELP)
    e.add_argument("--crf", type=int, default=18, help="encoder quality, lower is better (default 18)")
    e.add_argument("--json", action="store_true", help="print a JSON result")
    e.set_defaults(handler=cmd_embed)
    d = sub.add_parser("detect", help="test a file for the watermark")
    d.add_argument("file", nargs="+", help=FILES_HELP)
    _add_test_options(d, "false-positive rate per file (default 1e-6)", several_keys=True)
    d.set_defaults(handler=cmd_detect)
    _register_audit(sub)
    k = sub.add_parser("keys", help="the public names of the keys detection tests: the "
                                    "current one and the retired ones")
    k.add_argument("--key", action="append", default=None, help=SEVERAL_KEYS_HELP)
    k.add_argument("--json", action="store_true", help="print a JSON result")
    k.set_defaults(handler=cmd_keys)


#: ``--key`` of a command that detects: several keys may be tested.
SEVERAL_KEYS_HELP = (f"secret key; repeat it to test several, the current one first (default: "
                     f"$PROVENANT_WATERMARK_KEY, then the retired keys of ${RETIRED_KEYS_ENV}, "
                     f"comma-separated; each key tested costs a share of the false-positive "
                     f"rate)")


def _add_test_options(p: argparse.ArgumentParser, fpr_help: str,
                      several_keys: bool = False) -> None:
    """The options of a command that tests for the watermark: --key, --fpr, --store, --json."""
    if several_keys:
        p.add_argument("--key", action="append", default=None, help=SEVERAL_KEYS_HELP)
    else:
        p.add_argument("--key", default=None, help=_KEY_HELP)
    p.add_argument("--fpr", type=float, default=None, help=fpr_help)
    p.add_argument("--store", nargs="?", const="", default=None, metavar="PATH",
                   help=_STORE_HELP)
    p.add_argument("--json", action="store_true", help="print a JSON result")


def _config(args: argparse.Namespace) -> WatermarkConfig:
    return WatermarkConfig() if args.fpr is None else WatermarkConfig(fpr=args.fpr)


def _register_audit(sub: Any) -> None:
    from watermark.attacks import ATTACKS, IMAGE_ATTACKS

    names = (f"on a video: {', '.join(ATTACKS)}; on an image: "
             f"{', '.join(n for n in IMAGE_ATTACKS if n not in ATTACKS)} and the geometry, "
             "colour and noise attacks of the video suite")
    a = sub.add_parser("audit", help="apply the attack suite to a watermarked video or image "
                                     "and detect after each attack",
                       description="Re-encodes, resizes, crops, colour, noise and time attacks "
                                   f"on the first seconds of FILE (or on an image). Attacks "
                                   f"{names}.")
    a.add_argument("file", type=Path, help="a watermarked video or image")
    a.add_argument("--payload", default=None,
                   help="the payload FILE should carry (default: the one detected in it)")
    a.add_argument("--attacks", default=None, metavar="NAME,...",
                   help="comma-separated attack names (default: all)")
    a.add_argument("--seconds", type=float, default=10.0,
                   help="seconds of the video to read (default 10; fewer for large frames)")
    a.add_argument("--seed", type=int, default=0, help="seed of the attacks' random draws")
    _add_test_options(a, "false-positive rate per detection (default 1e-6)")
    a.set_defaults(handler=cmd_audit)
    t = sub.add_parser("attack", help="write a video or image with one named attack applied",
                       description=f"Attacks {names}.")
    t.add_argument("input", type=Path, help="a video or an image")
    t.add_argument("attack", help="the attack's name")
    t.add_argument("-o", "--output", type=Path, required=True,
                   help="output: H.264 video (lossless) for a video, PNG or WebP (lossless) for "
                        "an image, so it holds what the attack left")
    t.add_argument("--seconds", type=float, default=10.0,
                   help="seconds of the video to read (default 10)")
    t.add_argument("--seed", type=int, default=0, help="seed of the attack's random draw")
    t.add_argument("--json", action="store_true", help="print a JSON result")
    t.set_defaults(handler=cmd_attack)


def _check_output(src: Path, dst: Path) -> None:
    check_not_the_input(src, dst, "watermarking")
    info = probe(src)
    if info.kind == "image":  # by content, not by name
        check_output_suffix(dst, IMAGE_SUFFIXES, IMAGE_KINDS)
    elif info.animation:
        check_output_suffix(dst, MP4_SUFFIXES + (".mkv", *ANIMATION_FORMATS),
                            "an H.264 video or an animated GIF, PNG, WebP or AVIF")
    else:
        check_output_suffix(dst, MP4_SUFFIXES + (".mkv",), "an H.264 video")


def cmd_embed(args: argparse.Namespace) -> int:
    payload = parse_payload(args.payload)
    resolve_key(args.key)
    _check_output(args.input, args.output)
    start = time.perf_counter()
    out = embed_file(args.input, args.output, args.payload, args.key, crf=args.crf)
    facts = {"output": str(out), "payload": np.packbits(payload).tobytes().hex(),
             "algorithm": ALGORITHM, "seconds": round(time.perf_counter() - start, 3)}
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        print(f"watermarked {args.input} -> {out} (payload {facts['payload']})")
    return 0


def _store_candidates(store: str | None) -> Any:
    """The issued payloads of ``--store [PATH]`` (None without the option)."""
    if store is None:
        return None
    from provenant.store import open_store
    from watermark.evidence import store_candidates

    if store and not Path(store).is_file():  # a read: never create one
        raise InputError(f"there is no manifest store at {store}",
                         hint="give the path of an existing store, or --store alone "
                              "for the configured one")
    return store_candidates(open_store(store or None, read_only_ok=True))


def cmd_detect(args: argparse.Namespace) -> int:
    cfg = _config(args)
    candidates = _store_candidates(args.store)

    def one(path: Path) -> tuple[dict[str, Any], str]:
        result = detect_file(path, args.key, cfg, candidates)
        facts = {"file": str(path), "detected": result.detected, "payload": result.payload,
                 "p_value": result.p_value, "false_positive_rate": cfg.fpr,
                 "frames_used": result.frames_used, "algorithm": ALGORITHM,
                 "method": result.method, "candidates": result.candidates,
                 "blind_p_value": result.blind_p_value, "lookup_p_value": result.lookup_p_value,
                 "transform": result.transform, "key_id": result.key_id,
                 "key_retired": result.key_retired}
        frames = f"{result.frames_used} frame{'' if result.frames_used == 1 else 's'}"
        if result.detected:
            how = (f", matched among {result.candidates:,} issued payloads"
                   if result.method == "lookup" else "")
            how += f"; this copy had been {result.transform}" if result.transform else ""
            how += f"; with the retired key {result.key_id}" if result.key_retired else ""
            text = (f"{path}: watermark found: payload {result.payload} "
                    f"(p={result.p_value:.2e}, {frames}{how})")
        else:
            text = f"{path}: no watermark found (p={result.p_value:.2g}, {frames})"
        return facts, text

    return report_each(args.file, one, args.json)


def cmd_keys(args: argparse.Namespace) -> int:
    """List the keys detection tests, by their public names, never the keys themselves, with
    how many manifests in the configured store each one marked (None: no store to read)."""
    keys = detection_keys(args.key)
    marked = _marks_per_key()
    rows = [{"key_id": key_id(k), "role": "current" if i == 0 else "retired",
             "public_default": k == DEFAULT_KEY.encode(),
             "manifests_marked": None if marked is None else marked.get(key_id(k), 0)}
            for i, k in enumerate(keys)]
    if args.json:
        print(json.dumps({"keys": rows}, indent=2))
        return 0
    for row in rows:
        note = " (the public default key: anyone can read or forge its marks)" \
            if row["public_default"] else ""
        n = row["manifests_marked"]
        count = "" if n is None else f"; marked {n:,} manifest{'' if n == 1 else 's'} in the store"
        print(f"{row['key_id']}  {row['role']}{count}{note}")
    if marked:
        print("(`provenant store find --key-id ID` lists a key's manifests)")
    return 0


def _marks_per_key() -> dict[str, int] | None:
    """Manifests per watermark key id in the configured store; None where there is no store
    yet (none is made here) or it cannot be read (a notice says why)."""
    from provenant.config import get_settings
    from provenant.errors import StoreError, notice
    from provenant.store import open_store

    path = get_settings().store_path
    if not path.exists():
        return None
    try:
        return open_store(path, read_only_ok=True).count_by_watermark_key()
    except StoreError as exc:
        notice(f"{exc}; the keys are listed without their counts")
        return None


def cmd_audit(args: argparse.Namespace) -> int:
    from watermark.audit import audit_file, render_text

    cfg = _config(args)
    attacks = None if args.attacks is None else [
        n.strip() for n in args.attacks.split(",") if n.strip()]
    report = audit_file(args.file, args.key, payload=args.payload, attacks=attacks,
                        seed=args.seed, max_seconds=args.seconds, config=cfg,
                        candidates=_store_candidates(args.store))
    print(json.dumps(report.to_dict(), indent=2) if args.json else render_text(report))
    return 0


def cmd_attack(args: argparse.Namespace) -> int:
    from watermark.audit import attack_file

    check_not_the_input(args.input, args.output, "the attack")
    if probe(args.input).kind == "video":
        check_output_suffix(args.output, MP4_SUFFIXES + (".mkv",), "an H.264 video")
    start = time.perf_counter()
    out = attack_file(args.input, args.output, args.attack, seed=args.seed,
                      max_seconds=args.seconds)
    info = probe(out)
    facts = {"output": str(out), "attack": args.attack, "seed": args.seed,
             "frames": info.frame_count, "width": info.width, "height": info.height,
             "seconds": round(time.perf_counter() - start, 3)}
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        what = (f"{info.width}x{info.height} image" if info.kind == "image" else
                f"{info.frame_count} frames of {info.width}x{info.height}")
        print(f"{args.attack} applied to {args.input} -> {out} ({what})")
    return 0
