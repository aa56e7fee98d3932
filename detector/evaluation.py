"""``provenant eval detector``: metrics on held-out sources, leave-one-family-out, CRF 28.

All figures are clip-level (the clip logit of :mod:`detector.classifier`: the network's mean
patch logit fused with the clip statistics). Sources in the
test part were never seen in training or calibration (see ``split.json`` beside the weights).
Twins that their family left within ``min_twin_change`` of the real clip are not counted as
AI-generated clips (see :mod:`detector.data`); ``all_twins`` reports the in-domain figures with
them kept, and ``twin_filter`` how many were dropped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from provenant.errors import ConfigurationError, InputError
from provenant.samples import sample_footage

from detector.calibration import expected_calibration_error
from detector.classifier import VideoDetector
from detector.data import DEFAULT_CACHE, DataSpec, Dataset, load_or_build
from detector.inference import DEFAULT_WEIGHTS, load_detector, score_file
from detector.sources import real_sources, source_group
from detector.training import load_split, train_split

__all__ = ["tpr_at_fpr", "clip_metrics", "per_source_accuracy", "evaluate", "render_table"]


def tpr_at_fpr(y: np.ndarray, scores: np.ndarray, fpr: float = 0.01) -> float:
    """The highest TPR reachable with a false-positive rate of at most ``fpr``."""
    f, t, _ = roc_curve(y, scores)
    return float(t[f <= fpr + 1e-12].max())


def clip_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    y, p = np.asarray(y), np.asarray(p)
    pred = p >= threshold
    out: dict[str, float] = {"n_real": int((y == 0).sum()), "n_ai": int((y == 1).sum()),
                             "accuracy": float((pred == y).mean()),
                             "fpr_at_threshold": float(pred[y == 0].mean()) if (y == 0).any() else float("nan"),
                             "tpr_at_threshold": float(pred[y == 1].mean()) if (y == 1).any() else float("nan"),
                             "ece": expected_calibration_error(p, y)}
    if len(np.unique(y)) == 2:
        out.update(auc=float(roc_auc_score(y, p)), ap=float(average_precision_score(y, p)),
                   tpr_at_1pct_fpr=tpr_at_fpr(y, p, 0.01))
    return out


def per_source_accuracy(ds: Dataset, p: np.ndarray, threshold: float) -> dict[str, float]:
    pred = p >= threshold
    return {str(s): float((pred[ds.source == s] == ds.y[ds.source == s]).mean())
            for s in np.unique(ds.source)}


def _by_family(ds: Dataset, p: np.ndarray, threshold: float) -> dict[str, dict[str, float]]:
    real = ds.family == "real"
    return {str(f): clip_metrics(ds.y[real | (ds.family == f)], p[real | (ds.family == f)], threshold)
            for f in np.unique(ds.family) if f != "real"}


def _components(ds: Dataset, logits: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """In-domain AUC of each learner alone (before fusion), overall and per family."""
    out = {}
    for name, z in logits.items():
        row = {"all": float(roc_auc_score(ds.y, z))}
        for fam in (f for f in np.unique(ds.family) if f != "real"):
            m = (ds.family == "real") | (ds.family == fam)
            row[str(fam)] = float(roc_auc_score(ds.y[m], z[m]))
        out[name] = row
    return out


def _lofo(det: VideoDetector, ds: Dataset, test: Dataset, test_groups: set[str], spec: DataSpec,
          cache: Path, epochs: int | None, progress: bool,
          raw: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Train without one family (cached per family), test on that family vs real; each
    family's labels and scores go into ``raw`` under ``left_out_<family>``. ``ds``: every
    clip, unchanged twins included (they are left out of training here)."""
    out = {}
    cfg = replace(det._cfg, epochs=epochs or det._cfg.epochs)
    for fam in spec.families:
        recipe = hashlib.sha1(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
        folder = Path(cache) / (f"lofo-{fam}-{spec.key([])}-{cfg.backbone}-{cfg.version}-"
                                f"{cfg.epochs}-{cfg.seed}-{recipe}")
        model = _cached_model(folder)
        if model is None:
            tr = train_split(ds, test_groups, [f for f in spec.families if f != fam],
                             spec.min_twin_change)
            model = VideoDetector(cfg, progress=progress).fit(tr.X, tr.y, groups=tr.groups)
            model.save_pretrained(folder)
        keep = np.isin(test.family, ["real", fam])
        sub = test.subset(keep)
        raw[f"left_out_{fam}"] = (sub.y, model.predict_proba(sub.X)[:, 1])
        out[fam] = clip_metrics(*raw[f"left_out_{fam}"], model.threshold_)
    return out


def _cached_model(folder: Path) -> VideoDetector | None:
    """A model saved under ``folder`` by an earlier run, or None (absent or not loadable)."""
    if not (folder / "calibration.json").exists():
        return None
    try:
        return VideoDetector.from_pretrained(folder)
    except ConfigurationError:  # made by another version of the front end: train anew
        return None


def _twin_filter(test: Dataset, kept: np.ndarray, min_change: float) -> dict[str, Any]:
    families = [str(f) for f in np.unique(test.family) if f != "real"]
    return {"min_twin_change": min_change,
            "test_twins_dropped": {f: int(((test.family == f) & ~kept).sum()) for f in families},
            "test_twins": {f: int((test.family == f).sum()) for f in families}}


def _footage_files(det: VideoDetector, test_groups: set[str]) -> list[dict[str, Any]]:
    rows = []
    for name, path in sample_footage().items():
        ev = score_file(det, path)
        rows.append({"file": name, "held_out": source_group(f"video:{name.split('_')[0]}") in test_groups,
                     "score": ev.score, "flagged": ev.score >= ev.threshold})
    return rows


def evaluate(weights: str | Path | None = None, *, lofo: bool = True, crf: int | None = 28,
             lofo_epochs: int | None = 2, cache: Path = DEFAULT_CACHE,
             progress: bool = True, scores: bool = False) -> dict[str, Any]:
    """Every figure of the model card, measured now on the held-out sources.

    Leave-one-family-out trains one model per family with the shipped config, except
    ``epochs`` (``lofo_epochs``; None keeps the config's), and caches it under ``cache``.
    With ``scores``, the report also holds ``scores``: per condition (``in_domain``,
    ``crf<crf>``, ``left_out_<family>``) the clip labels ``y`` and probabilities ``p`` as lists.
    """
    if crf is not None and (isinstance(crf, bool) or not 0 <= crf <= 51):
        raise InputError(f"crf={crf!r} is invalid; allowed: 0 to 51 (H.264), or None to skip "
                         "the re-encoding test")
    folder = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    det, split = load_detector(folder), load_split(folder)
    spec = DataSpec(**split["data_spec"])
    sources = real_sources(split["real_dirs"], samples=split["samples"])
    test_groups = set(split["test_groups"])
    full = load_or_build(sources, replace(spec, min_twin_change=0.0), cache, progress=progress)
    full_test = full.subset(np.isin(full.groups, sorted(test_groups)))
    parts = det.score_parts(full_test.X)
    p_full = parts["probability"]
    kept = full_test.changed(spec.min_twin_change)
    test, p = full_test.subset(kept), p_full[kept]
    thr = det.threshold_
    raw: dict[str, tuple[np.ndarray, np.ndarray]] = {"in_domain": (test.y, p)}
    report: dict[str, Any] = {
        "model": det._cfg.model_id, "threshold": thr, "test_groups": sorted(test_groups),
        "in_domain": clip_metrics(test.y, p, thr), "per_family": _by_family(test, p, thr),
        "per_source_accuracy": per_source_accuracy(test, p, thr),
        "components": _components(test, {k: v[kept] for k, v in parts.items()
                                         if k in ("network", "statistics")}),
        "twin_filter": _twin_filter(full_test, kept, spec.min_twin_change),
        "all_twins": {"in_domain": clip_metrics(full_test.y, p_full, thr),
                      "per_family": _by_family(full_test, p_full, thr)}}
    if crf is not None:
        tsrc = [s for s in sources if source_group(s.id) in test_groups]
        ds_crf = load_or_build(tsrc, replace(spec, fixed_crf=crf), cache, progress=progress)
        raw[f"crf{crf}"] = (ds_crf.y, det.predict_proba(ds_crf.X)[:, 1])
        report[f"crf{crf}"] = clip_metrics(*raw[f"crf{crf}"], thr)
        del ds_crf  # its tubes are not needed while the leave-one-family-out models train
    report["real_footage_fpr"] = {
        "held_out_real_clips": report["in_domain"]["fpr_at_threshold"],
        **({f"held_out_real_clips_crf{crf}": report[f"crf{crf}"]["fpr_at_threshold"]} if crf else {}),
        "sample_files": _footage_files(det, test_groups) if split["samples"] else []}
    if lofo:
        report["leave_one_family_out"] = _lofo(det, full, test, test_groups, spec, cache,
                                               lofo_epochs, progress, raw)
        report["leave_one_family_out_epochs"] = lofo_epochs or det._cfg.epochs
    if scores:
        report["scores"] = {k: {"y": y.tolist(), "p": q.tolist()} for k, (y, q) in raw.items()}
    return report


def _row(name: str, m: dict[str, float]) -> str:
    f = lambda k: f"{m[k]:.3f}" if k in m else "-"  # noqa: E731
    return (f"| {name} | {f('auc')} | {f('ap')} | {f('tpr_at_1pct_fpr')} | {f('ece')} | "
            f"{f('accuracy')} | {f('fpr_at_threshold')} | {m['n_real']}/{m['n_ai']} |")


def render_table(report: dict[str, Any]) -> str:
    """The evaluation as a Markdown table (for the model card)."""
    lines = [f"Model {report['model']}, threshold {report['threshold']:.4f}", "",
             "| split | AUC | AP | TPR@1%FPR | ECE | accuracy | FPR@thr | real/AI clips |",
             "|---|---|---|---|---|---|---|---|", _row("in-domain (held-out sources)", report["in_domain"])]
    lines += [_row(f"in-domain, family {k}", m) for k, m in report["per_family"].items()]
    lines += [_row(k.upper().replace("CRF", "H.264 CRF "), report[k]) for k in report if k.startswith("crf")]
    lines += [_row(f"left out: {k}", m) for k, m in report.get("leave_one_family_out", {}).items()]
    if "all_twins" in report:
        lines.append(_row("in-domain, unchanged twins kept", report["all_twins"]["in_domain"]))
        lines += [_row(f"unchanged twins kept, family {k}", m)
                  for k, m in report["all_twins"]["per_family"].items()]
    comps = report.get("components", {})
    if comps:
        fams = [k for k in next(iter(comps.values())) if k != "all"]
        lines += ["", "| learner alone (in-domain AUC) | all | " + " | ".join(fams) + " |",
                  "|---|---|" + "---|" * len(fams)]
        lines += [f"| {name} | {row['all']:.3f} | " + " | ".join(f"{row[f]:.3f}" for f in fams)
                  + " |" for name, row in comps.items()]
    lines += ["", "| source | accuracy |", "|---|---|"]
    lines += [f"| {s} | {a:.3f} |" for s, a in report["per_source_accuracy"].items()]
    files = report["real_footage_fpr"]["sample_files"]
    if files:
        lines += ["", "| sample file (real) | held out | score | flagged |", "|---|---|---|---|"]
        lines += [f"| {r['file']} | {r['held_out']} | {r['score']:.4f} | {r['flagged']} |" for r in files]
    return "\n".join(lines)
