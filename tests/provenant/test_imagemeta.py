"""Colour profiles and EXIF data travel with a rewritten image (PNG, JPEG, WebP; HEIC and
AVIF through their encoder), read back by Pillow, the EXIF orientation set to upright."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from provenant import media
from provenant.imagemeta import MAX_ICC_BYTES, read_icc, with_icc

MIMES = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}


@pytest.fixture(scope="module")
def icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _picture(channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(channels)
    return rng.integers(0, 256, (48, 64, channels), dtype=np.uint8)


@pytest.mark.parametrize("ext, options", [(".png", {}), (".jpg", {"quality": 90}),
                                          (".webp", {"quality": 80}),
                                          (".webp", {"lossless": True})])
def test_a_profile_is_read_and_written_as_pillow_reads_it(workdir: Path, icc: bytes, ext: str,
                                                          options: dict) -> None:
    src = workdir / f"src{ext}"
    Image.fromarray(_picture()).save(src, icc_profile=icc, **options)
    assert read_icc(src, MIMES[ext]) == icc
    out = media.write_image(media.read_image(src), workdir / f"out{ext}",
                            lossless=bool(options.get("lossless")), icc_profile=icc)
    with Image.open(out) as im:
        im.load()
        assert im.info.get("icc_profile") == icc and im.size == (64, 48)
    assert media.read_image(out).shape == (48, 64, 3)  # OpenCV still decodes it
    plain = media.write_image(media.read_image(src), workdir / f"plain{ext}")
    assert read_icc(plain, MIMES[ext]) is None


def test_transparent_webp_and_a_multi_segment_jpeg_profile(workdir: Path) -> None:
    big = bytes(np.random.default_rng(0).integers(0, 256, 150_000, dtype=np.uint8))
    big = big[:16] + b"RGB " + big[20:]  # an RGB profile's header, so it fits the samples
    for lossless in (False, True):  # VP8X + ALPH as written, or a VP8L given a VP8X header
        out = media.write_image(_picture(4), workdir / "a.webp", icc_profile=big,
                                lossless=lossless)
        with Image.open(out) as im:
            im.load()
            assert im.mode == "RGBA" and im.info.get("icc_profile") == big
    jpg = media.write_image(_picture(), workdir / "b.jpg", icc_profile=big)  # 3 APP2 segments
    assert read_icc(jpg, "image/jpeg") == big
    with Image.open(jpg) as im:
        assert im.info.get("icc_profile") == big


def test_damaged_or_oversized_profiles_are_dropped_not_fatal(workdir: Path, icc: bytes) -> None:
    src = workdir / "src.png"
    Image.fromarray(_picture()).save(src, icc_profile=icc)
    data = bytearray(src.read_bytes())
    at = data.index(b"iCCP") + 12
    data[at:at + 8] = b"\x00" * 8  # the compressed profile no longer inflates
    broken = workdir / "broken.png"
    broken.write_bytes(bytes(data))
    assert read_icc(broken, "image/png") is None
    encoded = (workdir / "src.png").read_bytes()
    assert with_icc(encoded, ".png", b"x" * (MAX_ICC_BYTES + 1)) == encoded


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0132], exif[0x0112] = "Canon", "2026:11:30 10:11:12", orientation
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)  # GPS latitude
    return exif


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".heic", ".avif"])
def test_a_watermarked_photo_keeps_its_exif_upright(workdir: Path, icc: bytes, ext: str) -> None:
    """A phone photo lost its date, camera and place when it was watermarked or stamped
    (``sign`` kept them: it does not re-encode). They travel now, with the orientation set
    to upright, since the pictures were already turned: a 192x256 photo marked "turn 90°"
    reads as 256x192 before and after, not turned a second time."""
    from provenant.heif import _pillow
    from provenant.samples import sample_photos
    from watermark import detect_file, embed_file

    image_module = _pillow()
    src = workdir / f"src{ext}"
    photo = media.read_image(sample_photos()["astronaut"])[:192, :256]  # a textured photo
    image_module.fromarray(photo).save(src, exif=_exif(6).tobytes(), icc_profile=icc,
                                       quality=90)
    before = media.read_image(src)  # HEIC and AVIF: the writer turned EXIF into irot
    assert before.shape == (256, 192, 3)  # turned as asked
    out = embed_file(src, workdir / f"out{ext}", "0123456789abcdef", key="k")
    after = media.read_image(out)
    assert after.shape == before.shape  # the same way up
    assert np.abs(after.astype(int) - before).mean() < 3  # and the same picture
    with image_module.open(out) as im:
        exif = im.getexif()
        assert exif[0x010F] == "Canon" and exif[0x0132] == "2026:11:30 10:11:12"
        assert exif.get_ifd(0x8825)[2] == (48.0, 51.0, 29.0)
        assert exif.get(0x0112, 1) == 1
        assert im.info.get("icc_profile") == icc  # the profile still travels beside it
    assert detect_file(out, key="k").payload == "0123456789abcdef"


@pytest.mark.parametrize("ext", [".png", ".webp"])
def test_exact_reads_turn_as_the_exif_says(workdir: Path, ext: str) -> None:
    """``read_image_exact`` (what a rewrite starts from) read a PNG's or WebP's stored
    samples unturned, so a watermarked copy lay on its side; now it turns them as
    ``read_image`` does, for each of the eight orientations."""
    grey = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    for orientation in range(1, 9):
        src = workdir / f"o{orientation}{ext}"
        Image.fromarray(grey).save(src, exif=_exif(orientation).tobytes(), lossless=True)
        assert np.array_equal(media.read_image_exact(src), media.read_image(src))


def test_damaged_or_oversized_exif_is_dropped_not_fatal(workdir: Path) -> None:
    from provenant.imagemeta import MAX_EXIF_BYTES, read_exif, with_exif

    src = workdir / "a.jpg"
    Image.fromarray(_picture()).save(src, exif=b"Exif\x00\x00XX*\x00 not a TIFF header")
    assert read_exif(src, "image/jpeg") is None
    encoded = (workdir / "a.jpg").read_bytes()
    assert with_exif(encoded, ".jpg", b"II*\x00" + bytes(MAX_EXIF_BYTES)) == encoded


def test_a_profile_that_does_not_fit_the_samples_is_not_written(workdir: Path,
                                                                 icc: bytes) -> None:
    """A print photo's CMYK JPEG is read as RGB samples: its CMYK profile would tell a viewer
    to read them as ink, so the copy goes without it (sRGB); a grey picture keeps a grey
    profile, and an RGB one its RGB profile."""
    from watermark import embed_file

    cmyk = icc[:16] + b"CMYK" + icc[20:]  # the header's data colour space
    src = workdir / "print.jpg"
    photo = np.random.default_rng(0).integers(0, 256, (256, 320, 3), dtype=np.uint8)
    Image.fromarray(photo).convert("CMYK").save(src, quality=92, icc_profile=cmyk)
    assert read_icc(src, "image/jpeg") == cmyk
    out = embed_file(src, workdir / "marked.jpg", "0123456789abcdef")
    with Image.open(out) as im:
        assert im.mode == "RGB" and "icc_profile" not in im.info
    grey = icc[:16] + b"GRAY" + icc[20:]
    kept = media.write_image(photo[..., 0], workdir / "grey.png", icc_profile=grey)
    assert read_icc(kept, "image/png") == grey
    dropped = media.write_image(photo, workdir / "rgb.png", icc_profile=grey)
    assert read_icc(dropped, "image/png") is None
