from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from generator.evaluation import (
    ATTRIBUTES, _ensemble, evaluate, flicker, frechet_distance, predict, predict_proba, render_text,
)
from generator.pipeline import TextToVideoPipeline
from provenant.errors import ConfigurationError


class _FixedJudge(nn.Module):
    """A judge that gives every clip the same logits."""

    def __init__(self, shape_logits: list[float]) -> None:
        super().__init__()
        self.logits = {k: torch.zeros(len(v)) for k, v in ATTRIBUTES.items()}
        self.logits["shape"] = torch.tensor(shape_logits)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v.expand(len(x), -1) for k, v in self.logits.items()}


def test_frechet_distance_maths():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 3))
    assert frechet_distance(a, a) < 1e-6
    shifted = frechet_distance(a, a + np.array([2.0, 0.0, 0.0]))
    assert abs(shifted - 4.0) < 1e-6
    wide = frechet_distance(a, 2 * a)  # same mean, σ doubled: Σ (2−1)² = 3 in expectation
    assert 2.5 < wide < 3.5


def test_flicker_of_static_and_alternating_clips():
    still = np.full((2, 6, 8, 8, 3), 100, np.uint8)
    assert flicker(still) == {"mean_abs_diff": 0.0, "second_diff": 0.0}
    blink = still.copy()
    blink[:, 1::2] = 110
    assert flicker(blink)["second_diff"] == 20.0


def test_evaluate_smoke(tiny_weights):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")
    report = evaluate(pipeline=pipe, num_prompts=6, steps=2, classifier_steps=3,
                      classifier_clips=40, batch=3, progress=False, judge_cache=None)
    assert set(report["attribute_accuracy"]) == set(ATTRIBUTES)
    assert report["settings"]["prompts"] == 6 and report["frechet_distance"]["real_vs_real_baseline"] >= 0
    assert set(report["criteria"]) == {"colour_accuracy>=0.9", "shape_accuracy>=0.9",
                                       "direction_accuracy>=0.9", "frechet_within_2x_baseline"}
    assert "Fréchet" in render_text(report) and "attributes the judges saw" in render_text(report)
    fd = report["frechet_distance"]
    assert fd["attribute_errors_only"] >= 0 and np.isfinite(fd["attribute_errors_only_ratio"])
    oc = report["object_consistency"]
    assert oc["real"]["not_one_blob"] == 0.0 and oc["real"]["area_jitter"] < 0.05
    assert 0.0 <= oc["generated"]["not_one_blob"] <= 1.0
    assert "size change per frame" in render_text(report)


def test_evaluate_uses_and_reports_the_guidance_interval(tiny_weights, tmp_path, capsys):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")
    kw = dict(pipeline=pipe, num_prompts=4, steps=2, classifier_steps=3, classifier_clips=40,
              batch=4, progress=False, judge_cache=tmp_path)
    default = evaluate(**kw)
    narrow = evaluate(guidance_interval=(0.0, 0.1), **kw)  # no step guided
    unguided = evaluate(guidance=1.0, **kw)
    assert default["settings"]["guidance_interval"] == [0.0, 1.0]
    assert narrow["settings"]["guidance_interval"] == [0.0, 0.1]
    assert narrow["flicker"] == unguided["flicker"] != default["flicker"]

    from generator.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["eval", "generator", "--guidance-interval", "0.5,0.2"])
    assert exc.value.code == 2 and "0 <= lo < hi <= 1" in capsys.readouterr().err


def test_scene_from_labels_inverts_scene_labels():
    from generator.evaluation import scene_from_labels, scene_labels
    from generator.grammar import random_scene

    rng = np.random.default_rng(0)
    for _ in range(50):
        scene = random_scene(rng, max_objects=1)
        assert scene_from_labels(scene_labels(scene)) == scene


def test_judges_decide_by_their_mean_probabilities():
    """Two judges lean weakly to shape 1, one is sure of shape 0: a vote would say 1, the
    mean probability says 0."""
    n = len(ATTRIBUTES["shape"])
    sure0, weak1 = [0.0] * n, [0.0] * n
    sure0[0] = 8.0
    weak1[1] = 0.5
    judges = [_FixedJudge(sure0), _FixedJudge(weak1), _FixedJudge(weak1)]
    clips = np.zeros((2, 8, 16, 16, 3), np.uint8)
    assert [int(predict(j, clips)["shape"][0]) for j in judges] == [0, 1, 1]
    assert _ensemble([predict_proba(j, clips) for j in judges])["shape"].tolist() == [0, 0]


def test_evaluate_reports_each_judge(tiny_weights, tmp_path):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")
    report = evaluate(pipeline=pipe, num_prompts=4, steps=2, judges=2, classifier_steps=3,
                      classifier_clips=40, batch=4, progress=False, judge_cache=tmp_path,
                      seed=3, judge_seed=0)
    assert report["settings"]["judges"] == 2 and report["settings"]["judge_seed"] == 0
    assert sorted(p.name for p in tmp_path.glob("*seed*.json")) == [
        "judge-v1-f4-s16-n3-c40-seed0.json", "judge-v1-f4-s16-n3-c40-seed1.json"]
    assert len(report["attribute_accuracy_per_judge"]) == 2
    assert len(report["frechet_distance"]["ratio_per_judge"]) == 2
    assert set(report["attribute_accuracy_per_judge"][1]) == set(ATTRIBUTES)
    with pytest.raises(ConfigurationError, match="judges"):
        evaluate(pipeline=pipe, num_prompts=4, judges=0, progress=False)


def test_judges_are_cached_and_a_damaged_entry_is_retrained(tmp_path, monkeypatch):
    import generator.evaluation as ev

    kw = dict(frames=4, size=16, steps=2, train_clips=30, seed=4, cache=tmp_path)
    first, acc = ev.cached_classifier(**kw)
    calls = []
    real_train = ev.train_classifier
    monkeypatch.setattr(ev, "train_classifier", lambda **k: calls.append(k) or real_train(**k))
    again, acc2 = ev.cached_classifier(**kw)
    assert calls == [] and acc2 == acc
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    next(tmp_path.glob("*.safetensors")).write_bytes(b"not a tensor file")
    ev.cached_classifier(**kw)
    assert len(calls) == 1
    ev.cached_classifier(**{**kw, "seed": 5})  # another seed is another judge
    assert len(calls) == 2


def test_a_bad_seed_is_refused_before_the_judges_train() -> None:
    import pytest

    from generator.evaluation import evaluate
    from provenant.errors import ConfigurationError

    for kwargs in ({"seed": -1}, {"judge_seed": -5}):
        with pytest.raises(ConfigurationError, match=next(iter(kwargs))):
            evaluate(num_prompts=1, **kwargs)
