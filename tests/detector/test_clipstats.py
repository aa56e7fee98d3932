"""Clip statistics (frame parity, spectrum) and their fusion with the network."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from provenant.errors import ConfigurationError, InputError, NotFittedError

from detector.classifier import VideoDetector
from detector.clipstats import FEATURE_NAMES, StatisticsHead, clip_statistics
from tests.detector.conftest import TINY, toy_clips


def _panning_texture(frames: int = 8, size: int = 48, seed: int = 0,
                     blur: float = 1.2) -> np.ndarray:
    """A random texture panning 3 px per frame (real-like motion): ``(T, S, S, 3)``."""
    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(rng.integers(0, 256, (size + 3 * frames, size + 3 * frames, 3))
                           .astype(np.uint8), (0, 0), blur)
    return np.stack([big[3 * t:3 * t + size, 3 * t:3 * t + size] for t in range(frames)])


def _interpolated(clip: np.ndarray, start: int = 1) -> np.ndarray:
    """Every other frame (from ``start``) replaced by the mean of its neighbours."""
    out = clip.copy()
    for t in range(start, len(clip) - 1, 2):
        out[t] = ((clip[t - 1].astype(np.uint16) + clip[t + 1] + 1) // 2).astype(np.uint8)
    return out


def _as_tubes(clip: np.ndarray) -> np.ndarray:
    return clip.transpose(0, 3, 1, 2)[None, None]  # (1, 1, T, 3, S, S)


def _feature(stats: np.ndarray, name: str) -> float:
    return float(stats[0, FEATURE_NAMES.index(name)])


def test_interpolated_frames_break_the_parity_whichever_frames_were_made() -> None:
    real = _panning_texture()
    for start in (1, 2):  # odd frames made, or even ones: the features do not care which
        made = clip_statistics(_as_tubes(_interpolated(real, start)))
        base = clip_statistics(_as_tubes(real))
        for name in ("parity_d2_weighted", "parity_ratio_global"):
            assert _feature(made, name) > 5 * _feature(base, name) + 0.5, (name, start)


def test_upscaled_frames_lack_the_high_bands() -> None:
    real = _panning_texture(size=64, blur=0.7)
    up = np.stack([cv2.resize(cv2.resize(f, (21, 21), interpolation=cv2.INTER_AREA), (64, 64),
                              interpolation=cv2.INTER_CUBIC) for f in real])
    hi = FEATURE_NAMES.index("spectrum_band10")
    assert clip_statistics(_as_tubes(up))[0, hi] < clip_statistics(_as_tubes(real))[0, hi] - 2.0


def test_still_content_and_triplets_give_no_parity() -> None:
    still = np.repeat(_panning_texture(frames=1), 8, axis=0)
    stats = clip_statistics(_as_tubes(still))
    assert _feature(stats, "parity_d2_weighted") == pytest.approx(0.0, abs=1e-6)
    triplet = clip_statistics(_as_tubes(_panning_texture(frames=3)))
    assert _feature(triplet, "parity_ratio_global") == 0.0
    assert np.isfinite(stats).all() and np.isfinite(triplet).all()


def test_windows_are_measured_apart() -> None:
    """Two windows whose made frames have opposite parities still read as interpolated."""
    a, b = _interpolated(_panning_texture(seed=1), 1), _interpolated(_panning_texture(seed=2), 2)
    tubes = np.stack([a, b]).transpose(0, 1, 4, 2, 3)[None]  # (1, 2 tubes, T, 3, S, S)
    apart = clip_statistics(tubes, windows=np.array([0, 1]))
    mixed = clip_statistics(tubes)
    name = "parity_d2_mean"
    assert _feature(apart, name) > _feature(mixed, name)


@pytest.mark.parametrize("shape", [(2, 8, 3, 16, 16), (1, 2, 2, 3, 16, 16), (1, 2, 8, 1, 16, 16),
                                   (1, 2, 8, 3, 4, 4)])
def test_bad_tubes_are_an_input_error(shape) -> None:
    with pytest.raises(InputError):
        clip_statistics(np.zeros(shape, np.uint8))


def test_head_round_trip_and_errors() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, len(FEATURE_NAMES))), np.arange(60) % 2
    X[y == 1, 0] += 2.0
    head = StatisticsHead().fit(X, y)
    assert head.logits(X)[y == 1].mean() > head.logits(X)[y == 0].mean()
    again = StatisticsHead.from_dict(json.loads(json.dumps(head.to_dict())))
    np.testing.assert_allclose(again.logits(X), head.logits(X))
    with pytest.raises(NotFittedError):
        StatisticsHead().logits(X)
    with pytest.raises(ConfigurationError):
        StatisticsHead().fit(X, np.zeros(60))
    with pytest.raises(ConfigurationError, match="other features"):
        StatisticsHead.from_dict({**head.to_dict(), "features": ["x"]})


def test_fused_model_saves_its_head_and_fusion(tiny_model: VideoDetector, tiny_dir: Path) -> None:
    meta = json.loads((tiny_dir / "calibration.json").read_text())
    assert meta["statistics"]["features"] == list(FEATURE_NAMES) and len(meta["fusion"]) == 3
    X, _, _ = toy_clips(6, seed=9)
    parts = np.stack([tiny_model.network_logits(X), tiny_model.statistics_logits(X)], axis=1)
    w_net, w_stats, b = tiny_model.fusion_
    np.testing.assert_allclose(tiny_model.decision_function(X),
                               w_net * parts[:, 0] + w_stats * parts[:, 1] + b)


def test_network_alone_and_models_saved_before_the_statistics(toy_data, tiny_dir: Path,
                                                              tmp_path: Path) -> None:
    X, y, groups = toy_data
    alone = VideoDetector(replace(TINY, clip_statistics=False), progress=False).fit(X, y, groups)
    assert alone.statistics_ is None and alone.statistics_logits(X) is None
    assert alone.fusion_ == [1.0, 0.0, 0.0]
    np.testing.assert_allclose(alone.decision_function(X), alone.network_logits(X))
    old = Path(shutil.copytree(tiny_dir, tmp_path / "old"))  # calibration.json of 0.4.0
    meta = json.loads((old / "calibration.json").read_text())
    del meta["statistics"], meta["fusion"]
    (old / "calibration.json").write_text(json.dumps(meta))
    loaded = VideoDetector.from_pretrained(old)
    np.testing.assert_allclose(loaded.decision_function(X), loaded.network_logits(X))
