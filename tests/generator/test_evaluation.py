from __future__ import annotations

import numpy as np

from generator.evaluation import ATTRIBUTES, evaluate, flicker, frechet_distance, render_text
from generator.pipeline import TextToVideoPipeline


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
                      classifier_clips=40, batch=3, progress=False)
    assert set(report["attribute_accuracy"]) == set(ATTRIBUTES)
    assert report["settings"]["prompts"] == 6 and report["frechet_distance"]["real_vs_real_baseline"] >= 0
    assert set(report["criteria"]) == {"colour_accuracy>=0.9", "shape_accuracy>=0.9",
                                       "direction_accuracy>=0.9", "frechet_within_2x_baseline"}
    assert "Fréchet" in render_text(report)
