"""Detector accuracy and speed: the shipped weights through ``detector.evaluation.evaluate``.

Full mode is the model card's evaluation, as ``provenant eval detector`` runs it: AUC, AP,
TPR at 1 % FPR and ECE on the held-out sources, per family and per source, after H.264
CRF 28, leave-one-family-out (one 2-epoch model per family, cached under
``.cache/detector``) and the FPR on real footage at the default threshold. Quick mode skips
leave-one-family-out, the only part that trains. Both time the classification of a 10 s
720p clip (rendered by ``provenant.samples.render_clip``, H.264) with ``detect_file``. Full
mode also scores clips of the shipped generator as ``provenant generate`` writes them (its
default sampling, 16 frames, upscaled, H.264 CRF 18) but without watermark or manifest: what
the classifier alone makes of a similar generator's output.

Run: ``python -m benchmarks.detector_bench [--quick]``. Writes ``results/detector.json``,
``detector.md`` and ``detector.png`` (ROC curves per condition, reliability diagram).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_curve

from benchmarks.common import machine, save_area, save_figure, timed
from detector.evaluation import evaluate, render_table

CLIP_SECONDS, CLIP_FPS, CLIP_SIZE = 10, 24, (720, 1280)  # height, width
RELIABILITY_BINS = 10
GENERATED_CLIPS, GENERATED_SEED = 12, 2026  # prompts from random_scene(seed), sampling seeds 0..n-1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.detector_bench",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="no leave-one-family-out, 3 timing runs instead of 5")
    ap.add_argument("--cache", type=Path, default=Path(".cache/detector"),
                    help="feature and leave-one-family-out cache (default: %(default)s)")
    return ap.parse_args(argv)


def condition_label(key: str) -> str:
    """``in_domain`` → ``in-domain``, ``crf28`` → ``H.264 CRF 28``, ``left_out_x`` → ``left out: x``."""
    if key.startswith("crf"):
        return f"H.264 CRF {key[3:]}"
    if key.startswith("left_out_"):
        return f"left out: {key[len('left_out_'):]}"
    return key.replace("_", "-")


def curves(y: list[int], p: list[float], bins: int = RELIABILITY_BINS) -> dict[str, Any]:
    """ROC points and reliability bins (equal width, as the ECE) of one condition."""
    y_arr, p_arr = np.asarray(y), np.asarray(p, dtype=np.float64)
    fpr, tpr, _ = roc_curve(y_arr, p_arr)
    which = np.minimum((p_arr * bins).astype(int), bins - 1)
    rel = [{"bin": b, "mean_p": float(p_arr[which == b].mean()),
            "frac_ai": float(y_arr[which == b].mean()), "n": int((which == b).sum())}
           for b in range(bins) if (which == b).any()]
    return {"roc": {"fpr": np.round(fpr, 5).tolist(), "tpr": np.round(tpr, 5).tolist()},
            "reliability": rel}


def clip_timing(runs: int) -> dict[str, Any]:
    """Median seconds of ``detect_file`` on a 10 s 720p H.264 clip (model already loaded)."""
    from detector.inference import detect_file
    from provenant.media import write_video
    from provenant.samples import render_clip

    h, w = CLIP_SIZE
    with tempfile.TemporaryDirectory(prefix="detector-bench-") as tmp:
        path = write_video(render_clip(CLIP_SECONDS * CLIP_FPS, h, w), Path(tmp) / "clip.mp4",
                           fps=CLIP_FPS)
        size_mb = path.stat().st_size / 1e6
        detect_file(path)  # warm-up: loads the weights once, as a server would
        median, times = timed(lambda: detect_file(path), runs)
    return {"seconds_of_video": CLIP_SECONDS, "fps": CLIP_FPS, "width": w, "height": h,
            "file_mb": round(size_mb, 1), "runs": runs, "seconds": median, "all_seconds": times}


def generated_clip_scores(n: int = GENERATED_CLIPS, seed: int = GENERATED_SEED
                          ) -> dict[str, Any] | None:
    """Scores of ``n`` clips of the shipped generator written as ``provenant generate`` writes
    them, minus the watermark and manifest (None without the generator or its weights)."""
    try:
        from generator.generate import default_weights_available, generate_frames, upscale
        from generator.grammar import describe, random_scene
    except ImportError:
        return None
    if not default_weights_available():
        return None
    from detector.inference import load_detector, score_file
    from provenant.media import write_video

    det, rng = load_detector(), np.random.default_rng(seed)
    prompts = [describe(random_scene(rng, max_objects=1)) for _ in range(n)]
    scores = []
    with tempfile.TemporaryDirectory(prefix="detector-bench-gen-") as tmp:
        for i, prompt in enumerate(prompts):
            frames, params = generate_frames(prompt, num_frames=16, seed=i)
            path = write_video(upscale(frames), Path(tmp) / f"{i}.mp4", fps=params["fps"], crf=18)
            scores.append(round(score_file(det, path).score, 4))
    s = np.array(scores)
    return {"generator": f"{params['model']['name']} {params['model']['version']}", "clips": n, "frames": 16, "crf": 18, "prompt_seed": seed,
            "scores": scores, "threshold": float(det.threshold_),
            "flagged": int((s >= det.threshold_).sum()), "median": float(np.median(s)),
            "min": float(s.min()), "max": float(s.max())}


def run(quick: bool, cache: Path) -> dict[str, Any]:
    # Timed first, as in a serving process, not after the evaluation has held gigabytes of tubes.
    clip = clip_timing(3 if quick else 5)
    report = evaluate(lofo=not quick, cache=cache, progress=True, scores=True)
    raw = report.pop("scores")
    return {"report": report,
            "curves": {k: curves(v["y"], v["p"]) for k, v in raw.items()},
            "clip": clip, "generated": None if quick else generated_clip_scores()}


def headline(data: dict[str, Any]) -> str:
    r, clip = data["report"], data["clip"]
    ind, crf = r["in_domain"], next((k for k in r if k.startswith("crf")), None)
    parts = [f"held-out AUC {ind['auc']:.2f}"
             + (f" ({r[crf]['auc']:.2f} after {condition_label(crf)})" if crf else ""),
             f"TPR {ind['tpr_at_1pct_fpr']:.0%} at 1% FPR", f"ECE {ind['ece']:.3f}"]
    lofo = r.get("leave_one_family_out")
    if lofo:
        parts.append("leave-one-family-out AUC " + " / ".join(
            f"{k} {m['auc']:.2f}" for k, m in lofo.items()))
    parts.append(f"FPR {ind['fpr_at_threshold']:.1%} on {ind['n_real']} held-out real clips "
                 f"at threshold {r['threshold']:.3f}")
    parts.append(f"{clip['seconds_of_video']} s {clip['height']}p clip classified in "
                 f"{clip['seconds']:.2f} s")
    return ", ".join(parts)


def twin_note(report: dict[str, Any]) -> str:
    """One sentence on the twins left out as unchanged (see ``detector.data``)."""
    tf = report.get("twin_filter")
    if not tf:
        return "Every twin is counted."
    dropped = ", ".join(f"{f} {n} of {tf['test_twins'][f]}" for f, n in tf["test_twins_dropped"].items())
    return (f"Twins whose every frame stays within {tf['min_twin_change']:g} grey level (mean "
            f"absolute difference) of the real clip are not counted as AI-generated: {dropped} "
            "test twins. The rows \"unchanged twins kept\" count them.")


def markdown(data: dict[str, Any]) -> str:
    r, clip, m = data["report"], data["clip"], data["machine"]
    lofo = (f"leave-one-family-out models trained for {r['leave_one_family_out_epochs']} epochs"
            if "leave_one_family_out" in r else "leave-one-family-out skipped")
    lines = [f"### Shipped weights, {data['mode']} mode ({lofo})\n", render_table(r), "",
             "| classification time | seconds |", "|---|---|",
             f"| {clip['seconds_of_video']} s {clip['width']}×{clip['height']} H.264 clip "
             f"({clip['file_mb']} MB), `detect_file`, median of {clip['runs']} | "
             f"{clip['seconds']:.2f} |", "",
             "Clip-level figures on sources held out from training and calibration. The time "
             "covers decoding up to the last sampled frame, tube extraction, the clip "
             "statistics and the network on the CPU, with the weights already loaded.", "", twin_note(r), "",
             f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}."]
    gen = data.get("generated")
    if gen:
        lines[-1:-1] = [
            f"Clips of the shipped generator ({gen['generator']}) as `provenant generate` writes "
            f"them, without watermark or manifest ({gen['clips']} random one-object prompts, "
            f"{gen['frames']} frames, upscaled, H.264 CRF {gen['crf']}): {gen['flagged']} of "
            f"{gen['clips']} flagged at threshold {gen['threshold']:.3f}; scores median "
            f"{gen['median']:.3f}, range {gen['min']:.3f}-{gen['max']:.3f}. The generator's "
            "own outputs are recognised by their watermark and manifest; this is what the "
            "classifier alone makes of such clips.", ""]
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> Path:
    """ROC curves per condition beside a reliability diagram."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = data["report"]
    metrics = {"in_domain": r["in_domain"], **{k: r[k] for k in r if k.startswith("crf")},
               **{f"left_out_{k}": v for k, v in r.get("leave_one_family_out", {}).items()}}
    fig, (roc, rel) = plt.subplots(1, 2, figsize=(11, 4.6))
    for key, c in data["curves"].items():
        auc = metrics.get(key, {}).get("auc")
        label = condition_label(key) + (f" (AUC {auc:.3f})" if auc is not None else "")
        roc.plot(c["roc"]["fpr"], c["roc"]["tpr"], lw=1.5, label=label)
        bins = c["reliability"]
        rel.plot([b["mean_p"] for b in bins], [b["frac_ai"] for b in bins], "o-", ms=4,
                 label=condition_label(key))
    roc.plot([0, 1], [0, 1], color="grey", ls=":", lw=0.8)
    roc.axvline(0.01, color="grey", ls="--", lw=0.8)
    roc.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC (clip level)")
    roc.legend(fontsize=8, loc="lower right")
    rel.plot([0, 1], [0, 1], color="grey", ls=":", lw=0.8, label="perfect calibration")
    rel.axvline(r["threshold"], color="grey", ls="--", lw=0.8, label="threshold")
    rel.set(xlabel="predicted probability of AI", ylabel="fraction AI-generated",
            title=f"Reliability ({RELIABILITY_BINS} bins)", xlim=(0, 1),
            ylim=(-0.02, 1.02))
    rel.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"Detector {r['model']}, {data['mode']} mode")
    return save_figure(fig, path)


def save(data: dict[str, Any]) -> Path:
    """``detector.json`` (with its ``headline``), ``detector.md`` and ``detector.png``."""
    return save_area("detector", data, headline, markdown, plot)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = {"machine": machine(), "mode": "quick" if args.quick else "full",
            **run(args.quick, args.cache)}
    save(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
