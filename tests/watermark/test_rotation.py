"""The rotation search: a tilted, cropped clip is found, and the angle is the attack's."""

from __future__ import annotations

import numpy as np
import pytest

from tests.watermark.conftest import KEY, PAYLOAD
from watermark import WatermarkConfig
from watermark.attacks import Clip, make_attack
from watermark.config import resolve_key
from watermark.detection import ResidualAccumulator
from watermark.pattern import layout
from watermark.rotation import rotation_candidate
from watermark.testing import detect_clip


@pytest.fixture(scope="module")
def rotated(attack_marked: np.ndarray) -> Clip:
    """The marked clip rotated by 5° about its centre, then cropped to the central 80 %."""
    return make_attack("rotate_5")(Clip(list(attack_marked), 25.0), {})


def test_the_search_recovers_the_angle(rotated: Clip) -> None:
    cfg = WatermarkConfig()
    acc = ResidualAccumulator(cfg)
    for frame in rotated.frames[:8]:
        acc.add(frame)
    found = rotation_candidate(acc.total, cfg, acc.expected, acc.shape,
                               layout(resolve_key(KEY), cfg.tile_chips, cfg.pilot_fraction))
    assert found is not None
    angle, period, _ = found
    # rotating the residual back by -5° undoes the attack's +5° (OpenCV's counter-clockwise)
    assert angle == pytest.approx(-5.0, abs=0.5)
    assert period[0] == pytest.approx(32 * cfg.chip_size(288, 384), rel=0.01)  # uncropped chips


def test_a_rotated_clip_is_found_only_with_the_search(rotated: Clip) -> None:
    r = detect_clip(rotated, KEY)
    assert r.detected and r.payload == PAYLOAD
    assert r.transform == "rotated 5° anticlockwise"  # OpenCV's positive angle, as displayed
    assert not detect_clip(rotated, KEY, WatermarkConfig(rotation_search=False)).detected
    assert not detect_clip(rotated, "wrong-key").detected


def test_an_off_grid_angle_beats_a_decoy_on_the_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    """5° lies 1° off a 2° coarse grid, where the true lattice's pilot can rank below a wrong
    period's; refining the few best coarse candidates, not only the first, finds it."""
    import watermark.rotation as rotation
    from watermark.config import parse_payload
    from watermark.pattern import frame_pattern

    cfg = WatermarkConfig(rotation_step=2.0)
    key, bits = resolve_key(KEY), parse_payload(PAYLOAD)
    lay = layout(key, cfg.tile_chips, cfg.pilot_fraction)
    h, w = 360, 480
    cropped = frame_pattern(key, bits, 576, 768, cfg)[:h, :w]  # 6-px chips: period 192
    decoy = frame_pattern(key, bits, h, w, cfg)  # 4-px chips: the expected period, 128
    noise = np.random.default_rng(0).standard_normal((h, w))
    total = (rotation.rotate(cropped, 5.0) + 0.62 * rotation.rotate(decoy, 8.0)
             + noise).astype(np.float32)
    angle, period, _ = rotation_candidate(total, cfg, 128.0, (h, w), lay)
    assert angle == pytest.approx(-5.0, abs=0.3) and period[0] == pytest.approx(192.0)
    monkeypatch.setattr(rotation, "REFINE_TOP", 1)  # the first coarse candidate alone
    angle, period, _ = rotation_candidate(total, cfg, 128.0, (h, w), lay)
    assert angle == -8.0 and period[0] == pytest.approx(128.0)


def test_the_coarse_grid_is_fine_enough_for_stills_and_short_clips() -> None:
    from provenant.media import read_image
    from provenant.samples import sample_photos
    from watermark import detect, embed
    from watermark.rotation import coarse_degrees

    assert sorted(coarse_degrees(2.0)) == [-10, -8, -6, -4, -2, 2, 4, 6, 8, 10]
    assert len(coarse_degrees(WatermarkConfig().rotation_step)) == 20  # 1° apart
    photo = read_image(sample_photos()["astronaut"])  # 512x512: 4-pixel chips as a still
    marked = embed(photo, PAYLOAD, KEY)
    for degrees in (5.0, -7.0):  # 1° off a 2° grid, which missed both (z = 10.1)
        rotated = make_attack("rotate_5", degrees=degrees)(Clip([marked], 1.0)).frames[0]
        r = detect(rotated, KEY)
        assert r.detected and r.payload == PAYLOAD, (degrees, r.z_score)
