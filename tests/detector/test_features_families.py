from __future__ import annotations

import numpy as np
import pytest
import torch

from provenant.errors import ConfigurationError

from detector.families import FAMILIES, available_families, get_family
from detector.features import IN_CHANS, ForensicFeatures, in_chans


def _triplet(rng: np.random.Generator, size: int = 32) -> np.ndarray:
    return rng.integers(0, 256, size=(1, 3, 3, size, size), dtype=np.uint8)


def test_feature_shape_and_channels() -> None:
    x = torch.from_numpy(_triplet(np.random.default_rng(0)))
    out = ForensicFeatures()(x)
    assert out.shape == (1, IN_CHANS, 32, 32)
    with pytest.raises(ValueError):
        ForensicFeatures()(x[:, :2])


def test_five_frame_window_shows_the_alternation() -> None:
    """Frames a, (a+c)/2, c, (c+e)/2, e: the second difference vanishes at the made frames
    (t-1 and t+1 of the middle one) and not at the real middle frame."""
    rng = np.random.default_rng(2)
    a, c, e = rng.random((3, 3, 16, 16)).astype(np.float32)
    x = torch.from_numpy(np.stack([a, (a + c) / 2, c, (c + e) / 2, e])[None])
    f = ForensicFeatures(5)
    out = f(x)
    assert out.shape == (1, in_chans(5), 16, 16) == (1, 14, 16, 16) and in_chans(3) == IN_CHANS
    d2_prev, d2_mid, d2_next = out[:, 11], out[:, 12], out[:, 13]
    assert d2_prev.abs().max() < 1e-5 and d2_next.abs().max() < 1e-5
    assert d2_mid.abs().mean() > 0.05
    with pytest.raises(ValueError):
        f(x[:, :3])
    with pytest.raises(ValueError):
        ForensicFeatures(4)


def test_a_five_frame_model_fits_and_scores_short_tubes() -> None:
    from dataclasses import replace

    from detector.classifier import VideoDetector
    from tests.detector.conftest import TINY, toy_clips

    X, y, groups = toy_clips(32)  # tubes of 3 frames: runs repeat the end frames
    det = VideoDetector(replace(TINY, temporal_window=5, epochs=1), progress=False)
    det.fit(X, y, groups=groups)
    assert det.predict_proba(X).shape == (32, 2)


def test_residuals_vanish_where_they_should() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 256, (2, 3, 16, 16)).astype(np.float32)
    mid = (a + b) / 2  # an interpolated frame: the second temporal difference is zero
    x = torch.from_numpy(np.stack([a, mid, b])[None] / 255.0)
    out = ForensicFeatures()(x.float())
    assert out[:, 9].abs().max() < 1e-5
    assert out[:, 8].abs().max() > 0.01  # the first difference is not
    flat = torch.full((1, 3, 3, 16, 16), 0.5)
    assert ForensicFeatures()(flat)[:, :8].abs().max() < 1e-6  # SRM and NPR of a flat patch
    small = torch.rand(1, 3, 3, 8, 8)
    nn_up = small.repeat_interleave(2, -1).repeat_interleave(2, -2)  # nearest-neighbour upsampled
    assert ForensicFeatures()(nn_up)[:, 5:8].abs().max() < 1e-6  # NPR sees no residual


def test_outer_srm_channels_are_the_neighbours_residuals() -> None:
    rng = np.random.default_rng(4)
    a, b, c = rng.random((3, 3, 16, 16)).astype(np.float32)
    f = ForensicFeatures()
    out = f(torch.from_numpy(np.stack([a, b, c])[None]))
    first = f(torch.from_numpy(np.stack([b, a, c])[None]))  # a in the middle
    last = f(torch.from_numpy(np.stack([a, c, b])[None]))  # c in the middle
    assert torch.allclose(out[:, 3], first[:, 0], atol=1e-6)  # KV residual of the previous frame
    assert torch.allclose(out[:, 4], last[:, 0], atol=1e-6)  # ... and of the next frame
    assert not torch.allclose(out[:, 3], out[:, 0], atol=1e-3)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_keeps_shape_and_changes_pixels(name: str) -> None:
    rng = np.random.default_rng(2)
    clip = np.clip(rng.normal(128, 40, (6, 40, 48, 3)), 0, 255).astype(np.uint8)
    fam = get_family(name)
    params = fam.draw(np.random.default_rng(3))
    out = fam.apply(clip, params)
    assert out.shape == clip.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - clip).mean() > 1.0
    np.testing.assert_array_equal(out, fam.apply(clip, params))  # the draw is apart from applying


def test_unknown_family_and_availability() -> None:
    with pytest.raises(ConfigurationError):
        get_family("dreamcatcher")
    assert set(FAMILIES) <= set(available_families())


def test_generator_family_when_it_ships_weights() -> None:
    from provenant.errors import CapabilityUnavailableError

    try:
        fam = get_family("generator")
    except CapabilityUnavailableError:
        assert "generator" not in available_families()
        return
    params = {**fam.draw(np.random.default_rng(0)), "steps": 2}
    out = fam.apply(np.zeros((3, 40, 48, 3), np.uint8), params)
    assert out.shape == (3, 40, 48, 3) and out.dtype == np.uint8 and out.std() > 0
