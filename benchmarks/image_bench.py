"""Robustness, quality and speed of the watermark on still images, beside the peers.

The video benchmark (``watermark_bench.py``) measures clips; platforms and newsrooms also
handle photos, and invisible-watermark's dwtDctSvd and rivaGan are image watermarks first.
Pipeline per image and method: embed on the 8-bit RGB picture -> deliver losslessly (PNG)
-> each attack of ``watermark.attacks.IMAGE_ATTACKS`` (JPEG and WebP re-encodes in place of
the video codecs, the same geometry, colour and noise attacks) -> detect. Ours: the exact
64-bit payload, blind, at p <= 1e-6; peers: all 32 bits. The same attacks on the unmarked
images, and on the marked ones read with a wrong key, count false detections.

    python -m benchmarks.image_bench --quick     # about a minute
    python -m benchmarks.image_bench             # full run

Writes ``image[_quick].json``, ``.md`` and ``.png`` under ``benchmarks/results``. The
images are scikit-image's sample pictures, read by path: camera photographs (and two
microscope images and a telescope one), and a few flat graphics, the hard case for a
watermark that hides in texture.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, save_area, save_figure  # noqa: E402
from benchmarks.watermark_bench import Peer  # noqa: E402
from benchmarks.watermark_report import MIN_SIDE  # noqa: E402
from provenant.media import read_image  # noqa: E402
from provenant.samples import sample_photos  # noqa: E402
from watermark import WatermarkConfig, detect, embed  # noqa: E402
from watermark.attacks import IMAGE_ATTACKS, Clip  # noqa: E402
from watermark.audit import bit_accuracy  # noqa: E402
from watermark.testing import psnr  # noqa: E402

KEY, WRONG_KEY, PAYLOAD = "bench-key", "bench-wrong-key", "0123456789abcdef"
PHOTOS = ["astronaut", "brick", "camera", "cell", "chelsea", "clock_motion", "coffee", "coins",
          "grass", "gravel", "hubble_deep_field", "ihc", "moon", "motorcycle_left",
          "motorcycle_right", "page", "retina", "rocket", "text"]
GRAPHICS = ["chessboard_RGB", "color", "horse", "logo", "phantom"]
QUICK = (["astronaut", "coffee", "camera", "grass"], ["logo"],
         ["none", "jpeg_75", "jpeg_50", "webp_75", "resize_0.5", "crop_offcentre_50",
          "combo_jpeg_75_resize_0.5_crop_80"])
#: rivaGan's ONNX decoder took 11.6 s on the 2-megapixel retina on this CPU; larger images
#: are left to the other methods.
RIVAGAN_MAX_PIXELS = 1_000_000
#: The peers refuse pictures under 256x256.
PEER_MIN_SIDE = 256


def run_image(name: str, kind: str, peers: dict[str, Peer], attacks: list[str], seed: int,
              cfg: WatermarkConfig) -> dict[str, Any]:
    from skimage.metrics import structural_similarity

    image = read_image(sample_photos()[name])
    h, w = image.shape[:2]
    t = time.perf_counter()
    marked = {"ours": embed(image, PAYLOAD, KEY, cfg)}
    times = {"ours": time.perf_counter() - t}
    for method, peer in peers.items():
        if min(h, w) >= PEER_MIN_SIDE and (method != "rivaGan" or h * w <= RIVAGAN_MAX_PIXELS):
            t = time.perf_counter()
            marked[method] = peer.embed([image])[0]
            times[method] = time.perf_counter() - t
    row: dict[str, Any] = {
        "image": name, "kind": kind, "shape": [h, w], "embed_seconds": times,
        "quality": {m: {"psnr": psnr(image, x),
                        "ssim": float(structural_similarity(image, x, channel_axis=2))}
                    for m, x in marked.items()},
        "attacks": {}, "unmarked": {}}
    for i, attack in enumerate(attacks):
        atk = IMAGE_ATTACKS[attack]
        params = atk.draw(np.random.default_rng([seed, i, len(name)]))
        cells: dict[str, Any] = {}
        for method, picture in marked.items():
            out = atk(Clip([picture], 1.0), params)
            in_scope = min(out.shape) >= MIN_SIDE
            if method == "ours":
                r, wrong = detect(out.frames[0], KEY, cfg), detect(out.frames[0], WRONG_KEY, cfg)
                cells[method] = {"exact": bool(r.detected and r.payload == PAYLOAD),
                                 "detected": r.detected, "p_value": r.p_value,
                                 "bit_acc": bit_accuracy(r.payload or r.decoded, PAYLOAD),
                                 "wrong_key_detected": wrong.detected, "in_scope": in_scope}
            else:
                exact, acc = peers[method].decode(out)
                cells[method] = {"exact": exact, "bit_acc": acc, "in_scope": in_scope}
        row["attacks"][attack] = cells
        plain = detect(atk(Clip([image], 1.0), params).frames[0], KEY, cfg)
        row["unmarked"][attack] = {"detected": plain.detected, "p_value": plain.p_value}
    return row


def summarise(rows: list[dict[str, Any]], attacks: list[str]) -> dict[str, Any]:
    table: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    methods = [m for m in ("ours", "dwtDctSvd", "rivaGan")
               if any(m in r["quality"] for r in rows)]
    for kind in ("photo", "graphic"):
        for m in methods:
            for a in attacks:
                cells = [r["attacks"][a][m] for r in rows
                         if r["kind"] == kind and m in r["attacks"][a]]
                scoped = [c for c in cells if c["in_scope"]]
                table[f"{m}/{kind}"][a] = {
                    "recovery": float(np.mean([c["exact"] for c in scoped])) if scoped
                    else float("nan"),
                    "bit_acc": float(np.mean([c["bit_acc"] for c in scoped])) if scoped
                    else float("nan"),
                    "images": len(scoped), "images_all": len(cells)}
    quality = {}
    for kind in ("photo", "graphic"):
        for m in methods:
            qs = [r["quality"][m] for r in rows if r["kind"] == kind and m in r["quality"]]
            if qs:
                quality[f"{m}/{kind}"] = {
                    "psnr": float(np.mean([q["psnr"] for q in qs])),
                    "min_psnr": float(np.min([q["psnr"] for q in qs])),
                    "ssim": float(np.mean([q["ssim"] for q in qs])), "images": len(qs)}
    ours = [c["ours"] for r in rows for c in r["attacks"].values()]
    plain = [c for r in rows for c in r["unmarked"].values()]
    detected = [c for c in ours if c["detected"]]
    return {"methods": methods, "table": dict(table), "quality": quality,
            "false_positives": {"reads": len(plain),
                                "detections": sum(c["detected"] for c in plain),
                                "min_p_value": min((c["p_value"] for c in plain), default=1.0)},
            "wrong_key": {"reads": len(ours),
                          "detections": sum(c["wrong_key_detected"] for c in ours)},
            "wrong_payload": {"detections": len(detected),
                              "wrong": sum(not c["exact"] for c in detected)},
            "embed_seconds": {m: float(np.median([r["embed_seconds"][m] for r in rows
                                                  if m in r["embed_seconds"]]))
                              for m in methods}}


def detect_seconds(cfg: WatermarkConfig, peers: dict[str, Peer]) -> dict[str, float]:
    """Median time to read one marked 512x512 photo (astronaut), per method, over 3 reads."""
    image = read_image(sample_photos()["astronaut"])
    out: dict[str, float] = {}
    marked = embed(image, PAYLOAD, KEY, cfg)
    readers = {"ours": lambda: detect(marked, KEY, cfg)}
    for method, peer in peers.items():
        clip = Clip(peer.embed([image]), 1.0)
        readers[method] = lambda p=peer, c=clip: p.decode(c)
    for method, read in readers.items():
        times = []
        for _ in range(3):
            t = time.perf_counter()
            read()
            times.append(time.perf_counter() - t)
        out[method] = float(np.median(times))
    return out


def _fmt(x: float) -> str:
    return "n/a" if x != x else f"{x:.2f}"


def markdown(result: dict[str, Any]) -> str:
    s = result["summary"]
    columns = [c for c in s["table"] if s["table"][c][result["attacks"][0]]["images_all"]]
    lines = [f"# Image watermark benchmark ({result['mode']})", "",
             f"{len(result['rows'])} images ({result['photos']} photographs, "
             f"{result['graphics']} flat graphics); pipeline: embed -> PNG -> attack -> detect. "
             f"Ours: exact 64-bit payload, blind, with p <= {result['fpr']:g}; peers: all 32 "
             f"bits. Recovery counts images whose attacked picture keeps >= {MIN_SIDE} px "
             f"(n: of all). The peers refuse pictures under {PEER_MIN_SIDE} px; rivaGan runs on "
             f"images of at most {RIVAGAN_MAX_PIXELS / 1e6:g} megapixel.", "",
             "| attack | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for a in result["attacks"]:
        cells = [f"{_fmt(c['recovery'])} (acc {_fmt(c['bit_acc'])}, n={c['images_all']})"
                 for c in (s["table"][col][a] for col in columns)]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    lines += ["", "| method/images | PSNR dB (min) | SSIM | images |", "|---|---|---|---|"]
    lines += [f"| {k} | {q['psnr']:.2f} ({q['min_psnr']:.2f}) | {q['ssim']:.4f} | {q['images']} |"
              for k, q in s["quality"].items()]
    fp, wk, wp = s["false_positives"], s["wrong_key"], s["wrong_payload"]
    lines += ["", f"False detections: {fp['detections']} of {fp['reads']} reads of unmarked "
              f"images after each attack (smallest p {fp['min_p_value']:.2g}); "
              f"{wk['detections']} of {wk['reads']} marked images read with a wrong key; "
              f"{wp['wrong']} of {wp['detections']} detections reported another payload.", "",
              "| speed (seconds, median) | " + " | ".join(s["methods"]) + " |",
              "|---|" + "---|" * len(s["methods"]),
              "| embed one image | " + " | ".join(f"{s['embed_seconds'][m]:.3f}"
                                                 for m in s["methods"]) + " |",
              "| read the 512x512 astronaut | " + " | ".join(
                  f"{result['detect_seconds'].get(m, float('nan')):.3f}"
                  for m in s["methods"]) + " |"]
    return "\n".join(lines) + "\n"


def headline(result: dict[str, Any]) -> str:
    s = result["summary"]
    ours, peer = s["table"]["ours/photo"], s["table"].get("dwtDctSvd/photo", {})
    parts = [f"{a.replace('_', ' ')} {ours[a]['recovery']:.0%}"
             for a in ("jpeg_75", "jpeg_50", "webp_75", "heic_50", "resize_0.5") if a in ours]
    line = "exact 64-bit payload on photos after " + ", ".join(parts)
    if "jpeg_75" in peer:
        line += f"; dwtDctSvd (32-bit) after JPEG 75: {peer['jpeg_75']['recovery']:.0%}"
    q, fp = s["quality"]["ours/photo"], s["false_positives"]
    return (line + f"; PSNR {q['psnr']:.1f} dB; {fp['detections']} false detections in "
            f"{fp['reads']} reads of unmarked images")


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, attacks = result["summary"], result["attacks"]
    columns = [f"{m}/photo" for m in s["methods"]]
    fig, ax = plt.subplots(figsize=(14, 4.5))
    width = 0.8 / len(columns)
    for j, col in enumerate(columns):
        ax.bar(np.arange(len(attacks)) + j * width,
               [s["table"][col][a]["recovery"] for a in attacks], width, label=col)
    ax.axhline(0.95, color="grey", ls="--", lw=0.8)
    ax.set_xticks(np.arange(len(attacks)) + 0.4 - width / 2, attacks, rotation=60, ha="right")
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel("exact payload recovered")
    ax.set_title(f"Image watermark robustness on photographs ({result['mode']})")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few images and attacks")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-peers", action="store_true", help="skip invisible-watermark")
    args = ap.parse_args(argv)
    cfg = WatermarkConfig()
    photos, graphics, attacks = QUICK if args.quick else (PHOTOS, GRAPHICS, list(IMAGE_ATTACKS))
    names = ["dwtDctSvd"] if args.quick else ["dwtDctSvd", "rivaGan"]
    peers = {} if args.no_peers else {m: Peer(m, 1) for m in names}
    start = time.time()
    todo = [(n, "photo") for n in photos] + [(n, "graphic") for n in graphics]
    rows = [run_image(n, kind, peers, attacks, args.seed, cfg)
            for n, kind in tqdm(todo, desc="images")]
    result = {"mode": "quick" if args.quick else "full", "fpr": cfg.fpr, "attacks": attacks,
              "photos": len(photos), "graphics": len(graphics),
              "summary": summarise(rows, attacks), "detect_seconds": detect_seconds(cfg, peers),
              "rows": rows, "machine": machine(), "wall_seconds": time.time() - start}
    save_area("image", result, headline, markdown, plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
