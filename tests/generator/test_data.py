"""The user-video loader honours C2PA training-and-data-mining opt-outs and records its choices."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from generator.data import UserVideoClips, training_mining_assertion, training_permission
from provenant.errors import InputError
from provenant.manifest import SignOptions
from provenant.provenance import sign

from tests.conftest import make_clip


def _signed(src, dst, label: str, key: str, use: str):
    assertion = {"label": label, "data": {"entries": {key: {"use": use}}}}
    return sign(src, dst, SignOptions(extra_assertions=(assertion,))).path


@pytest.fixture(scope="module")
def video_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("user-videos")
    raw = make_clip(root / "plain.mp4", frames=12, h=48, w=64)
    src = tmp_path_factory.mktemp("src") / "src.mp4"
    shutil.copy(raw, src)
    _signed(src, root / "c2pa_no.mp4", "c2pa.training-mining", "c2pa.ai_generative_training", "notAllowed")
    _signed(src, root / "cawg_no.mp4", "cawg.training-mining", "cawg.ai_training", "notAllowed")
    _signed(src, root / "cawg_yes.mp4", "cawg.training-mining", "cawg.ai_generative_training", "allowed")
    sign(src, root / "own.mp4", SignOptions(extra_assertions=(training_mining_assertion(),)))
    make_clip(root / "short.mp4", frames=3, h=48, w=64)
    (root / "notes.txt").write_text("not a video")
    return root


def test_permission_per_file(video_folder):
    assert training_permission(video_folder / "plain.mp4").allowed
    assert training_permission(video_folder / "cawg_yes.mp4").allowed
    for name in ("c2pa_no.mp4", "cawg_no.mp4", "own.mp4"):
        perm = training_permission(video_folder / name)
        assert not perm.allowed and "notAllowed" in perm.reason and perm.c2pa_state == "Valid"


def test_loader_skips_do_not_train_and_records(video_folder, tmp_path):
    record = tmp_path / "data_manifest.json"
    clips = UserVideoClips(video_folder, frames=8, size=16, manifest_path=record)
    data = json.loads(record.read_text())
    used = sorted(p.rsplit("/", 1)[-1] for p in (u["path"] for u in data["used"]))
    skipped = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in data["skipped"]}
    assert used == ["cawg_yes.mp4", "plain.mp4"] and len(clips) == 2
    assert set(skipped) == {"c2pa_no.mp4", "cawg_no.mp4", "own.mp4", "short.mp4"}
    assert "c2pa.ai_generative_training" in skipped["c2pa_no.mp4"]
    assert "frames" in skipped["short.mp4"]
    batch = clips.sample(3, np.random.default_rng(0))
    assert batch.shape == (3, 3, 8, 16, 16) and -1 <= batch.min() and batch.max() <= 1


def test_training_with_user_videos(video_folder, tmp_path):
    from generator.config import TrainConfig
    from generator.training import train

    from tests.generator.conftest import TINY

    cfg = TrainConfig(steps=2, batch_size=4, warmup=1, threads=1, user_fraction=0.5)
    train(tmp_path / "run", TINY, cfg, data_dir=video_folder, progress=False)
    data = json.loads((tmp_path / "run" / "data_manifest.json").read_text())
    assert len(data["used"]) == 2 and len(data["skipped"]) == 4


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError):
        UserVideoClips(tmp_path / "missing")
    with pytest.raises(InputError):
        training_mining_assertion("maybe")
