"""Files, the CLI (through the core's `provenant` entry point) and the core plug-ins."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from provenant.errors import InputError
from provenant.media import probe, write_image
from provenant.report import VerificationReport, WatermarkEvidence
from tests.watermark.conftest import KEY, PAYLOAD
from watermark import ALGORITHM, detect_file, embed_file
from watermark.evidence import provider, stamper
from watermark.config import key_id, resolve_key


def test_file_round_trip_keeps_audio_and_tags(video_with_audio: Path, tmp_path: Path) -> None:
    import av

    dst = embed_file(video_with_audio, tmp_path / "wm.mp4", PAYLOAD, KEY)
    info = probe(dst)
    assert info.has_audio and (info.width, info.height) == (256, 192)
    with av.open(str(dst)) as out:
        assert out.metadata.get("creation_time") == "2026-11-30T10:11:12.000000Z"
    r = detect_file(dst, KEY)
    assert r.detected and r.payload == PAYLOAD
    assert not detect_file(video_with_audio, KEY).detected


def test_image_file_round_trip(small_clip: np.ndarray, tmp_path: Path) -> None:
    src = write_image(small_clip[0], tmp_path / "still.png")
    dst = embed_file(src, tmp_path / "still_wm.png", PAYLOAD, KEY)
    assert detect_file(dst, KEY).payload == PAYLOAD


@pytest.mark.parametrize("kind", ["rgba", "grey", "16-bit"])
def test_image_files_keep_alpha_grey_and_16_bits(small_clip: np.ndarray, tmp_path: Path,
                                                 kind: str) -> None:
    from provenant.media import read_image_exact

    rgb = small_clip[0]
    if kind == "rgba":
        alpha = np.tile(np.linspace(1, 255, rgb.shape[1]).astype(np.uint8), (rgb.shape[0], 1))
        image = np.dstack([rgb, alpha])
    elif kind == "grey":
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    else:
        image = rgb.astype(np.uint16) * 257 + 100
    src = write_image(image, tmp_path / "still.png")
    dst = embed_file(src, tmp_path / "still_wm.png", PAYLOAD, KEY)
    marked = read_image_exact(dst)
    assert marked.shape == image.shape and marked.dtype == image.dtype
    if kind == "rgba":
        assert np.array_equal(marked[..., 3], alpha)
    change = marked.astype(np.int64) - image
    assert np.abs(change).max() > 0
    if kind == "16-bit":  # the 8-bit change scaled to 16 bits, not 16-bit samples cut to 8
        assert np.unique(marked % 257).size > 2
        assert 38.0 < 10 * np.log10(65535.0**2 / np.mean(change.astype(float) ** 2)) < 50.0
    assert detect_file(dst, KEY).payload == PAYLOAD
    if kind == "rgba":
        with pytest.raises(InputError, match="transparency"):
            embed_file(src, tmp_path / "flat.jpg", PAYLOAD, KEY)
        assert not (tmp_path / "flat.jpg").exists()


@pytest.mark.parametrize("lossless", [False, True])
def test_webp_round_trip_keeps_its_kind(small_clip: np.ndarray, tmp_path: Path,
                                        lossless: bool) -> None:
    from provenant.imageheaders import webp_is_lossless

    src = write_image(small_clip[0], tmp_path / "still.webp", lossless=lossless)
    dst = embed_file(src, tmp_path / "still_wm.webp", PAYLOAD, KEY)
    assert probe(dst).mime == "image/webp" and webp_is_lossless(dst) is lossless
    assert detect_file(dst, KEY).payload == PAYLOAD
    assert not detect_file(src, KEY).detected


def test_cli_embed_and_detect(cli, video_with_audio: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    rc, stdout, _ = cli("watermark", "embed", str(video_with_audio), "-o", str(out),
                        "--payload", PAYLOAD, "--key", KEY, "--json")
    assert rc == 0 and json.loads(stdout)["payload"] == PAYLOAD and out.exists()
    rc, stdout, _ = cli("watermark", "detect", str(out), "--key", KEY, "--json")
    facts = json.loads(stdout)
    assert rc == 0 and facts["detected"] and facts["payload"] == PAYLOAD
    assert facts["p_value"] <= facts["false_positive_rate"] == 1e-6
    rc, stdout, _ = cli("watermark", "detect", str(out), "--key", "other")
    assert rc == 0 and "no watermark" in stdout  # "not detected" is still a success
    from provenant.store import ManifestRecord, ManifestStore

    ManifestStore(tmp_path / "s.db").register(
        ManifestRecord("urn:c2pa:x", soft_bindings=((ALGORITHM, PAYLOAD),)))
    rc, stdout, _ = cli("watermark", "detect", str(out), "--key", KEY, "--json",
                        "--store", str(tmp_path / "s.db"))
    facts = json.loads(stdout)
    assert rc == 0 and facts["detected"] and facts["candidates"] == 1
    assert facts["p_value"] == pytest.approx(2 * min(facts["blind_p_value"],
                                                     facts["lookup_p_value"]))


@pytest.mark.parametrize("args,needle", [
    (["embed", "{video}", "-o", "{tmp}/x.mp4", "--payload", "zz"], "payload"),
    (["embed", "{video}", "-o", "{tmp}/x.txt", "--payload", PAYLOAD], "suffix"),
    (["embed", "{image}", "-o", "{tmp}/x.mp4", "--payload", PAYLOAD], "PNG, JPEG, WebP, HEIC or AVIF"),
    (["embed", "{video}", "-o", "{tmp}/nodir/x.mp4", "--payload", PAYLOAD], "does not exist"),
    (["detect", "{tmp}/missing.mp4"], "does not exist"),
    (["detect", "{junk}"], "not a supported"),
])
def test_cli_bad_input_exits_2_with_one_line(cli, video_with_audio: Path, tmp_path: Path,
                                             args: list[str], needle: str) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video at all" * 4)
    image = write_image(np.full((64, 64, 3), 128, np.uint8), tmp_path / "still.png")
    argv = [a.format(video=video_with_audio, tmp=tmp_path, junk=junk, image=image)
            for a in args]
    rc, _, stderr = cli("watermark", *argv)
    assert rc == 2
    assert needle in stderr and len(stderr.strip().splitlines()) == 1
    assert "Traceback" not in stderr


def test_evidence_provider_and_stamper(video_with_audio: Path, tmp_path: Path) -> None:
    assert (provider.name, provider.order) == ("watermark", 10)
    assert stamper.soft_binding_alg == ALGORITHM
    dst = tmp_path / "stamped.mp4"
    facts = stamper(video_with_audio, dst, bytes.fromhex(PAYLOAD))
    # the key's public name, which the store records for the stamp's manifest
    current = key_id(resolve_key(None))
    assert facts == {"alg": ALGORITHM, "value": PAYLOAD, "key_id": current}
    assert probe(dst).has_audio
    report = VerificationReport(file=str(dst))
    provider(dst, report, {})  # the default key, as the stamper used
    assert isinstance(report.watermark, WatermarkEvidence)
    assert report.watermark.detected and report.watermark.payload == PAYLOAD
    assert report.watermark.key_id == current
    assert report.watermark.algorithm == ALGORITHM
    assert report.watermark.false_positive_rate == 1e-6
    other = VerificationReport(file=str(dst))
    provider(dst, other, {"key": "someone-else"})
    assert other.watermark is not None and not other.watermark.detected


def test_evidence_provider_tests_the_payloads_of_a_store(video_with_audio: Path,
                                                         tmp_path: Path) -> None:
    from provenant.store import ManifestRecord, ManifestStore

    dst = tmp_path / "stamped.mp4"
    stamper(video_with_audio, dst, bytes.fromhex(PAYLOAD))
    store = ManifestStore(tmp_path / "s.db")
    for i, value in enumerate([PAYLOAD, "ffffffffffffffff", "0000000000000001"]):
        store.register(ManifestRecord(f"urn:c2pa:{i}", soft_bindings=((ALGORITHM, value),)))
    report = VerificationReport(file=str(dst))
    provider(dst, report, {"store": store})
    wm = report.watermark
    assert wm is not None and wm.detected and wm.payload == PAYLOAD
    assert wm.candidates == 3 and wm.method in ("lookup", "decode")
    empty = VerificationReport(file=str(dst))
    provider(dst, empty, {"store": ManifestStore(tmp_path / "empty.db")})
    assert empty.watermark is not None and empty.watermark.candidates == 0
    assert empty.watermark.method == "decode" and empty.watermark.payload == PAYLOAD


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_stamping_an_image_writes_a_signed_watermarked_image(cli, tmp_path: Path,
                                                             suffix: str) -> None:
    rng = np.random.default_rng(5)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (192, 256, 3), dtype=np.uint8), (0, 0), 2)
    src = write_image(texture, tmp_path / "still.png")
    out = tmp_path / f"stamped{suffix}"
    rc, _, stderr = cli("stamp", str(src), "-o", str(out), "--json")
    assert rc == 0, stderr
    rc, stdout, _ = cli("verify", str(out), "--json")
    report = json.loads(stdout)
    assert probe(out).kind == "image"
    assert report["c2pa"]["state"] in ("Valid", "Trusted") and report["watermark"]["detected"]
    assert report["verdict"]["label"] == "verified-ai-generated"
    assert [b["value"] for b in report["c2pa"]["soft_bindings"]] == [report["watermark"]["payload"]]


def test_detect_reads_several_files_as_json_lines(cli, video_with_audio: Path,
                                                  tmp_path: Path) -> None:
    marked = embed_file(video_with_audio, tmp_path / "wm.mp4", PAYLOAD, KEY)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 10)
    rc, stdout, stderr = cli("watermark", "detect", str(marked), str(video_with_audio),
                             str(junk), "--key", KEY, "--json")
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(marked), str(video_with_audio), str(junk)]
    assert lines[0]["detected"] and lines[0]["payload"] == PAYLOAD
    assert lines[1]["detected"] is False
    assert lines[2]["error"]["code"] == "unsupported_media"
    assert rc == 2 and "1 of 3 files could not be read" in stderr


def test_a_marked_photo_keeps_its_colour_profile(tmp_path: Path,
                                                 attack_clip: np.ndarray) -> None:
    """A Display P3 or Adobe RGB photo keeps its colours only with its profile."""
    from PIL import Image, ImageCms

    from watermark import detect_file

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for ext in (".jpg", ".png", ".webp"):
        src = tmp_path / f"photo{ext}"
        Image.fromarray(attack_clip[0]).save(src, icc_profile=icc)
        out = embed_file(src, tmp_path / f"marked{ext}", PAYLOAD, KEY)
        with Image.open(out) as im:
            assert im.info.get("icc_profile") == icc, ext
        assert detect_file(out, KEY).payload == PAYLOAD


def test_detect_names_the_change_of_a_turned_copy(cli, tmp_path: Path,
                                                  attack_marked: np.ndarray) -> None:
    turned = write_image(np.ascontiguousarray(np.rot90(attack_marked[0], -1)),
                         tmp_path / "turned.png")
    rc, stdout, _ = cli("watermark", "detect", str(turned), "--key", KEY)
    assert rc == 0 and "payload " + PAYLOAD in stdout
    assert "this copy had been rotated 90° clockwise" in stdout
    rc, stdout, _ = cli("watermark", "detect", str(turned), "--key", KEY, "--json")
    assert json.loads(stdout)["transform"] == "rotated 90° clockwise"


def test_embedding_a_file_can_show_progress(video_with_audio: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    info = probe(video_with_audio)
    out = embed_file(video_with_audio, tmp_path / "wm.mp4", PAYLOAD, KEY, progress=True)
    bar = capsys.readouterr().err
    assert "watermark" in bar and f"/{info.frame_count}" in bar
    assert probe(out).frame_count == info.frame_count and detect_file(out, KEY).detected
    embed_file(video_with_audio, tmp_path / "quiet.mp4", PAYLOAD, KEY, progress=False)
    assert capsys.readouterr().err == ""


def test_an_interlaced_broadcast_clip_is_marked_and_stays_interlaced(tmp_path: Path) -> None:
    from provenant.media import probe
    from tests.provenant.test_interlaced import make_interlaced

    src = make_interlaced(tmp_path / "broadcast.mp4", "bff", frames=24, h=192, w=256)
    dst = embed_file(src, tmp_path / "marked.mp4", PAYLOAD, KEY)
    assert probe(dst).field_order == "bff"
    assert detect_file(dst, KEY).payload == PAYLOAD


def test_the_library_never_writes_a_copy_over_its_source(tmp_path: Path) -> None:
    """embed_file and attack_file re-encode: with the input as the output (its path, a
    symlink or a hard link to it), the original would be lost, so they refuse, as stamp does."""
    import os

    from provenant.media import write_video
    from provenant.samples import render_clip
    from watermark.audit import attack_file

    src = write_video(list(render_clip(4, 64, 64)), tmp_path / "clip.mp4", fps=10)
    before = src.read_bytes()
    os.symlink(src, tmp_path / "link.mp4")
    os.link(src, tmp_path / "hard.mp4")
    for dst in (src, tmp_path / "link.mp4", tmp_path / "hard.mp4"):
        with pytest.raises(InputError, match="is the input file"):
            embed_file(src, dst, PAYLOAD, KEY, progress=False)
        with pytest.raises(InputError, match="is the input file"):
            attack_file(src, dst, "blur_1")
    assert src.read_bytes() == before
