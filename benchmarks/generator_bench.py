"""Generator quality and speed: the shipped weights through ``generator.evaluation.evaluate``.

Prompt adherence (per-attribute accuracy, judged by small 3D-CNNs trained here on procedural
clips), Fréchet distance beside the real-vs-real baseline, flicker against the procedural
clips and sampling time, as ``provenant eval generator`` reports them; plus the time to
sample one 16-frame clip. Full mode uses the model card's settings (120 prompts, 3 judges
of 600 steps on 3,000 clips each, seed 0); quick mode samples 24 prompts, trains 1 judge
and times fewer runs.

Run: ``python -m benchmarks.generator_bench [--quick]``. ``--from-eval REPORT`` takes the
evaluation from a saved ``provenant eval generator --json`` report of the same weights and
settings (the sampling and the cached judges are seeded, so evaluating again gives the same
accuracies and distances) and only times the clip. Writes ``results/generator.json``,
``generator.md`` and ``generator.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.common import machine, save_area, save_figure, timed
from generator.evaluation import ATTRIBUTES, interval_text, evaluate

CLIP_PROMPT = "a red circle moving left on a blue background, camera panning right"
CLIP_FRAMES = 16
HEADLINE_ATTRIBUTES = ("colour", "shape", "direction")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.generator_bench",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="24 prompts, 1 judge, 3 timing runs")
    ap.add_argument("--prompts", type=int, default=None,
                    help="random prompts to sample (default: 24 quick, 120 full)")
    ap.add_argument("--judges", type=int, default=None,
                    help="judge classifiers (default: 1 quick, 3 full)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--from-eval", type=Path, default=None, metavar="REPORT",
                    help="reuse this `provenant eval generator --json` report of the shipped "
                         "weights instead of evaluating again")
    args = ap.parse_args(argv)
    if args.prompts is None:
        args.prompts = 24 if args.quick else 120
    if args.judges is None:
        args.judges = 1 if args.quick else 3
    if args.judges < 1:
        ap.error("--judges must be at least 1")
    if args.prompts < 2:
        ap.error("--prompts must be at least 2 (a Fréchet distance needs a covariance)")
    return args


def saved_report(path: Path, sha256: str, prompts: int, seed: int, judges: int,
                 sampling: dict[str, Any] | None = None) -> dict[str, Any]:
    """A saved evaluation report, refused unless it is of these weights and settings, and
    (when ``sampling`` is given) sampled with these settings: the model's defaults."""
    report = json.loads(path.read_text())
    settings = report.get("settings", {})
    got = (report.get("model", {}).get("sha256"), settings.get("prompts"),
           settings.get("seed"), settings.get("judges"))
    if got != (sha256, prompts, seed, judges):
        raise SystemExit(f"{path}: its (weights sha256, prompts, seed, judges) = {got}, not "
                         f"{(sha256, prompts, seed, judges)}; evaluate again without --from-eval")
    used = {k: settings.get(k, [0.0, 1.0] if k == "guidance_interval" else None)
            for k in (sampling or {})}
    if sampling and used != sampling:
        raise SystemExit(f"{path}: sampled with {used}, not the model's {sampling}; evaluate "
                         "again without --from-eval")
    return report


def model_sampling(config: Any) -> dict[str, Any]:
    """The sampling settings an evaluation with ``config``'s defaults reports."""
    return {"steps": config.num_inference_steps, "scheduler": config.scheduler,
            "guidance": config.guidance_scale,
            "guidance_interval": [float(v) for v in config.guidance_interval]}


def run(prompts: int, clip_runs: int, seed: int, judges: int = 3,
        from_eval: Path | None = None) -> dict[str, Any]:
    """The evaluation report of the shipped weights and the 16-frame sampling time."""
    from generator.pipeline import TextToVideoPipeline

    pipe = TextToVideoPipeline.from_pretrained()
    if from_eval is not None:
        report = saved_report(from_eval, pipe.weights_sha256, prompts, seed, judges,
                              model_sampling(pipe.config))
    else:
        report = evaluate(pipeline=pipe, num_prompts=prompts, seed=seed, judges=judges,
                          progress=True)
    median, times = timed(lambda: pipe(CLIP_PROMPT, num_frames=CLIP_FRAMES, seed=seed), clip_runs)
    return {"report": report,
            "clip": {"prompt": CLIP_PROMPT, "frames": CLIP_FRAMES, "size": pipe.config.size,
                     "steps": report["settings"]["steps"], "runs": clip_runs,
                     "seconds": median, "all_seconds": times}}


def headline(data: dict[str, Any]) -> str:
    r, clip = data["report"], data["clip"]
    acc = " / ".join(f"{k} {r['attribute_accuracy'][k]:.0%}" for k in HEADLINE_ATTRIBUTES)
    return (f"prompt adherence {acc} ({r['settings']['prompts']} prompts), "
            f"FD {r['frechet_distance']['ratio']:.1f}× real-vs-real baseline, "
            f"{clip['frames']}-frame {clip['size']}×{clip['size']} clip in "
            f"{clip['seconds']:.2f} s ({r['settings']['device']})")


def markdown(data: dict[str, Any]) -> str:
    r, clip, m = data["report"], data["clip"], data["machine"]
    s, fd, fl, t = r["settings"], r["frechet_distance"], r["flicker"], r["timing"]
    lines = [f"### {r['model']['name']} {r['model']['version']} (shipped weights), "
             f"{data['mode']} mode: {s['prompts']} prompts, {s['steps']} {s['scheduler']} steps, "
             f"guidance {s['guidance']}{interval_text(s)}, "
             f"seed {s['seed']}\n",
             "| attribute | generated clips | each judge alone | procedural clips of the same "
             "prompts | chance |", "|---|---|---|---|---|"]
    per_judge = r.get("attribute_accuracy_per_judge", [])
    lines += [f"| {k} | **{v:.1%}** | {' / '.join(f'{a[k]:.1%}' for a in per_judge) or '-'} | "
              f"{r['classifier_accuracy_on_procedural'][k]:.1%} | {1 / len(ATTRIBUTES[k]):.0%} |"
              for k, v in r["attribute_accuracy"].items()]
    lines += ["", "| measure | generated | procedural | ratio |", "|---|---|---|---|",
              f"| Fréchet distance (vs real; procedural = real-vs-real baseline) | "
              f"{fd['generated_vs_real']:.2f} | {fd['real_vs_real_baseline']:.2f} | "
              f"{fd['ratio']:.1f}× |"]
    if "attribute_errors_only" in fd:
        lines.append(f"| Fréchet distance of procedural clips of the attributes the judges saw "
                     f"(what wrong attributes alone cost) | {fd['attribute_errors_only']:.2f} | "
                     f"{fd['real_vs_real_baseline']:.2f} | "
                     f"{fd['attribute_errors_only_ratio']:.1f}× |")
    for key, label in (("second_diff", "flicker, mean absolute second temporal difference"),
                       ("mean_abs_diff", "mean frame-to-frame change")):
        g, p = fl["generated"][key], fl["real"][key]
        lines.append(f"| {label} (0–255) | {g:.2f} | {p:.2f} | {g / p:.2f}× |")
    oc = r.get("object_consistency")  # absent from reports made before it existed
    for key, label in (("area_jitter", "object size change per frame (mean absolute Δ log area)"),
                       ("area_drift", "object size drift over the clip (absolute log of last / first area)"),
                       ("not_one_blob", "frames where the object is not one blob")) if oc else ():
        g, p = oc["generated"][key], oc["real"][key]
        lines.append(f"| {label} | {g:.1%} | {p:.1%} | {f'{g / p:.1f}×' if p > 0 else '-'} |")
    lines += ["", f"| sampling ({s['device']}, {s['size']}×{s['size']}) | seconds |", "|---|---|",
              f"| one {s['frames']}-frame clip, batch 1 | "
              f"{t['seconds_per_clip_batch1']:.3f} |",
              f"| per {s['frames']}-frame clip, batched | {t['seconds_per_clip_batched']:.3f} |",
              f"| one {clip['frames']}-frame clip, batch 1 (median of {clip['runs']}) | "
              f"{clip['seconds']:.3f} |", "",
              f"Attributes are decided by the mean class probabilities of {s.get('judges', 1)} "
              "judges trained from different seeds on procedural clips; the column beside "
              "gives each judge's own accuracy.", "",
              "Both Fréchet distances are the mean over the judges' 64-d feature spaces and "
              "grow as the number of prompts shrinks, so compare them, and their ratio, only "
              "between runs with the same number of prompts.", "",
              "Acceptance criteria: " + ", ".join(
                  f"{k} {'met' if ok else '**not met**'}" for k, ok in r["criteria"].items()) + ".",
              "", f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}."]
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> Path:
    """Adherence bars per attribute, Fréchet distances and sampling times, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    r, clip = data["report"], data["clip"]
    names = list(r["attribute_accuracy"])
    x = np.arange(len(names))
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(14, 4.2),
                                     gridspec_kw={"width_ratios": [3, 1.2, 1.6]})
    a1.bar(x - 0.2, [r["attribute_accuracy"][k] for k in names], 0.4, label="generated")
    a1.bar(x + 0.2, [r["classifier_accuracy_on_procedural"][k] for k in names], 0.4,
           label="procedural (same prompts)", color="lightgray")
    a1.scatter(x, [1 / len(ATTRIBUTES[k]) for k in names], marker="_", s=300, color="k",
               label="chance", zorder=3)
    a1.set_xticks(x, names)
    a1.set_ylim(0, 1.22)
    a1.set_title(f"Prompt adherence ({r['settings']['prompts']} prompts)")
    a1.legend(fontsize=8, loc="upper center", ncol=3)
    fd = r["frechet_distance"]
    a2.bar(["generated", "real vs real"], [fd["generated_vs_real"], fd["real_vs_real_baseline"]],
           color=["C0", "lightgray"])
    a2.set_title(f"Fréchet distance ({fd['ratio']:.1f}×)")
    t, frames = r["timing"], r["settings"]["frames"]
    a3.barh([f"{frames} fr, batch 1", f"{frames} fr, batched", f"{clip['frames']} fr, batch 1"],
            [t["seconds_per_clip_batch1"], t["seconds_per_clip_batched"], clip["seconds"]],
            color=["C0", "C0", "C1"])
    a3.set_xlabel("seconds per clip")
    a3.set_title(f"Sampling ({r['settings']['steps']} steps, {r['settings']['device']})")
    fig.suptitle(f"Generator, {data['mode']} mode")
    return save_figure(fig, path)


def save(data: dict[str, Any]) -> Path:
    """``generator.json`` (with its ``headline``), ``generator.md`` and ``generator.png``."""
    return save_area("generator", data, headline, markdown, plot)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = {"machine": machine(), "mode": "quick" if args.quick else "full",
            **run(args.prompts, 3 if args.quick else 10, args.seed, args.judges,
                  args.from_eval)}
    save(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
