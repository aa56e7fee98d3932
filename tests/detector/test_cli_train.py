"""End to end on a user's own footage: `provenant train detector --real DIR --no-samples`, then
`provenant eval detector` and `provenant detect` with the model it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenant.cli import main
from provenant.media import write_video
from provenant.samples import render_clip


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of 6 short videos, one in a subfolder (searched recursively)."""
    root = tmp_path_factory.mktemp("footage")
    (root / "day2").mkdir()
    for i in range(6):
        folder = root / "day2" if i == 5 else root
        write_video(render_clip(12, 96, 96, seed=i), folder / f"take{i}.mp4", fps=12)
    (root / "notes.txt").write_text("not a video")
    return root


def test_a_model_trained_on_user_footage_is_evaluated_on_its_held_out_videos(
        capsys, footage: Path, tmp_path: Path) -> None:
    out, cache = tmp_path / "model", tmp_path / "cache"
    assert main(["train", "detector", "--real", str(footage), "--no-samples",
                 "--families", "upscale,interpolate", "--backbone", "test_resnet",
                 "--epochs", "1", "--patch-size", "16", "--clips-per-video", "3",
                 "--patches-per-clip", "2", "--test-fraction", "0.34",
                 "--calibration-fraction", "0.5", "--out", str(out), "--cache", str(cache),
                 "--quiet", "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    split = json.loads((out / "split.json").read_text())
    users = {f"user:take{i}.mp4" for i in range(5)} | {"user:day2/take5.mp4"}
    assert set(split["train_groups"]) | set(split["test_groups"]) == users  # one source a video
    assert len(split["test_groups"]) == 2 and not set(split["test_groups"]) & set(split["train_groups"])
    assert split["samples"] is False and split["real_dirs"] == [str(footage)]
    assert trained["test_groups"] == split["test_groups"] and 0.0 <= trained["threshold"] <= 1.0

    assert main(["eval", "detector", "--weights", str(out), "--no-lofo", "--crf", "28",
                 "--cache", str(cache), "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["test_groups"] == split["test_groups"]
    assert report["in_domain"]["n_real"] == 2 * 3  # the held-out videos' real clips only
    assert {s.split(":", 1)[0] for s in report["per_source_accuracy"]} == {"user"}
    assert set(report["per_source_accuracy"]) <= set(split["test_groups"])
    assert report["crf28"]["n_real"] == 2 * 3
    assert report["real_footage_fpr"]["sample_files"] == []  # no registry footage was used

    assert main(["detect", str(footage / "take0.mp4"), "--weights", str(out), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert 0.0 <= scored["score"] <= 1.0 and scored["threshold"] == pytest.approx(trained["threshold"])


def test_a_folder_without_videos_is_refused_with_what_to_do(capsys, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(["train", "detector", "--real", str(empty), "--no-samples", "--quiet",
                 "--out", str(tmp_path / "m"), "--cache", str(tmp_path / "c")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no real footage" in err and "--real" in err
    assert not (tmp_path / "m").exists()
