from __future__ import annotations

import numpy as np
import pytest

from provenant.errors import ConfigurationError, PayloadError
from watermark import DEFAULT_KEY, KEY_ENV, WatermarkConfig, parse_payload, resolve_key


def test_payload_forms_agree() -> None:
    a = parse_payload("0123456789abcdef")
    assert a.shape == (64,)
    assert np.array_equal(a, parse_payload(bytes.fromhex("0123456789abcdef")))
    assert np.array_equal(a, parse_payload(0x0123456789ABCDEF))
    assert np.array_equal(a, parse_payload("0x0123456789ABCDEF"))


@pytest.mark.parametrize("bad", ["", "xyz", "0123", "0123456789abcdef00", b"\x00" * 7, -1,
                                 2**64, 1.5, None, True])
def test_bad_payload_is_rejected_with_a_named_message(bad: object) -> None:
    with pytest.raises(PayloadError, match="payload"):
        parse_payload(bad)  # type: ignore[arg-type]


def test_key_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert resolve_key(None) == DEFAULT_KEY.encode()
    monkeypatch.setenv(KEY_ENV, "from-env")
    assert resolve_key(None) == b"from-env"
    assert resolve_key("explicit") == b"explicit"
    with pytest.raises(PayloadError, match="key"):
        resolve_key("")


@pytest.mark.parametrize("field,value", [("alpha", 0.0), ("fpr", 1.5), ("tile_chips", 31),
                                         ("chip_policy", "big"), ("sample_frames", 0),
                                         ("pilot_fraction", 0.9),
                                         ("residual_filter", "wiener"),
                                         ("key_frame_filter", "wiener")])
def test_config_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=field):
        WatermarkConfig(**{field: value})


def test_chip_size_policy_scales_with_the_shorter_side() -> None:
    cfg = WatermarkConfig()
    assert cfg.chip_size(128, 128) == 2
    assert cfg.chip_size(720, 1280) == 8
    assert cfg.chip_size(1280, 720) == 8  # portrait: same as landscape
    assert cfg.chip_size(2160, 3840) > cfg.chip_size(1080, 1920) > cfg.chip_size(720, 1280)
    assert WatermarkConfig(chip_policy="fixed", chip_px=5).chip_size(2160, 3840) == 5


def test_a_still_gets_smaller_chips_and_a_video_frame_grab_is_still_found(
        small_clip: np.ndarray) -> None:
    from tests.watermark.conftest import KEY, PAYLOAD
    from watermark import detect, embed
    from watermark.pattern import frame_pattern

    cfg = WatermarkConfig()
    assert cfg.for_still().tiles_across == cfg.still_tiles_across == 4.0
    assert cfg.for_still().for_still() == cfg.for_still()
    assert cfg.for_still().chip_size(720, 1280) < cfg.chip_size(720, 1280)
    with pytest.raises(ConfigurationError, match="still_tiles_across"):
        WatermarkConfig(still_tiles_across=0.5)
    frame = small_clip[0]
    still = embed(frame, PAYLOAD, KEY)  # an image is marked with the still's chips ...
    bits, key = parse_payload(PAYLOAD), resolve_key(KEY)
    pattern = frame_pattern(key, bits, *frame.shape[:2], cfg.for_still())
    change = still.astype(float).mean(axis=2) - frame.astype(float).mean(axis=2)
    assert np.corrcoef(change.ravel(), pattern.ravel())[0, 1] > 0.5
    grab = embed(small_clip[None, 0], PAYLOAD, KEY)[0]  # ... a video frame with the video's
    r = detect(grab, KEY)
    assert r.detected and r.payload == PAYLOAD
