from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import generator_bench, results_page
from tests.benchmarks.conftest import table_widths

ATTRS = {"colour": 0.95, "shape": 0.8, "direction": 0.275, "speed": 0.4917, "background": 1.0,
         "camera": 0.3583}


@pytest.fixture
def data(machine_info: dict[str, Any]) -> dict[str, Any]:
    """A report shaped like ``generator.evaluation.evaluate``'s, with the model card's figures."""
    report = {
        "model": {"name": "provenant-shapes-t2v", "version": "0.1.0", "sha256": "29" * 32,
                  "params": 838608},
        "settings": {"prompts": 120, "steps": 24, "scheduler": "euler", "guidance": 3.0,
                     "seed": 0, "judges": 2, "frames": 8, "size": 32, "device": "cpu"},
        "attribute_accuracy": ATTRS,
        "attribute_accuracy_per_judge": [ATTRS, {k: v - 0.05 for k, v in ATTRS.items()}],
        "classifier_accuracy_on_procedural": {k: 1.0 for k in ATTRS} | {"camera": 0.7417},
        "classifier_heldout_accuracy": {k: 1.0 for k in ATTRS},
        "frechet_distance": {"generated_vs_real": 43.067, "real_vs_real_baseline": 3.2968,
                             "ratio": 13.063},
        "flicker": {"generated": {"mean_abs_diff": 6.10, "second_diff": 7.69},
                    "real": {"mean_abs_diff": 4.19, "second_diff": 6.26}},
        "timing": {"seconds_per_clip_batch1": 0.21, "seconds_per_clip_batched": 0.0877,
                   "classifier_train_seconds": 46.8},
        "criteria": {"colour_accuracy>=0.9": True, "shape_accuracy>=0.9": False,
                     "direction_accuracy>=0.9": False, "frechet_within_2x_baseline": False},
    }
    clip = {"prompt": generator_bench.CLIP_PROMPT, "frames": 16, "size": 32, "steps": 24,
            "runs": 10, "seconds": 0.4012, "all_seconds": [0.4012] * 10}
    return {"machine": machine_info, "mode": "full", "report": report, "clip": clip}


def test_arguments_pick_the_prompt_count_by_mode() -> None:
    assert generator_bench.parse_args(["--quick"]).prompts == 24
    assert generator_bench.parse_args([]).prompts == 120
    assert generator_bench.parse_args(["--quick", "--prompts", "40"]).prompts == 40
    assert generator_bench.parse_args(["--quick"]).judges == 1
    assert generator_bench.parse_args([]).judges == 3
    with pytest.raises(SystemExit):
        generator_bench.parse_args(["--judges", "0"])
    with pytest.raises(SystemExit):
        generator_bench.parse_args(["--prompts", "1"])
    with pytest.raises(SystemExit):
        generator_bench.parse_args(["--fast"])


def test_headline_names_adherence_frechet_ratio_and_clip_time(data: dict[str, Any]) -> None:
    assert generator_bench.headline(data) == (
        "prompt adherence colour 95% / shape 80% / direction 28% (120 prompts), "
        "FD 13.1× real-vs-real baseline, 16-frame 32×32 clip in 0.40 s (cpu)")


def test_markdown_tables_are_well_formed(data: dict[str, Any]) -> None:
    md = generator_bench.markdown(data)
    assert "| colour | **95.0%** | 95.0% / 90.0% | 100.0% | 14% |" in md
    assert "mean class probabilities of 2 judges" in md
    assert "| 43.07 | 3.30 | 13.1× |" in md
    assert "attributes the judges saw" not in md  # a report from before that measure
    data["report"]["frechet_distance"] |= {"attribute_errors_only": 8.0,
                                           "attribute_errors_only_ratio": 8.0 / 3.2968}
    assert "| 8.00 | 3.30 | 2.4× |" in generator_bench.markdown(data)
    assert "object size" not in md  # a report from before that measure
    data["report"]["object_consistency"] = {
        "generated": {"area_px": 298.0, "area_jitter": 0.0343, "area_drift": 0.124,
                      "not_one_blob": 0.02},
        "real": {"area_px": 309.0, "area_jitter": 0.0032, "area_drift": 0.01, "not_one_blob": 0.0}}
    md2 = generator_bench.markdown(data)
    assert "| 3.4% | 0.3% | 10.7× |" in md2 and "| 2.0% | 0.0% | - |" in md2
    assert len(table_widths(md2)) == 3 and all(len(w) == 1 for w in table_widths(md2))
    assert "| one 16-frame clip, batch 1 (median of 10) | 0.401 |" in md
    assert "shape_accuracy>=0.9 **not met**" in md and "full mode" in md
    widths = table_widths(md)
    assert len(widths) == 3 and all(len(w) == 1 for w in widths)


def test_results_page_shows_the_generator(data: dict[str, Any], results_dir: Path) -> None:
    path = generator_bench.save(data)
    stored = json.loads(path.read_text())
    assert stored["headline"] == generator_bench.headline(data)
    assert stored["report"]["attribute_accuracy"]["shape"] == 0.8
    assert (results_dir / "generator.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = results_page.write_results_page().read_text()
    section = page.split("## Generator\n", 1)[1].split("\n## ", 1)[0]
    assert "| colour | **95.0%** |" in section
    assert "![generator](results/generator.png)" in section
    readme = results_page.README.read_text()
    assert f"| generator (full, 2026-11-25) | {stored['headline']} |" in readme and "stale" not in readme


def test_a_saved_report_is_reused_only_for_the_same_weights_and_settings(tmp_path):
    from benchmarks.generator_bench import saved_report

    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"model": {"sha256": "abc"},
                                "settings": {"prompts": 120, "seed": 0, "judges": 3}}))
    assert saved_report(path, "abc", 120, 0, 3)["model"]["sha256"] == "abc"
    for args in (("other", 120, 0, 3), ("abc", 24, 0, 3), ("abc", 120, 1, 3), ("abc", 120, 0, 1)):
        with pytest.raises(SystemExit, match="evaluate again"):
            saved_report(path, *args)


def test_a_saved_report_is_reused_only_if_sampled_with_the_model_defaults(tmp_path):
    from benchmarks.generator_bench import model_sampling, saved_report
    from generator.config import UNetConfig

    config = UNetConfig(guidance_interval=(0.3, 1.0))
    settings = {"prompts": 120, "seed": 0, "judges": 3, "steps": 24, "scheduler": "euler",
                "guidance": 3.0, "guidance_interval": [0.3, 1.0]}
    path = tmp_path / "eval.json"
    path.write_text(json.dumps({"model": {"sha256": "abc"}, "settings": settings}))
    assert saved_report(path, "abc", 120, 0, 3, model_sampling(config))
    for change in ({"guidance": 2.0}, {"steps": 48}, {"scheduler": "ddim"},
                   {"guidance_interval": [0.0, 1.0]}):
        path.write_text(json.dumps({"model": {"sha256": "abc"}, "settings": settings | change}))
        with pytest.raises(SystemExit, match="model's"):
            saved_report(path, "abc", 120, 0, 3, model_sampling(config))
    # a report from before guidance intervals existed was sampled with (0, 1]
    old = {k: v for k, v in settings.items() if k != "guidance_interval"}
    path.write_text(json.dumps({"model": {"sha256": "abc"}, "settings": old}))
    assert saved_report(path, "abc", 120, 0, 3, model_sampling(UNetConfig()))
