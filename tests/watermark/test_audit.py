"""The robustness audit of one file: library, CLI, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from provenant.errors import InputError, UnsupportedMediaError
from provenant.media import probe, write_image, write_video
from tests.watermark.conftest import KEY, PAYLOAD
from watermark import detect_file, embed_file
from watermark.attacks import Clip
from watermark.audit import (
    AUDIT_MAX_FRAMES, AttackOutcome, AuditReport, attack_file, audit_clip, audit_file,
    read_clip, render_text,
)

ATTACKS = ["none", "h264_crf23", "crop_offcentre_50", "brightness_+30", "drop_alternate"]


@pytest.fixture(scope="module")
def marked_file(video_with_audio: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return embed_file(video_with_audio, tmp_path_factory.mktemp("audit") / "wm.mp4", PAYLOAD, KEY)


def test_read_clip_keeps_key_frames_and_bounds(marked_file: Path) -> None:
    clip = read_clip(marked_file)
    assert len(clip.frames) == 25 and clip.shape == (192, 256) and clip.fps == 25.0
    assert clip.keyframes is not None and clip.keyframes[0] == 0
    assert len(read_clip(marked_file, max_seconds=0.2).frames) == 5
    assert len(read_clip(marked_file, max_pixels=3 * 192 * 256).frames) == 3
    with pytest.raises(InputError, match="max_seconds"):
        read_clip(marked_file, max_seconds=0)


def test_read_clip_bounds_the_frames_of_a_high_frame_rate(tmp_path: Path,
                                                         small_clip: np.ndarray) -> None:
    fast = write_video(list(small_clip[:12]) * 30, tmp_path / "fast.mp4", 1000.0,
                       preset="ultrafast")
    assert len(read_clip(fast, max_seconds=10).frames) == AUDIT_MAX_FRAMES


def test_audit_finds_the_payload_and_reports_each_attack(marked_file: Path) -> None:
    report = audit_file(marked_file, KEY, attacks=ATTACKS)
    assert report.payload == PAYLOAD and report.payload_from == "detected"
    assert [o.attack for o in report.outcomes] == ATTACKS
    assert report.survived == len(ATTACKS) and report.missed == []
    for o in report.outcomes:
        assert o.exact and o.payload == PAYLOAD and o.bit_accuracy == 1.0
        assert o.p_value <= report.fpr
    crop = report.outcomes[2]
    assert crop.width * crop.height < 0.6 * 256 * 192 and set(crop.params) == {"x", "y"}
    assert report.outcomes[4].frames == 13  # every other frame of 25
    facts = json.loads(json.dumps(report.to_dict()))
    assert facts["summary"] == {"attacks": 5, "survived": 5, "missed": []}
    assert "survived 5 of 5 attacks" in render_text(report)
    page = report._repr_html_()
    assert page.count("<tr>") == 1 + len(ATTACKS) and "survived 5 of 5" in page


def test_audit_is_reproducible_by_seed(marked_file: Path) -> None:
    first = audit_file(marked_file, KEY, attacks=["noise_5", "crop_offcentre_50"], seed=4)
    again = audit_file(marked_file, KEY, attacks=["noise_5", "crop_offcentre_50"], seed=4)
    other = audit_file(marked_file, KEY, attacks=["crop_offcentre_50"], seed=5)
    assert [o.params for o in first.outcomes] == [o.params for o in again.outcomes]
    assert [o.p_value for o in first.outcomes] == [o.p_value for o in again.outcomes]
    assert first.outcomes[1].params != other.outcomes[0].params


def test_audit_counts_a_miss_and_notes_small_frames(small_marked: np.ndarray) -> None:
    clip = Clip(list(small_marked), 25.0)
    report = audit_clip(clip, KEY, attacks=["none", "resize_0.25"])
    small = report.outcomes[1]
    assert (small.width, small.height) == (64, 48) and "128" in str(small.note)
    assert not small.exact and report.missed == ["resize_0.25"]
    assert report.outcomes[0].note is None


def test_audit_of_an_unmarked_clip(small_clip: np.ndarray) -> None:
    clip = Clip(list(small_clip), 25.0)
    with pytest.raises(InputError, match="no watermark"):
        audit_clip(clip, KEY, attacks=["none"])
    report = audit_clip(clip, KEY, payload=PAYLOAD, attacks=["none"])
    assert report.payload_from == "given" and report.survived == 0
    assert not report.outcomes[0].detected and report.outcomes[0].payload is None


def test_audit_with_the_wrong_key_finds_nothing(marked_file: Path) -> None:
    with pytest.raises(InputError, match="no watermark"):
        audit_file(marked_file, "another-key", attacks=["none"])


def test_audit_refuses_bad_arguments_before_reading(tmp_path: Path,
                                                    small_clip: np.ndarray) -> None:
    missing = tmp_path / "missing.mp4"
    with pytest.raises(InputError, match="nope"):
        audit_file(missing, KEY, attacks=["none", "nope"])
    with pytest.raises(InputError, match="payload"):
        audit_file(missing, KEY, payload="xyz")
    image = write_image(small_clip[0], tmp_path / "still.png")
    with pytest.raises(InputError, match="invalid for this image"):
        audit_file(image, KEY, attacks=["h264_crf28"])  # a video codec, on a still
    with pytest.raises(UnsupportedMediaError, match="image"):
        read_clip(image)


def test_an_image_is_audited_with_the_image_suite(small_clip: np.ndarray,
                                                  tmp_path: Path) -> None:
    image = embed_file(write_image(small_clip[2], tmp_path / "still.png"),
                       tmp_path / "still_wm.webp", PAYLOAD, KEY)
    report = audit_file(image, KEY, attacks=["none", "jpeg_50", "webp_75", "resize_0.25"])
    assert report.kind == "image" and report.frames == 1 and report.payload == PAYLOAD
    assert [o.attack for o in report.outcomes if o.exact] == ["none", "jpeg_50", "webp_75"]
    assert report.outcomes[-1].note and "minimum" in report.outcomes[-1].note  # 64x48
    assert "a 256x192 image" in render_text(report)
    out = attack_file(image, tmp_path / "j.png", "jpeg_50")
    assert probe(out).mime == "image/png" and detect_file(out, KEY).payload == PAYLOAD
    with pytest.raises(InputError, match="lossless image"):
        attack_file(image, tmp_path / "j.jpg", "jpeg_50")


def test_attack_file_writes_what_the_attack_left(marked_file: Path, tmp_path: Path) -> None:
    out = attack_file(marked_file, tmp_path / "half.mp4", "resize_0.5")
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (128, 96, 25)
    darker = attack_file(marked_file, tmp_path / "darker.mp4", "brightness_-30")
    assert detect_file(darker, KEY).payload == PAYLOAD
    before, after = read_clip(marked_file).frames[0], read_clip(darker).frames[0]
    assert float(before.mean()) - float(after.mean()) > 20  # brightness -30, clipped at 0
    dropped = attack_file(marked_file, tmp_path / "drop.mp4", "drop_alternate")
    assert probe(dropped).frame_count == 13


def test_cli_audit_and_attack(cli, marked_file: Path, tmp_path: Path) -> None:
    rc, out, _ = cli("watermark", "audit", str(marked_file), "--key", KEY, "--attacks",
                     "none,h264_crf28", "--json")
    facts = json.loads(out)
    assert rc == 0 and facts["payload"] == PAYLOAD and facts["summary"]["survived"] == 2
    rc, out, _ = cli("watermark", "audit", str(marked_file), "--key", KEY, "--attacks", "none")
    assert rc == 0 and "none" in out and "recovered" in out
    rc, _, err = cli("watermark", "audit", str(marked_file), "--key", "wrong", "--attacks", "none")
    assert rc == 2 and "no watermark" in err and "Traceback" not in err
    rc, _, err = cli("watermark", "audit", str(marked_file), "--attacks", "h264_crf99")
    assert rc == 2 and "h264_crf99" in err
    dst = tmp_path / "attacked.mp4"
    rc, out, _ = cli("watermark", "attack", str(marked_file), "gamma_0.8", "-o", str(dst), "--json")
    assert rc == 0 and json.loads(out)["frames"] == 25 and dst.is_file()
    rc, _, err = cli("watermark", "attack", str(marked_file), "gamma_0.8", "-o", str(marked_file))
    assert rc == 2 and "input" in err
    rc, _, err = cli("watermark", "attack", str(marked_file), "gamma_0.8", "-o",
                     str(tmp_path / "x.png"))
    assert rc == 2 and "H.264" in err


def test_read_clip_refuses_a_damaged_video(marked_file: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(marked_file.read_bytes()[: 2000])
    with pytest.raises(InputError):
        read_clip(broken)
    empty_frames = write_video([np.zeros((64, 64, 3), np.uint8)], tmp_path / "one.mp4", 25.0)
    assert len(read_clip(empty_frames).frames) == 1


def test_audit_with_issued_payloads(small_marked: np.ndarray, cli, tmp_path: Path) -> None:
    clip = Clip(list(small_marked), 25.0)
    report = audit_clip(clip, KEY, attacks=["none", "h264_crf40"],
                        candidates=[PAYLOAD, "ffeeddccbbaa9988"])
    assert report.candidates == 2 and report.outcomes[0].exact
    assert {o.method for o in report.outcomes} <= {"decode", "lookup"}
    assert report.to_dict()["candidates"] == 2
    rc, _, err = cli("watermark", "audit", str(tmp_path / "x.mp4"), "--store",
                     str(tmp_path / "missing.db"))
    assert rc == 2 and "no manifest store" in err


def test_text_marks_what_only_the_store_found() -> None:
    def outcome(name: str, method: str) -> AttackOutcome:
        return AttackOutcome(name, "codec", name, True, True, PAYLOAD, 1.0, 1e-9, 9.0, 10,
                             256, 192, 0.1, {}, None, method)

    report = AuditReport("f.mp4", PAYLOAD, "given", 10, 256, 192, 25.0, 1e-6, 0,
                         [outcome("none", "decode"), outcome("h264_crf35", "lookup")], 5)
    lines = render_text(report).splitlines()
    assert any(x.startswith("none") and "recovered " in x for x in lines)
    assert any(x.startswith("h264_crf35") and "recovered*" in x for x in lines)
    assert "5 payloads the manifest store has issued" in lines[-1]
