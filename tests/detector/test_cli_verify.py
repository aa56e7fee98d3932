"""End to end: `provenant detect`, and each verdict label through `provenant.provenance.verify`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from provenant.boxes import flip_media_byte
from provenant.cli import main
from provenant.manifest import SignOptions
from provenant.media import write_image, write_video
from provenant.provenance import sign, verify

from detector.evidence import provider
from detector.inference import extract_patches
from tests.detector.conftest import TINY, with_threshold


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    frames = np.clip(rng.normal(128, 30, (10, 64, 80, 3)), 0, 255).astype(np.uint8)
    return write_video(frames, tmp_path_factory.mktemp("v") / "noisy.mp4", fps=10)


@pytest.fixture(scope="module")
def low(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a threshold no score reaches: never flags."""
    return with_threshold(tiny_dir, tmp_path_factory.mktemp("m") / "never", 1.5)


@pytest.fixture(scope="module")
def high(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with threshold 0: always flags."""
    return with_threshold(tiny_dir, tmp_path_factory.mktemp("m") / "always", 0.0)


def test_provider_contract() -> None:
    assert provider.name == "classifier" and provider.order == 30
    from provenant.plugins import evidence_providers

    assert any(p.name == "classifier" for p in evidence_providers())


def test_detect_json(capsys, video: Path, tiny_dir: Path) -> None:
    assert main(["detect", str(video), "--json", "--weights", str(tiny_dir)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"score", "threshold", "frame_scores", "model"}
    assert 0.0 <= out["score"] <= 1.0 and len(out["frame_scores"]) == TINY.frames_per_clip
    assert TINY.backbone in out["model"]


def test_detect_human_and_image(capsys, video: Path, tiny_dir: Path, tmp_path: Path) -> None:
    assert main(["detect", str(video), "--weights", str(tiny_dir)]) == 0
    assert "threshold" in capsys.readouterr().out
    img = write_image(np.full((40, 40, 3), 90, np.uint8), tmp_path / "flat.png")
    assert main(["detect", str(img), "--json", "--weights", str(tiny_dir)]) == 0
    assert len(json.loads(capsys.readouterr().out)["frame_scores"]) == 1


def test_detect_of_several_files(capsys, video: Path, tiny_dir: Path, tmp_path: Path) -> None:
    img = write_image(np.full((40, 40, 3), 90, np.uint8), tmp_path / "flat.png")
    assert main(["detect", str(video), str(img), "--json", "--weights", str(tiny_dir)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["file"] for line in lines] == [str(video), str(img)]
    assert all(0.0 <= line["score"] <= 1.0 for line in lines)
    # A model folder without weights is not the files' fault: it stops the list, said once.
    capsys.readouterr()
    assert main(["detect", str(video), str(img), "--weights", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("holds no trained detector") == 1 and "Error:" not in err


@pytest.mark.parametrize("content", [b"", b"not a video at all", b"\x00\x00\x00\x18ftypmp42broken"])
def test_detect_bad_input_exits_2(capsys, tmp_path: Path, tiny_dir: Path, content: bytes) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    assert main(["detect", str(bad), "--weights", str(tiny_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("provenant: error:") and len(err.strip().splitlines()) == 1


def test_a_phone_video_is_scored(capsys, tiny_dir: Path, tmp_path: Path) -> None:
    """Frames stored turned with a display matrix (as phones write) are read upright by
    every reader, so the classifier's frame-size check does not trip on them."""
    from tests.conftest import make_rotated_clip

    phone, _ = make_rotated_clip(tmp_path / "phone.mp4", -90, frames=10, h=64, w=80)
    assert main(["detect", str(phone), "--json", "--weights", str(tiny_dir)]) == 0
    assert 0.0 <= json.loads(capsys.readouterr().out)["score"] <= 1.0


def test_a_video_72_pixels_wide_is_scored(capsys, tiny_dir: Path, tmp_path: Path) -> None:
    """decord pads a 72-pixel row (216 bytes) to 288 and shapes the frame (H, 72, 4): the
    classifier refused the 4-channel tubes. The rows are cut back to the picture."""
    from tests.conftest import encode_clip
    from watermark.testing import procedural_clip

    clip = encode_clip(tmp_path / "narrow.mp4", procedural_clip(98, 72, 20, seed=2), rate=1)
    assert main(["detect", str(clip), "--json", "--weights", str(tiny_dir)]) == 0
    assert 0.0 <= json.loads(capsys.readouterr().out)["score"] <= 1.0


def test_detect_missing_file_and_too_small(capsys, tmp_path: Path, tiny_dir: Path) -> None:
    assert main(["detect", str(tmp_path / "nope.mp4"), "--weights", str(tiny_dir)]) == 2
    tiny = write_image(np.zeros((8, 8, 3), np.uint8), tmp_path / "tiny.png")
    assert main(["detect", str(tiny), "--weights", str(tiny_dir)]) == 2
    assert "never upsamples" in capsys.readouterr().err


def test_detect_without_weights_is_a_usage_error(capsys, video: Path, tmp_path: Path) -> None:
    # a --weights folder that holds no trained model is the user's to fix: exit 2, not 1
    assert main(["detect", str(video), "--weights", str(tmp_path)]) == 2
    assert "no trained detector" in capsys.readouterr().err


def test_files_are_read_as_windows_of_consecutive_frames(tmp_path: Path) -> None:
    """10 frames, 3 windows of 8: they start at frames 0, 1 and 2 and hold the file's frames in
    order (frame i is a flat grey of level 20 i, which survives H.264 nearly unchanged)."""
    frames = np.stack([np.full((96, 96, 3), 20 * i, np.uint8) for i in range(10)])
    path = write_video(frames, tmp_path / "ramp.mp4", fps=10, crf=0)
    starts, tubes = extract_patches(path, TINY)
    assert starts == [0, 1, 2] and tubes.shape[:3] == (3, 4, TINY.window_frames)
    assert tubes.shape[3:] == (3, 48, 48)  # tube_size, at native resolution
    levels = tubes.mean(axis=(1, 3, 4, 5))  # (windows, T)
    np.testing.assert_allclose(levels, 20 * (np.array(starts)[:, None] + np.arange(8)), atol=3)
    short = write_video(frames[:5], tmp_path / "short.mp4", fps=10)
    starts, tubes = extract_patches(short, TINY)
    assert starts == [0] and tubes.shape[:3] == (1, 4, 5)  # shorter than a window: all of it


def test_face_mode_uses_faces_or_says_it_cannot(video: Path) -> None:
    from dataclasses import replace

    import cv2

    from provenant.errors import CapabilityUnavailableError

    cfg = replace(TINY, face_mode="on")
    if not hasattr(cv2, "CascadeClassifier"):  # OpenCV 5 ships no Haar cascades
        with pytest.raises(CapabilityUnavailableError, match="Haar cascades"):
            extract_patches(video, cfg)
        return
    _, patches = extract_patches(video, cfg)
    assert patches.shape[1:3] == (4, cfg.window_frames) and patches.shape[3] == 3  # whole frame


def _label(path: Path, weights: Path) -> tuple[str, object]:
    report = verify(path, options={"detector_weights": str(weights)})
    return report.verdict.label, report


def test_no_evidence(video: Path, low: Path) -> None:
    label, report = _label(video, low)
    assert label == "no-evidence"
    assert report.classifier is not None and report.classifier.score < report.classifier.threshold
    assert any("below its threshold" in r for r in report.verdict.reasons)


def test_likely_ai_generated(video: Path, high: Path) -> None:
    label, report = _label(video, high)
    assert label == "likely-ai-generated"
    assert any("classifier" in r for r in report.verdict.reasons)


def test_signed_capture_outranks_the_classifier(video: Path, high: Path, tmp_path: Path) -> None:
    signed = tmp_path / "capture.mp4"
    sign(video, signed, SignOptions(source_type="digitalCapture"))
    label, report = _label(signed, high)
    assert label == "signed-capture" and report.classifier is not None


def test_verified_ai_generated_and_tampered(video: Path, low: Path, tmp_path: Path) -> None:
    signed = tmp_path / "ai.mp4"
    sign(video, signed, SignOptions(source_type="trainedAlgorithmicMedia"))
    label, report = _label(signed, low)
    assert label == "verified-ai-generated" and report.classifier is not None
    tampered = tmp_path / "tampered.mp4"
    flip_media_byte(signed, tampered)
    label, _ = _label(tampered, low)
    assert label == "tampered"


def test_verify_cli_json_has_classifier(capsys, video: Path, high: Path, monkeypatch) -> None:
    import detector.inference as inf

    monkeypatch.setattr(inf, "DEFAULT_WEIGHTS", high)
    assert main(["verify", str(video), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classifier"]["threshold"] == 0.0
    assert report["verdict"]["label"] == "likely-ai-generated"


def test_a_capture_that_switches_renditions_is_scored_at_one_size(tmp_path: Path) -> None:
    """Each frame is cut at its own size (never resized), and the windows of the size most
    of them have are scored; none straddles a switch (they used to raise an error)."""
    from provenant.samples import render_clip
    from tests.conftest import make_renditions

    frames = list(render_clip(30, 128, 192, seed=2))  # 10 full, 10 half, 10 full
    capture = make_renditions(tmp_path / "capture.ts", frames, 10)
    starts, tubes = extract_patches(capture, TINY)
    window = TINY.window_frames
    assert starts and all(s + window <= 10 or 20 <= s for s in starts)  # full-size segments
    assert tubes.shape[1:] == (TINY.patches_per_frame, window, 3, 48, 48)


def test_a_file_refused_before_the_classifier_costs_no_model_import(tmp_path: Path) -> None:
    """torch and timm load (about 3 s) only when the classifier runs: verify of a cut-short
    unsigned video is refused by the steps before it, in a fresh interpreter."""
    import os
    import subprocess
    import sys

    from provenant.samples import render_clip

    clip = write_video(render_clip(24, 128, 160), tmp_path / "clip.mp4", fps=24)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 10])
    code = ("import sys, contextlib, io\n"
            "from provenant.cli import main\n"
            "with contextlib.redirect_stderr(io.StringIO()):\n"
            f"    rc = main(['verify', {str(cut)!r}])\n"
            "print(rc, 'torch' in sys.modules, 'timm' in sys.modules)")
    env = {**os.environ, "PROVENANT_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout.split()
    assert out == ["2", "False", "False"]
