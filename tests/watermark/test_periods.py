"""Tile-period hypotheses: native chip periods for crops, and the pilot's ranking."""

from __future__ import annotations

import numpy as np
import pytest

from provenant.samples import sample_photos
from tests.watermark.conftest import KEY, PAYLOAD
from watermark import WatermarkConfig, detect, embed
from watermark.attacks import Clip, make_attack
from watermark.config import resolve_key
from watermark.detection import ResidualAccumulator, _periods_to_decode
from watermark.pattern import layout
from watermark.periods import (MAX_STRETCH, MIN_STRETCH, native_periods, period_hypotheses,
                               stretched_periods)
from watermark.testing import photo_pan_clip


@pytest.fixture(scope="module")
def horse_marked() -> np.ndarray:
    """``(8, 480, 640, 3)``: scikit-image's horse, a black silhouette on white, panned.
    Only its anti-aliased edges are mid-tones, so the mask leaves the pattern there alone,
    too sparse for the autocorrelation to show the tiling."""
    clip = np.stack(photo_pan_clip(sample_photos()["horse"], 480, 640, 8, seed=5))
    return embed(clip, PAYLOAD, KEY)


def test_native_periods_are_the_chips_of_cropped_or_padded_originals() -> None:
    cfg = WatermarkConfig()
    # A 480x640 frame (5 px chips) cropped to 402x535 expects 4 px chips; the original's
    # 5 px chips are among the hypotheses, for originals of half (2 px) to twice (8 px)
    # the side: crops and padding.
    periods = native_periods((402, 535), (400, 532), cfg)
    assert [round(p[0] * 402 / 400 / 32) for p in periods] == [2, 3, 5, 6, 7, 8]
    assert all(p[0] == p[1] for p in periods)
    assert native_periods((402, 535), (400, 532), WatermarkConfig(chip_policy="fixed")) == []


def test_a_crop_of_a_sparse_pattern_is_found_through_the_native_period(
        horse_marked: np.ndarray) -> None:
    assert detect(horse_marked, KEY).payload == PAYLOAD
    cfg = WatermarkConfig()
    cropped = make_attack("crop_centre_70")(Clip(list(horse_marked), 25.0), {"area": 0.7})
    ch, cw = cropped.shape
    assert cfg.chip_size(ch, cw) == 4 and cfg.chip_size(480, 640) == 5
    r = detect(np.stack(cropped.frames), KEY)
    assert r.detected and r.payload == PAYLOAD
    assert r.period[0] == pytest.approx(32 * 5 * 400 / ch, rel=0.01)  # the original's chips
    assert not detect(np.stack(cropped.frames), "not-the-key").detected


def test_the_pilot_ranking_decodes_no_more_periods_than_configured(
        horse_marked: np.ndarray) -> None:
    cfg = WatermarkConfig(period_candidates=3)
    acc = ResidualAccumulator(cfg)
    for frame in horse_marked[:4]:
        acc.add(frame[40:440, 60:600])
    hyp = period_hypotheses(acc.total, cfg, acc.expected, acc.shape)
    assert len(hyp.expected) + len(hyp.pool) > cfg.period_candidates  # a choice to make
    chosen = _periods_to_decode(acc, layout(resolve_key(KEY), cfg.tile_chips,
                                            cfg.pilot_fraction))
    assert len(chosen) == cfg.period_candidates
    assert chosen[0][0] == hyp.expected[0]  # the expected period is always decoded


def _tiled(py: float, px: float, h: int = 400, w: int = 600) -> np.ndarray:
    """A residual that is a random ±1 tile of 32x32 chips repeating at ``(py, px)``."""
    tile = np.random.default_rng(1).choice([-1.0, 1.0], size=(32, 32))
    y = (np.arange(h)[:, None] / py * 32).astype(int) % 32
    x = (np.arange(w)[None, :] / px * 32).astype(int) % 32
    noise = np.random.default_rng(2).normal(0, 1, (h, w))
    return tile[y, x] + noise


@pytest.mark.parametrize("py, px", [(80.0, 80 * 64 / 45), (96.0, 72.0), (70.0, 70 * 4 / 3)])
def test_a_stretch_along_one_axis_is_found(py: float, px: float) -> None:
    """An aspect change (anamorphic video widened to square pixels; a square picture
    squeezed into anamorphic storage) moves one side's period and not the other's."""
    cfg = WatermarkConfig()
    found = stretched_periods(_tiled(py, px), cfg, 2)
    assert any(abs(fy - py) < 1 and abs(fx - px) < 1 for fy, fx in found), found
    assert all(MIN_STRETCH <= max(fx / fy, fy / fx) <= MAX_STRETCH for fy, fx in found)
    pool = period_hypotheses(_tiled(py, px), cfg, expected=py).pool
    assert any(abs(fy - py) < 1 and abs(fx - px) < 1 for fy, fx in pool)


def test_a_stretched_video_is_found_at_its_stretch(attack_marked: np.ndarray) -> None:
    """Widened by 4/3 (HDV converted to square pixels): the payload comes back through the
    stretched period, x 4/3 of y; a wrong key still finds nothing."""
    out = make_attack("stretch_4_3")(Clip(list(attack_marked), 25.0))
    r = detect(np.stack(out.frames), KEY)
    assert r.detected and r.payload == PAYLOAD
    assert r.period[1] / r.period[0] == pytest.approx(4 / 3, rel=0.02)
    assert not detect(np.stack(out.frames), "not-the-key").detected


def test_a_sub_sample_peak_stays_within_half_a_sample() -> None:
    """A point on a slope (what the fundamental's window can return) has no nearby vertex:
    the parabola through a nearly straight slope puts it anywhere, outside the profile too."""
    from watermark.periods import _parabolic

    assert _parabolic(np.array([10.0, 9.9, 9.79, 0.0]), 1) == 1.0
    assert _parabolic(np.array([0.0, 1.0, 0.5]), 1) == pytest.approx(1.0 + 0.5 * -0.5 / -1.5)


def test_period_hypotheses_take_any_residual() -> None:
    """Smoothed noise of random sizes: the first 320 draws hold two residuals whose
    sub-sample peaks fell outside their profiles (an IndexError in a detection)."""
    import cv2

    cfg = WatermarkConfig()
    rng = np.random.default_rng(0)
    for _ in range(320):
        h, w = int(rng.integers(60, 260)), int(rng.integers(60, 400))
        res = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0),
                               float(rng.uniform(0.5, 8)))
        hyp = period_hypotheses(res, cfg)
        assert all(0 < p <= max(h, w) for period in hyp.pool for p in period)
