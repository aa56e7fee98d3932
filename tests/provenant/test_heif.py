"""HEIC and AVIF photos: recognised, read, written, signed and watermarked like the others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from provenant.credentials import ensure_dev_credentials
from provenant.errors import MediaError
from provenant.heif import heif_mime
from provenant.imagemeta import read_icc
from provenant.jumbf import has_manifest_store
from provenant.manifest import SignOptions, read_manifest, sign_file
from provenant.media import iter_frames, probe, read_image, read_image_exact, write_image
from provenant.samples import render_clip
from watermark import detect, embed_file

MIMES = {".heic": "image/heic", ".avif": "image/avif"}


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00" * 16


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    return next(render_clip(1, 96, 128, seed=4))


@pytest.fixture(scope="module", params=[".heic", ".avif"])
def photo(request, picture: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pillow_heif

    pillow_heif.register_heif_opener()
    path = tmp_path_factory.mktemp("heif") / f"photo{request.param}"
    Image.fromarray(picture).save(path, quality=90)  # encoded by Pillow (+ pillow-heif) directly
    return path


def test_brands_tell_heic_and_avif_from_mp4() -> None:
    assert heif_mime(_ftyp(b"heic", b"mif1", b"heic")) == "image/heic"
    assert heif_mime(_ftyp(b"mif1", b"mif1", b"heic")) == "image/heic"
    assert heif_mime(_ftyp(b"avif", b"avif", b"mif1", b"miaf")) == "image/avif"
    assert heif_mime(_ftyp(b"mif1", b"avif", b"mif1")) == "image/avif"
    assert heif_mime(_ftyp(b"isom", b"isom", b"avc1")) is None
    assert heif_mime(_ftyp(b"qt  ")) is None
    assert heif_mime(b"\x89PNG\r\n\x1a\n" + b"\x00" * 24) is None


def test_probe_and_read(photo: Path, picture: np.ndarray) -> None:
    info = probe(photo)
    assert (info.kind, info.mime, info.width, info.height) == \
        ("image", MIMES[photo.suffix], 128, 96)
    image = read_image(photo)
    assert image.shape == (96, 128, 3) and image.dtype == np.uint8
    assert np.abs(image.astype(float) - picture).mean() < 6  # a lossy copy of the picture
    assert read_image_exact(photo).shape == (96, 128, 3)


@pytest.mark.parametrize("ext", [".heic", ".avif"])
def test_write_keeps_alpha_and_the_colour_profile(ext: str, workdir: Path) -> None:
    rgba = np.random.default_rng(0).integers(0, 256, (48, 64, 4), dtype=np.uint8)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = write_image(rgba, workdir / f"x{ext}", quality=90, icc_profile=icc)
    assert probe(out).mime == MIMES[ext]
    assert read_icc(out, MIMES[ext]) == icc
    back = read_image_exact(out)
    assert back.shape == (48, 64, 4)
    assert np.abs(back[..., 3].astype(float) - rgba[..., 3]).mean() < 20


@pytest.mark.parametrize("cut", [300, 0.6, 0.95])
def test_truncated_files_get_a_clear_error(photo: Path, workdir: Path, cut) -> None:
    data = photo.read_bytes()
    bad = workdir / f"cut{photo.suffix}"
    bad.write_bytes(data[:cut if isinstance(cut, int) else int(len(data) * cut)])
    with pytest.raises(MediaError, match="truncated|corrupt"):
        probe(bad)
        read_image(bad)
    # the SDK cannot parse it either, but it never held a manifest: not a damaged one
    assert not has_manifest_store(bad)
    assert read_manifest(bad).present is False


@pytest.mark.parametrize("error", [RuntimeError("Failed to decode image: Missing or empty "
                                                "image item"),
                                   SyntaxError("Failed to decode frame 0: Truncated data")])
def test_what_the_decoder_raises_on_damaged_files_is_a_media_error(
        photo: Path, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Pillow's AVIF plugin reports some damage (found by fuzzing: random bytes changed) as
    RuntimeError or SyntaxError, which surfaced as an internal error."""
    def damaged(*args, **kwargs):
        raise error

    monkeypatch.setattr(Image, "open", damaged)
    with pytest.raises(MediaError, match="cannot be read as a HEIF image"):
        probe(photo)


def test_sign_validate_and_tamper(photo: Path, workdir: Path,
                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    creds = ensure_dev_credentials(tmp_path_factory.mktemp("creds"))
    out = workdir / f"signed{photo.suffix}"
    sign_file(photo, out, creds, SignOptions())
    ev = read_manifest(out)
    assert ev.present and ev.state == "Valid" and has_manifest_store(out)
    assert np.array_equal(read_image(out), read_image(photo))  # the picture is untouched
    data = bytearray(out.read_bytes())
    data[-40] ^= 0xFF  # the coded picture sits at the end (mdat)
    bad = workdir / f"tampered{photo.suffix}"
    bad.write_bytes(bytes(data))
    ev = read_manifest(bad)
    assert ev.state == "Invalid" and any("mismatch" in f.code for f in ev.failures)


def test_watermark_round_trip_in_the_same_format(photo: Path, workdir: Path) -> None:
    out = embed_file(photo, workdir / f"marked{photo.suffix}", "0123456789abcdef")
    assert probe(out).mime == MIMES[photo.suffix]
    r = detect(out)
    assert r.detected and r.payload == "0123456789abcdef"
    assert not detect(photo).detected


@pytest.mark.parametrize("ext", [".heic", ".avif"])
def test_each_rotation_and_mirroring_reads_as_a_jpeg_with_that_orientation(
        ext: str, workdir: Path) -> None:
    """The writers store EXIF orientations 2-8 as ``irot``/``imir``. libheif applies them
    to a HEIC; Pillow reports an AVIF's as its EXIF orientation without applying it, so a
    portrait AVIF from a phone was read (and watermarked) lying on its side."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    picture = np.zeros((48, 96, 3), np.uint8)  # no symmetry: every orientation differs
    picture[:24, :32], picture[24:, 64:], picture[:, 40:44] = (255, 0, 0), (0, 0, 255), 255
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        for suffix in (ext, ".jpg"):  # OpenCV turns a JPEG as its EXIF says
            Image.fromarray(picture).save(workdir / f"o{orientation}{suffix}",
                                          exif=exif.tobytes(), quality=95)
        heif, jpeg = workdir / f"o{orientation}{ext}", workdir / f"o{orientation}.jpg"
        seen, expected = read_image(heif), read_image(jpeg)
        assert seen.shape == expected.shape, orientation
        assert np.abs(seen.astype(int) - expected).mean() < 8, orientation
        info = probe(heif)
        assert (info.height, info.width) == seen.shape[:2]
        assert np.array_equal(read_image_exact(heif), seen)


def test_a_turned_avif_is_watermarked_upright(workdir: Path) -> None:
    src = workdir / "portrait.avif"
    exif = Image.Exif()
    exif[0x0112] = 6
    landscape = next(render_clip(1, 96, 128, seed=6))
    Image.fromarray(landscape).save(src, exif=exif.tobytes(), quality=90)
    before = read_image(src)
    assert before.shape == (128, 96, 3)
    out = embed_file(src, workdir / "marked.avif", "0123456789abcdef", key="k")
    after = read_image(out)
    assert after.shape == before.shape and np.abs(after.astype(int) - before).mean() < 4


def test_an_avif_sequence_with_a_zero_timescale_is_damaged_not_an_internal_error(
        workdir: Path) -> None:
    """Pillow's AVIF decoder divides by the sequence's timescale: a damaged header with 0
    there raised ZeroDivisionError out of every command."""
    import struct

    images = [Image.fromarray(f) for f in render_clip(6, 96, 128)]
    path = workdir / "seq.avif"
    images[0].save(path, save_all=True, append_images=images[1:], duration=80, quality=80)
    data = bytearray(path.read_bytes())
    at = data.find(b"mdhd") + 4
    at += 4 + (16 if data[at] == 1 else 8)  # version and flags, then the two times
    assert struct.unpack(">I", data[at:at + 4])[0] > 0
    data[at:at + 4] = bytes(4)
    path.write_bytes(bytes(data))
    with pytest.raises(MediaError, match="truncated or corrupt"):
        read_image(path) if probe(path).kind == "image" else list(iter_frames(path))
