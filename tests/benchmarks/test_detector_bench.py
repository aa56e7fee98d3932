from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from benchmarks import detector_bench, results_page
from detector import evaluation
from detector.data import Dataset
from tests.benchmarks.conftest import table_widths
from tests.detector.conftest import PixelMeanDetector


def _metrics(auc: float, n_ai: int = 416) -> dict[str, float]:
    return {"n_real": 208, "n_ai": n_ai, "accuracy": 0.455, "fpr_at_threshold": 0.0,
            "tpr_at_threshold": 0.183, "ece": 0.0786, "auc": auc, "ap": 0.907,
            "tpr_at_1pct_fpr": 0.346}


@pytest.fixture
def data(machine_info: dict[str, Any]) -> dict[str, Any]:
    """A report shaped like ``detector.evaluation.evaluate``'s, with the model card's figures."""
    report = {
        "model": "provenant-detector-0.1.0 (resnet10t)", "threshold": 0.8454,
        "test_groups": ["photo:camera", "video:carphone"], "in_domain": _metrics(0.812),
        "per_family": {"interpolate": _metrics(0.681, 208), "upscale": _metrics(0.943, 208)},
        "per_source_accuracy": {"photo:camera:camera": 0.383, "video:carphone": 0.354},
        "crf28": _metrics(0.783),
        "real_footage_fpr": {"held_out_real_clips": 0.0, "held_out_real_clips_crf28": 0.0,
                             "sample_files": [{"file": "bikes", "held_out": False,
                                               "score": 0.6431, "flagged": False}]},
        "leave_one_family_out": {"upscale": _metrics(0.592, 208),
                                 "interpolate": _metrics(0.520, 208)},
        "leave_one_family_out_epochs": 2,
    }
    rng = np.random.default_rng(0)
    y = [0] * 20 + [1] * 20
    p = np.clip(np.array(y) * 0.3 + rng.uniform(0.1, 0.7, 40), 0, 1).tolist()
    keys = ("in_domain", "crf28", "left_out_upscale", "left_out_interpolate")
    clip = {"seconds_of_video": 10, "fps": 24, "width": 1280, "height": 720, "file_mb": 1.3,
            "runs": 5, "seconds": 1.254, "all_seconds": [1.254] * 5}
    return {"machine": machine_info, "mode": "full", "report": report,
            "curves": {k: detector_bench.curves(y, p) for k in keys}, "clip": clip}


def test_arguments() -> None:
    assert detector_bench.parse_args(["--quick"]).quick is True
    assert detector_bench.parse_args([]).quick is False
    assert detector_bench.parse_args(["--cache", "/tmp/c"]).cache == Path("/tmp/c")
    with pytest.raises(SystemExit):
        detector_bench.parse_args(["--lofo"])


def test_condition_labels() -> None:
    assert detector_bench.condition_label("in_domain") == "in-domain"
    assert detector_bench.condition_label("crf28") == "H.264 CRF 28"
    assert detector_bench.condition_label("left_out_upscale") == "left out: upscale"


def test_curves_give_roc_points_and_reliability_bins() -> None:
    c = detector_bench.curves([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    fpr, tpr = np.array(c["roc"]["fpr"]), np.array(c["roc"]["tpr"])
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.75)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    bins = {b["bin"]: b for b in c["reliability"]}
    assert sorted(bins) == [1, 3, 4, 8] and sum(b["n"] for b in bins.values()) == 4
    assert bins[1]["frac_ai"] == 0.0 and bins[3]["frac_ai"] == 1.0
    assert bins[8]["mean_p"] == pytest.approx(0.8)


def test_headline_with_and_without_leave_one_family_out(data: dict[str, Any]) -> None:
    text = detector_bench.headline(data)
    assert text.startswith("held-out AUC 0.81 (0.78 after H.264 CRF 28), TPR 35% at 1% FPR, "
                           "ECE 0.079, leave-one-family-out AUC upscale 0.59 / interpolate 0.52")
    assert text.endswith("FPR 0.0% on 208 held-out real clips at threshold 0.845, "
                         "10 s 720p clip classified in 1.25 s")
    del data["report"]["leave_one_family_out"]
    assert "leave-one-family-out" not in detector_bench.headline(data)


def test_markdown_has_every_condition_and_the_timing(data: dict[str, Any]) -> None:
    md = detector_bench.markdown(data)
    assert "| left out: interpolate | 0.520 |" in md and "| H.264 CRF 28 | 0.783 |" in md
    assert "trained for 2 epochs" in md
    assert "| 10 s 1280×720 H.264 clip (1.3 MB), `detect_file`, median of 5 | 1.25 |" in md
    assert all(len(w) == 1 for w in table_widths(md)) and len(table_widths(md)) == 4


def test_results_page_shows_the_detector(data: dict[str, Any], results_dir: Path) -> None:
    path = detector_bench.save(data)
    stored = json.loads(path.read_text())
    assert stored["headline"] == detector_bench.headline(data)
    assert set(stored["curves"]) == set(data["curves"])
    assert (results_dir / "detector.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = results_page.write_results_page().read_text()
    section = page.split("## Detector\n", 1)[1].split("\n## ", 1)[0]
    assert "| in-domain (held-out sources) | 0.812 |" in section
    assert "![detector](results/detector.png)" in section
    assert f"| detector (full, 2026-11-25) | {stored['headline']} |" in results_page.README.read_text()


def test_evaluate_returns_raw_scores_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    y = np.array([0, 1] * 6)
    X = (rng.integers(0, 120, (12, 1, 3, 3, 4, 4)) + 100 * y[:, None, None, None, None, None])
    source = np.array(["video:a", "video:a", "video:b", "video:b"] * 3)
    ds = Dataset(X.astype(np.uint8), y, source, np.where(y == 1, "upscale", "real"))
    split = {"data_spec": {}, "real_dirs": [], "samples": False, "test_groups": ["video:a", "video:b"]}
    monkeypatch.setattr(evaluation, "load_detector", lambda folder: PixelMeanDetector())
    monkeypatch.setattr(evaluation, "load_split", lambda folder: split)
    monkeypatch.setattr(evaluation, "real_sources", lambda dirs, samples: [
        SimpleNamespace(id="video:a"), SimpleNamespace(id="video:b")])
    monkeypatch.setattr(evaluation, "load_or_build", lambda *a, **k: ds)
    plain = evaluation.evaluate(lofo=False, progress=False)
    full = evaluation.evaluate(lofo=False, progress=False, scores=True)
    assert "scores" not in plain and set(full) - set(plain) == {"scores"}
    assert set(full["scores"]) == {"in_domain", "crf28"}
    assert full["scores"]["in_domain"]["y"] == y.tolist()
    p = PixelMeanDetector().predict_proba(ds.X)[:, 1]
    assert full["scores"]["crf28"]["p"] == pytest.approx(p.tolist())
    assert json.loads(json.dumps(full))["in_domain"]["auc"] == plain["in_domain"]["auc"]


def test_generated_clip_scores(monkeypatch, data) -> None:
    """Full mode scores the shipped generator's clips as ``generate`` writes them, minus the
    provenance; the counts follow the scores and the threshold, and the table reports them."""
    import generator.generate as gen
    from detector import inference

    sizes: list[tuple[int, ...]] = []

    def fake_frames(prompt: str, *, num_frames: int, seed: int, **_: object):
        return (np.full((num_frames, 16, 16, 3), 40 * seed, np.uint8),
                {"fps": 8.0, "model": {"name": "g", "version": "1.0"}})

    def fake_score(det: object, path: Path) -> SimpleNamespace:
        from provenant.media import probe

        info = probe(path)
        sizes.append((info.width, info.height))
        return SimpleNamespace(score=0.2 * (len(sizes) - 1))

    monkeypatch.setattr(gen, "default_weights_available", lambda: True)
    monkeypatch.setattr(gen, "generate_frames", fake_frames)
    monkeypatch.setattr(inference, "load_detector", lambda: SimpleNamespace(threshold_=0.5))
    monkeypatch.setattr(inference, "score_file", fake_score)
    out = detector_bench.generated_clip_scores(n=4)
    assert sizes == [(256, 256)] * 4  # upscaled as generate writes (16 -> 256)
    assert out["scores"] == [0.0, 0.2, 0.4, 0.6] and out["flagged"] == 1
    assert out["median"] == pytest.approx(0.3) and out["generator"] == "g 1.0"
    md = detector_bench.markdown({**data, "generated": out})
    assert "1 of 4 flagged at threshold 0.500" in md
    assert "flagged at threshold" not in detector_bench.markdown(data)
    monkeypatch.setattr(gen, "default_weights_available", lambda: False)
    assert detector_bench.generated_clip_scores(n=4) is None
