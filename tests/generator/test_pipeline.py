from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from generator.config import UNetConfig
from generator.model import UNet3D
from generator.pipeline import MAX_GUIDANCE, MAX_STEPS, TextToVideoPipeline
from generator.schedulers import SCHEDULERS
from provenant.errors import ConfigurationError, InputError, NotFoundError

from tests.generator.conftest import TINY

PROMPT = "a red circle moving left on a blue background, camera panning right"


def test_model_shapes():
    model = UNet3D(TINY)
    x = torch.randn(2, 3, 4, 16, 16)  # (B, C, T, H, W)
    cond = torch.zeros(2, len(TINY.slot_sizes), dtype=torch.long)
    assert model(x, torch.rand(2), cond).shape == x.shape
    assert model(torch.randn(1, 3, 6, 32, 16), torch.rand(1), cond[:1]).shape == (1, 3, 6, 32, 16)


def test_config_validation():
    with pytest.raises(ConfigurationError, match="channels"):
        UNetConfig(channels=(10, 20), groups=8)
    with pytest.raises(ConfigurationError, match="size"):
        UNetConfig(size=30)


@pytest.mark.parametrize("scheduler", sorted(SCHEDULERS))
def test_pipeline_shapes_and_determinism(tiny_weights, scheduler):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, scheduler=scheduler, device="cpu")
    a = pipe(PROMPT, seed=3)
    assert a.shape == (4, 16, 16, 3) and a.dtype == np.uint8
    assert np.array_equal(a, pipe(PROMPT, seed=3))
    assert not np.array_equal(a, pipe(PROMPT, seed=4))
    batch = pipe([PROMPT, "a cyan square"], num_frames=6, height=32, width=16, seed=1)
    assert batch.shape == (2, 6, 32, 16, 3)
    pt = pipe(PROMPT, output_type="pt", num_inference_steps=2)
    assert pt.shape == (3, 4, 16, 16) and pt.min() >= -1 and pt.max() <= 1


def test_guidance_and_prompt_change_output(tiny_weights):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")
    base = pipe(PROMPT, seed=0, guidance_scale=1.0)
    assert not np.array_equal(base, pipe(PROMPT, seed=0, guidance_scale=4.0))
    assert not np.array_equal(base, pipe("a yellow triangle", seed=0, guidance_scale=1.0))


def test_guidance_interval_limits_guidance_to_its_noise_levels(tiny_weights, tmp_path):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")  # t = 1, 2/3, 1/3
    unguided = pipe(PROMPT, seed=0, guidance_scale=1.0)
    guided = pipe(PROMPT, seed=0, guidance_scale=4.0)
    assert np.array_equal(guided, pipe(PROMPT, seed=0, guidance_scale=4.0,
                                       guidance_interval=(0.0, 1.0)))
    # no step lies in (0, 0.2]: the guided call is the conditional one
    assert np.array_equal(unguided, pipe(PROMPT, seed=0, guidance_scale=4.0,
                                         guidance_interval=(0.0, 0.2)))
    partial = pipe(PROMPT, seed=0, guidance_scale=4.0, guidance_interval=(0.5, 1.0))
    assert not np.array_equal(partial, guided) and not np.array_equal(partial, unguided)
    # the config's interval is the default, and it survives save/load
    from dataclasses import replace

    narrowed = TextToVideoPipeline(pipe.model.__class__(
        replace(pipe.config, guidance_interval=(0.5, 1.0))), device="cpu")
    narrowed.model.load_state_dict(pipe.model.state_dict())
    again = TextToVideoPipeline.from_pretrained(narrowed.save_pretrained(tmp_path / "w"),
                                                device="cpu")
    assert again.config.guidance_interval == (0.5, 1.0)
    assert np.array_equal(partial, again(PROMPT, seed=0, guidance_scale=4.0))


def test_bad_guidance_interval(tiny_weights):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")
    for bad in [(0.5, 0.5), (-0.1, 1.0), (0.0, 1.5), (0.3,), "0.3", (0.1, "x")]:
        with pytest.raises(InputError, match="guidance_interval"):
            pipe(PROMPT, guidance_interval=bad)
    with pytest.raises(ConfigurationError, match="guidance_interval"):
        UNetConfig(guidance_interval=(0.9, 0.1))


def test_generator_argument(tiny_weights):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")
    a = pipe(PROMPT, generator=torch.Generator().manual_seed(7))
    b = pipe(PROMPT, generator=torch.Generator().manual_seed(7))
    assert np.array_equal(a, b)


def test_bad_arguments(tiny_weights):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")
    with pytest.raises(InputError, match="height"):
        pipe(PROMPT, height=10)
    with pytest.raises(InputError, match="num_frames"):
        pipe(PROMPT, num_frames=0)
    with pytest.raises(InputError, match="unknown word"):
        pipe("a purple circle")
    for steps in (0, -3, MAX_STEPS + 1, 2.5):  # a huge count would tie the machine up for days
        with pytest.raises(InputError, match="num_inference_steps"):
            pipe(PROMPT, num_inference_steps=steps)
    with pytest.raises(InputError, match="guidance_scale"):
        pipe(PROMPT, guidance_scale=MAX_GUIDANCE + 1)
    for seed in (-1, 2**64, 2.5, True):  # an overflow ended in an internal error; -1 wrapped
        with pytest.raises(InputError, match="seed"):
            pipe(PROMPT, seed=seed)
    assert pipe(PROMPT, seed=2**64 - 1).shape == (4, 16, 16, 3)


def test_save_load_round_trip(tiny_weights, tmp_path):
    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")
    out = pipe.save_pretrained(tmp_path / "copy")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((out / "config.json").read_text())["channels"] == [8, 16]
    again = TextToVideoPipeline.from_pretrained(out, device="cpu")
    assert again.config == pipe.config and again.weights_sha256 == pipe.weights_sha256
    for k, v in pipe.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k])
    assert np.array_equal(pipe(PROMPT, seed=2), again(PROMPT, seed=2))


def test_missing_weights(tmp_path):
    with pytest.raises(NotFoundError, match="no generator weights"):
        TextToVideoPipeline.from_pretrained(tmp_path)


def test_shipped_weights_load_and_are_small():
    from generator.pipeline import default_weights_dir

    d = default_weights_dir()
    if not (d / "model.safetensors").is_file():
        pytest.skip("no shipped weights in this checkout")
    assert (d / "model.safetensors").stat().st_size <= 25 * 2**20
    assert (d / "MODEL_CARD.md").is_file()
    pipe = TextToVideoPipeline.from_pretrained(device="cpu")
    assert pipe(PROMPT, num_inference_steps=2).shape == (pipe.config.frames, pipe.config.size,
                                                         pipe.config.size, 3)


def test_per_frame_noise_levels_match_one_level_when_equal():
    model = UNet3D(TINY).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    x = torch.randn(2, 3, 4, 16, 16)
    cond = torch.zeros(2, len(TINY.slot_sizes), dtype=torch.long)
    t = torch.tensor([0.3, 0.8])
    with torch.no_grad():
        shared = model(x, t, cond)
        per_frame = model(x, t[:, None].expand(2, 4), cond)
        mixed = model(x, torch.tensor([[0.0, 0.3, 0.3, 0.3], [0.8] * 4]), cond)
    assert torch.allclose(shared, per_frame, atol=1e-5)
    assert not torch.allclose(shared[0], mixed[0], atol=1e-4)  # the clean frame is seen as such
    assert torch.allclose(shared[1], mixed[1], atol=1e-5)


def test_autoregressive_sampling_keeps_made_frames_and_is_deterministic(tiny_weights, tmp_path):
    from dataclasses import replace

    from generator.pipeline import save_model

    pipe = TextToVideoPipeline.from_pretrained(tiny_weights, device="cpu")
    ar_model = UNet3D(replace(pipe.config, sampling="autoregressive"))
    ar_model.load_state_dict(pipe.model.state_dict())
    ar = TextToVideoPipeline.from_pretrained(save_model(ar_model, tmp_path / "ar"), device="cpu")
    assert json.loads((tmp_path / "ar" / "config.json").read_text())["sampling"] == "autoregressive"
    a = ar(PROMPT, seed=2, num_frames=6)  # longer than the model's 4-frame window
    assert a.shape == (6, 16, 16, 3)
    assert np.array_equal(a, ar(PROMPT, seed=2, num_frames=6))
    # the first frame is made from noise in a full window, like joint sampling's first step
    assert not np.array_equal(a, pipe(PROMPT, seed=2, num_frames=6))
    calls = []
    original = ar._denoise

    def spy(x, cond, steps, guidance, generator, clean=None, interval=(0.0, 1.0)):
        calls.append((x.shape[2], 0 if clean is None else clean.shape[2]))
        out = original(x, cond, steps, guidance, generator, clean, interval)
        if clean is not None:  # the given frames come back untouched
            assert torch.equal(out[:, :, :clean.shape[2]], clean)
        return out

    ar._denoise = spy
    ar(PROMPT, seed=2, num_frames=6)
    assert calls == [(4, 0), (4, 1), (4, 2), (4, 3), (4, 3), (4, 3)]


def test_autoregressive_config_is_validated():
    with pytest.raises(ConfigurationError, match="sampling"):
        UNetConfig(sampling="sideways")


def test_saved_weights_are_readable_by_other_accounts(tmp_path) -> None:
    import os
    import stat

    from generator.pipeline import save_model

    old = os.umask(0o022)
    try:
        save_model(UNet3D(UNetConfig(channels=(8, 16), groups=4, size=16, frames=4)), tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "model.safetensors").stat().st_mode) == 0o644
