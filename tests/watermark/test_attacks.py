"""The attack registry, and detection under a few attacks on a small clip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from provenant.errors import ConfigurationError
from tests.watermark.conftest import KEY, PAYLOAD
from watermark import detect, embed
from watermark.attacks import (
    ATTACKS, IMAGE_ATTACKS, Clip, attack_names, codec_roundtrip, make_attack, still_codec_roundtrip,
)
from watermark.testing import detect_clip

REQUIRED = {"none", "h264_crf23", "h264_crf28", "h264_crf35", "h264_crf40", "h265_crf28",
            "vp9_crf32", "resize_0.5", "resize_0.25", "crop_centre_70", "crop_offcentre_50",
            "rotate_5", "brightness_+30", "brightness_-30", "contrast_0.7", "contrast_1.3",
            "gamma_0.8", "gamma_1.2", "noise_5", "blur_1", "drop_alternate", "segment_2s",
            "fps_30_to_24", "combo_h264_28_resize_0.5_crop_80", "letterbox_square", "mirror",
            "rotate_90", "gif", "webp_anim_75", "stretch_4_3", "picture_in_picture"}


def test_registry_has_the_whole_suite() -> None:
    assert REQUIRED == set(ATTACKS)
    assert set(attack_names("codec")) == {n for n in REQUIRED
                                          if n[:4] in ("h264", "h265", "vp9_", "gif", "webp")}
    with pytest.raises(ConfigurationError, match="attack"):
        make_attack("nope")


def test_draw_is_apart_from_apply_and_deterministic(small_clip: np.ndarray) -> None:
    clip = Clip(list(small_clip[:4]), 25.0)
    atk = make_attack("noise_5")
    p1, p2 = atk.draw(np.random.default_rng(3)), atk.draw(np.random.default_rng(3))
    assert p1 == p2
    a, b = atk(clip, p1), atk(clip, p1)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    assert not np.array_equal(a.frames[0], clip.frames[0])


def test_geometry_and_time_shapes(small_clip: np.ndarray) -> None:
    clip = Clip(list(small_clip), 30.0)
    assert make_attack("resize_0.5")(clip).shape == (96, 128)
    h, w = make_attack("crop_centre_70")(clip).shape
    assert abs(h * w / (192 * 256) - 0.7) < 0.02
    fps = make_attack("fps_30_to_24")(clip)
    assert fps.fps == 24.0 and len(fps.frames) == int(24 * 0.8)
    seg = make_attack("segment_2s")(Clip(list(small_clip) * 3, 25.0), {"start": 0.5})
    assert len(seg.frames) == 50
    assert make_attack("resize_0.25", scale=0.75)(clip).shape == (144, 192)
    assert make_attack("stretch_4_3")(clip).shape == (192, 341)
    inset = make_attack("picture_in_picture")
    shown = inset(clip, {"corner": 3, "host_seed": 1})
    assert shown.shape == clip.shape and len(shown.frames) == len(clip.frames)
    small = cv2.resize(clip.frames[5], (85, 64), interpolation=cv2.INTER_AREA)
    # bottom-right, 4% of each side from the edges
    assert np.array_equal(shown.frames[5][192 - 8 - 64: 192 - 8, 256 - 10 - 85: 256 - 10], small)
    assert not np.array_equal(shown.frames[5][:64, :85], small)


def test_codec_roundtrip_marks_key_frames(small_clip: np.ndarray) -> None:
    out = codec_roundtrip(Clip(list(small_clip[:10]), 25.0), "libx264", 28)
    assert len(out.frames) == 10 and out.shape == (192, 256)
    assert out.keyframes is not None and 0 in out.keyframes
    dropped = make_attack("drop_alternate")(out)
    assert dropped.keyframes == (0,) and dropped.fps == 12.5


@pytest.mark.parametrize("name", ["h264_crf28", "resize_0.5", "crop_offcentre_50",
                                  "brightness_-30", "gamma_1.2", "noise_5", "blur_1",
                                  "drop_alternate", "letterbox_square", "gif",
                                  "webp_anim_75", "stretch_4_3"])
def test_detection_survives_attack(name: str, attack_marked: np.ndarray) -> None:
    atk = make_attack(name)
    out = atk(Clip(list(attack_marked), 25.0), atk.draw(np.random.default_rng(0)))
    r = detect_clip(out, KEY)
    assert r.detected and r.payload == PAYLOAD, (name, r.z_score)
    assert not detect_clip(out, "wrong-key").detected


def test_the_image_registry_has_still_codecs_and_no_time_attacks(small_clip: np.ndarray) -> None:
    assert {"jpeg_90", "jpeg_75", "jpeg_50", "webp_75", "webp_50", "heic_50",
            "avif_50"} <= set(IMAGE_ATTACKS)
    assert not {n for n, a in IMAGE_ATTACKS.items() if a.category == "time"}
    # new attacks come last, so no earlier draw moved
    assert list(ATTACKS)[-7:] == ["letterbox_square", "mirror", "rotate_90", "gif",
                                  "webp_anim_75", "stretch_4_3", "picture_in_picture"]
    assert list(IMAGE_ATTACKS)[-5:] == ["combo_jpeg_75_resize_0.5_crop_80", "mirror", "rotate_90",
                                        "heic_50", "avif_50"]
    still = Clip([small_clip[0]], 1.0)
    for fmt in ("jpeg", "webp", "heic", "avif"):
        fine = still_codec_roundtrip(still, fmt, 90).frames[0].astype(float)
        coarse = still_codec_roundtrip(still, fmt, 30).frames[0].astype(float)
        err = [np.abs(x - small_clip[0]).mean() for x in (fine, coarse)]
        assert 0 < err[0] < err[1]  # a real lossy encoder: lower quality, larger error
    combo = IMAGE_ATTACKS["combo_jpeg_75_resize_0.5_crop_80"]
    out = combo(still, combo.draw(np.random.default_rng(0)))
    assert abs(out.shape[0] * out.shape[1] / (96 * 128) - 0.8) < 0.03


@pytest.mark.parametrize("name", ["jpeg_50", "webp_50", "heic_50", "avif_50",
                                  "crop_offcentre_50", "gamma_0.8"])
def test_a_still_survives_image_attacks(name: str, small_clip: np.ndarray) -> None:
    marked = embed(small_clip[3], PAYLOAD, KEY)
    atk = IMAGE_ATTACKS[name]
    out = atk(Clip([marked], 1.0), atk.draw(np.random.default_rng(0))).frames[0]
    r = detect(out, KEY)
    assert r.detected and r.payload == PAYLOAD, (name, r.z_score)
    assert not detect(out, "wrong-key").detected
