"""The oracle measurement: its bars follow the detection test, and its z reads what is there."""

from __future__ import annotations

import numpy as np

from benchmarks import watermark_ceiling_bench as ceiling
from tests.benchmarks.conftest import table_widths
from watermark import WatermarkConfig, embed
from watermark.config import resolve_key
from watermark.decision import z_to_detect


def test_bars_are_the_tests_own() -> None:
    cfg = WatermarkConfig()
    bars = ceiling.bars(cfg)
    # the canonical hypothesis is tested as one of looks / share equal ones
    assert abs(bars["blind_canonical"] - z_to_detect(5 / cfg.canonical_share, cfg.fpr)) < 1e-6
    assert bars["store"] < bars["blind_canonical"] < bars["blind_other"]
    assert ceiling.bars(cfg, store_size=10)["store"] < bars["store"]
    assert ceiling.bars(cfg, looks=1)["blind_other"] < bars["blind_other"]


def test_codeword_z_reads_the_embedded_codeword_and_nothing_else() -> None:
    cfg = WatermarkConfig()
    rng = np.random.default_rng(0)
    frames = rng.integers(60, 200, size=(4, 192, 192, 3), dtype=np.uint8)
    frames = np.repeat(np.repeat(frames[:, ::8, ::8], 8, axis=1), 8, axis=2)  # blocky texture
    marked = np.stack(list(embed(frames, ceiling.PAYLOAD, ceiling.KEY, cfg))).astype(np.float32)
    diff = (marked - frames.astype(np.float32)).mean(axis=3).sum(axis=0)
    period = cfg.tile_chips * cfg.chip_size(192, 192)
    key = resolve_key(ceiling.KEY)
    assert ceiling.codeword_z(diff, period, key, ceiling.PAYLOAD, cfg) > 20.0
    assert ceiling.codeword_z(diff, period, key, "fedcba9876543210", cfg) < 6.0
    assert ceiling.codeword_z(diff, period, resolve_key("other"), ceiling.PAYLOAD, cfg) < 6.0


def test_markdown_has_one_row_per_measurement() -> None:
    z = {"oracle:sampled": 12.0, "oracle:key": 11.0, "look:every": 8.0, "look:keyed": 7.0,
         "look:fine": 9.0}
    result = {"mode": "quick", "attacks": ["h264_crf28", "h264_crf35"], "clips": 1,
              "bars": {"blind_canonical": 10.8, "blind_other": 11.16, "store": 7.7},
              "oracle_reach": {"h264_crf28": [1, 1], "h264_crf35": [0, 1]},
              "rows": [{"clip": "a", "chip": 2, "chips": "auto",
                        "z": {"h264_crf28": z, "h264_crf35": z}},
                       {"clip": "a", "chip": 4, "chips": "fixed", "z": {"h264_crf35": z}}]}
    md = ceiling.markdown(result)
    assert "| a | 2 | 12.0 / 9.0 | 12.0 / 9.0 |" in md
    assert "| a | 4 |  | 12.0 / 9.0 |" in md
    assert "h264_crf35 0 of 1" in md
    assert table_widths(md) == [{4}]


def test_reach_counts_the_clips_in_scope_and_the_headline_says_so() -> None:
    def row(oracle: float, side: int) -> dict:
        return {"z": {"a": {"oracle:sampled": oracle, "oracle:key": 1.0, "look:every": 20.0,
                            "min_side": side}}}

    rows = [row(12.0, 144), row(9.0, 200), row(15.0, 100)]  # the last one out of scope
    reach = ceiling.oracle_reach(rows, ["a"], 10.8)
    assert reach == {"a": [1, 2]}  # the looks never count towards the oracle
    line = ceiling.headline({"h264_crf28": [14, 14], "combo_h264_28_resize_0.5_crop_80": [10, 10]},
                            10.8)
    assert "(10.80) on 14 of 14 clips after H.264 CRF 28, 10 of 10 clips after the combination" \
        in line


def test_measure_reads_the_oracle_and_every_look_of_an_attacked_clip() -> None:
    from watermark.attacks import Clip
    from watermark.testing import procedural_clip

    clip = Clip(procedural_clip(160, 192, 12, seed=4), 25.0)
    z = ceiling.measure(clip, "small", ["h264_crf23", "h264_crf35"], WatermarkConfig(), 0)
    assert set(z["h264_crf23"]) == {"oracle:sampled", "oracle:key", "min_side",
                                    *(f"look:{n}" for n in ceiling.LOOKS)}
    assert z["h264_crf23"]["min_side"] == 160
    assert ceiling.best(z["h264_crf23"], "oracle") > 12.0  # the codec keeps most of it
    assert ceiling.best(z["h264_crf23"], "look") > 10.0
    assert ceiling.best(z["h264_crf35"], "oracle") < ceiling.best(z["h264_crf23"], "oracle") - 5
