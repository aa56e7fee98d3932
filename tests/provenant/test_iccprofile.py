"""Colour profiles travel with a rewritten image (PNG, JPEG, WebP), read back by Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from provenant import media
from provenant.iccprofile import MAX_ICC_BYTES, read_icc, with_icc

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
