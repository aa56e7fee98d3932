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
from watermark.periods import native_periods, period_hypotheses
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
