from __future__ import annotations

import json

import numpy as np
import pytest

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


def test_warm_start_to_a_larger_patch_is_the_old_model_at_twice_the_size(tiny_weights):
    from dataclasses import replace

    import torch
    import torch.nn.functional as F

    from generator.model import UNet3D
    from generator.training import warm_start

    old = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu").model
    big = UNet3D(replace(TINY, patch=8, size=32)).eval()
    counts = warm_start(big, tiny_weights)
    assert counts["mapped"] == 3 and counts["new"] == 0  # stem weight, out weight and bias
    x, t = torch.randn(1, 3, 4, 32, 32), torch.tensor([0.6])
    cond = torch.zeros(1, len(TINY.slot_sizes), dtype=torch.long)
    with torch.no_grad():
        x0_big = x - 0.6 * big(x, t, cond)
        small = F.avg_pool3d(x, (1, 2, 2))
        x0_small = small - 0.6 * old(small, t, cond)
    assert torch.allclose(x0_big, F.interpolate(x0_small, scale_factor=(1, 2, 2)), atol=1e-5)


def test_training_from_a_warm_start_fine_tunes(tiny_weights, tmp_path):
    cfg = TrainConfig(steps=2, batch_size=2, warmup=1, threads=1)
    summary = train(tmp_path / "w", TINY, cfg, init_from=tiny_weights, progress=False)
    assert summary["warm_start"] == {"copied": summary["warm_start"]["copied"], "mapped": 0,
                                     "new": 0}
    assert summary["warm_start"]["copied"] > 10
    pipe = TextToVideoPipeline.from_pretrained(tmp_path / "w", device="cpu")
    assert pipe("a red circle", seed=0).shape == (4, 16, 16, 3)


def test_prefix_loss_scores_only_the_noised_frames():
    import torch

    from generator.model import UNet3D
    from generator.training import flow_matching_loss

    model = UNet3D(TINY)
    x0 = torch.rand(4, 3, 4, 16, 16) * 2 - 1
    cond = torch.zeros(4, len(TINY.slot_sizes), dtype=torch.long)
    seen = {}

    def spy(module, args, output):
        seen["t"] = args[1]
    handle = model.register_forward_hook(spy)
    loss = flow_matching_loss(model, x0, cond, torch.Generator().manual_seed(0), p_prefix=1.0)
    handle.remove()
    t = seen["t"]
    assert t.shape == (4, 4) and torch.isfinite(loss)
    for row in t:  # a clean prefix of 1..3 frames, then one shared noise level
        k = int((row == 0).sum())
        assert 1 <= k <= 3 and torch.all(row[:k] == 0) and torch.all(row[k:] == row[-1])
    plain = flow_matching_loss(model, x0, cond, torch.Generator().manual_seed(0))
    assert torch.isfinite(plain)


def test_autoregressive_training_via_cli_records_the_sampling(tmp_path):
    from generator.cli import _p_prefix
    from provenant.errors import ConfigurationError
    import argparse
    import pytest

    args = argparse.Namespace(p_prefix=None, sampling="autoregressive", prefix_noise=0.1,
                              user_fraction=0.25)
    assert _p_prefix(args) == 0.75
    with pytest.raises(ConfigurationError, match="p-prefix"):
        _p_prefix(argparse.Namespace(p_prefix=0.0, sampling="autoregressive", prefix_noise=0.1))
    with pytest.raises(ConfigurationError, match="prefix-noise"):
        _p_prefix(argparse.Namespace(p_prefix=None, sampling="autoregressive", prefix_noise=-1))
    with pytest.raises(ConfigurationError, match="user-fraction"):  # also without --data-dir
        _p_prefix(argparse.Namespace(p_prefix=None, sampling="autoregressive", prefix_noise=0.1,
                                     user_fraction=2.0))
    cfg = TrainConfig(steps=4, batch_size=2, warmup=1, checkpoint_every=4, threads=1,
                      p_prefix=0.75)
    from dataclasses import replace
    train(tmp_path / "run", replace(TINY, sampling="autoregressive"), cfg, progress=False)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["sampling"] == "autoregressive"


def test_training_from_render_workers_and_a_replay_pool(tmp_path):
    cfg = TrainConfig(steps=4, batch_size=4, warmup=1, threads=1, workers=1, pool_clips=16,
                      checkpoint_every=4)
    summary = train(tmp_path / "run", TINY, cfg, progress=False)
    assert summary["steps"] == 4 and summary["workers"] == 1
    assert summary["pool_clips_rendered"] >= 16  # waited for 4 batches' worth before step 1
    assert np.isfinite(summary["losses"]).all()


def test_module_entry_point_trains_and_reports_bad_options(tmp_path, capsys):
    from generator.__main__ import main

    assert main(["train", "generator", "--out", str(tmp_path / "bad"), "--workers", "-1"]) == 2
    assert "TrainConfig.workers=-1 is invalid" in capsys.readouterr().err
    assert main(["train", "generator", "--out", str(tmp_path / "ok"), "--steps", "1",
                 "--batch-size", "2", "--channels", "8,16", "--size", "16", "--frames", "4",
                 "--threads", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 1
    # the trained model samples as the shipped one does, unless told otherwise
    assert json.loads((tmp_path / "ok" / "config.json").read_text())["guidance_interval"] == [0.15, 1.0]
    assert main(["train", "generator", "--out", str(tmp_path / "all"), "--steps", "1",
                 "--batch-size", "2", "--channels", "8,16", "--size", "16", "--frames", "4",
                 "--threads", "1", "--guidance-interval", "0,1", "--json"]) == 0
    assert json.loads((tmp_path / "all" / "config.json").read_text())["guidance_interval"] == [0.0, 1.0]
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["train", "generator", "--out", str(tmp_path / "x"), "--guidance-interval", "1,0"])
    assert (tmp_path / "ok" / "model.safetensors").is_file()


def test_bad_worker_options_are_refused_before_anything_is_written(tmp_path):
    import pytest

    from provenant.errors import ConfigurationError

    bad = ({"workers": -1}, {"pool_clips": 0}, {"steps": 0}, {"batch_size": 0}, {"lr": 0.0},
           {"p_prefix": 1.5}, {"ema_decay": 1.0}, {"max_minutes": -1.0},
           {"seed": -1}, {"seed": 2**32})  # a negative seed ended in an internal error
    for kwargs in bad:  # refused where the config is made, naming the field
        with pytest.raises(ConfigurationError, match=f"TrainConfig.{next(iter(kwargs))}="):
            TrainConfig(**kwargs)
    assert not (tmp_path / "run").exists()


def test_self_made_prefixes_replace_only_the_prefix(tmp_path):
    import torch

    from generator.model import UNet3D
    from generator.training import flow_matching_loss, self_made_prefix

    torch.manual_seed(0)
    model = UNet3D(TINY)
    with torch.no_grad():  # a model whose estimate differs from the truth
        model.out.weight.normal_(0, 0.1)
    x0 = torch.rand(4, 3, 4, 16, 16) * 2 - 1
    cond = torch.zeros(4, len(TINY.slot_sizes), dtype=torch.long)
    est = self_made_prefix(model, x0, cond, torch.Generator().manual_seed(1))
    assert est.shape == x0.shape and not est.requires_grad
    assert est.abs().max() <= 1 and (est - x0).abs().mean() > 0.01
    seen = []
    handle = model.register_forward_hook(lambda m, args, out: seen.append(args))
    loss = flow_matching_loss(model, x0, cond, torch.Generator().manual_seed(0), p_prefix=1.0,
                              prefix_self=1.0)
    handle.remove()
    assert torch.isfinite(loss) and len(seen) == 2  # the estimate, then the scored pass
    xt, t = seen[1][0], seen[1][1]
    for i in range(4):
        k = int((t[i] == 0).sum())
        # the prefix the model is shown is its own estimate, not the true frames
        assert (xt[i, :, :k] - x0[i, :, :k]).abs().mean() > 0.01
    base = flow_matching_loss(model, x0, cond, torch.Generator().manual_seed(0), p_prefix=1.0)
    assert torch.isfinite(base) and not torch.isclose(base, loss)


def test_prefix_self_is_checked_and_reaches_the_training_config(tmp_path, capsys):
    from generator.__main__ import main

    assert main(["train", "generator", "--out", str(tmp_path / "bad"), "--sampling",
                 "autoregressive", "--prefix-self", "1.5"]) == 2
    assert "--prefix-self" in capsys.readouterr().err
    assert main(["train", "generator", "--out", str(tmp_path / "ok"), "--steps", "1",
                 "--batch-size", "2", "--channels", "8,16", "--size", "16", "--frames", "4",
                 "--threads", "1", "--sampling", "autoregressive", "--prefix-self", "0.5",
                 "--json"]) == 0
    ck = __import__("torch").load(tmp_path / "ok" / "checkpoint.pt", weights_only=False)
    assert ck["train_config"]["prefix_self"] == 0.5
