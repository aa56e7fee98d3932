from __future__ import annotations

import json

import numpy as np

from generator.config import TrainConfig
from generator.pipeline import TextToVideoPipeline
from generator.training import train

from tests.generator.conftest import TINY


def test_tiny_training_lowers_loss_and_saves(tmp_path):
    cfg = TrainConfig(steps=60, batch_size=8, lr=3e-3, warmup=5, checkpoint_every=30, seed=1,
                      threads=1, ema_decay=0.9)
    summary = train(tmp_path / "run", TINY, cfg, progress=False)
    losses = summary["losses"]
    assert np.mean(losses[-15:]) < np.mean(losses[:15]) - 0.05
    assert (tmp_path / "run" / "train_log.jsonl").read_text().count("loss") == 2
    assert summary["steps"] == 60 and summary["final_loss"] < summary["first_loss"]
    pipe = TextToVideoPipeline.from_pretrained(tmp_path / "run", device="cpu")
    assert pipe("a red circle", seed=0).shape == (4, 16, 16, 3)


def test_resume_continues_from_checkpoint(tmp_path):
    out = tmp_path / "run"
    cfg = TrainConfig(steps=6, batch_size=2, warmup=1, checkpoint_every=3, threads=1)
    train(out, TINY, cfg, progress=False)
    again = train(out, TINY, TrainConfig(steps=9, batch_size=2, warmup=1, checkpoint_every=3,
                                         threads=1), resume=True, progress=False)
    assert again["start_step"] == 6 and again["steps"] == 9


def test_training_is_seeded(tmp_path):
    cfg = TrainConfig(steps=3, batch_size=2, warmup=1, threads=1, seed=5)
    train(tmp_path / "a", TINY, cfg, progress=False)
    train(tmp_path / "b", TINY, cfg, progress=False)
    a = (tmp_path / "a" / "model.safetensors").read_bytes()
    assert a == (tmp_path / "b" / "model.safetensors").read_bytes()
    assert np.isfinite(json.loads((tmp_path / "a" / "config.json").read_text())["fps"])


def test_warm_start_copies_matching_weights_and_keeps_the_function(tiny_weights, tmp_path):
    import pytest
    import torch

    from generator.model import UNet3D
    from generator.training import warm_start
    from provenant.errors import NotFoundError

    old = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu").model
    torch.manual_seed(1)
    new = UNet3D(TINY).eval()
    x, t = torch.randn(2, 3, 4, 16, 16), torch.rand(2)
    cond = torch.zeros(2, len(TINY.slot_sizes), dtype=torch.long)
    with torch.no_grad():
        assert not torch.allclose(old(x, t, cond), new(x, t, cond), atol=1e-4)
        counts = warm_start(new, tiny_weights)
        assert counts["new"] == 0 and counts["copied"] == len(new.state_dict())
        assert torch.allclose(old(x, t, cond), new(x, t, cond), atol=1e-6)
    with pytest.raises(NotFoundError, match="to start from"):
        warm_start(new, tmp_path)


def test_training_from_a_warm_start_fine_tunes(tiny_weights, tmp_path):
    cfg = TrainConfig(steps=2, batch_size=2, warmup=1, threads=1)
    summary = train(tmp_path / "w", TINY, cfg, init_from=tiny_weights, progress=False)
    assert summary["warm_start"] == {"copied": summary["warm_start"]["copied"], "new": 0}
    assert summary["warm_start"]["copied"] > 10
    pipe = TextToVideoPipeline.from_pretrained(tmp_path / "w", device="cpu")
    assert pipe("a red circle", seed=0).shape == (4, 16, 16, 3)
