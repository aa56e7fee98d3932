"""TIFF images (agencies, archives, scanners) are read like the other photos, signed in place,
and watermarked into another format; a DNG (a camera's raw file, TIFF-structured) is
read for its credentials alone."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from provenant import media
from provenant.errors import MediaError, MediaLimitError, UnsupportedMediaError
from provenant.manifest import read_manifest
from provenant.orientation import exif_upright
from provenant.provenance import sign
from provenant.tiff import tiff_size
from tests.provenant.test_credential_only import save_dng


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """No symmetry: every orientation differs."""
    image = np.zeros((48, 96, 3), np.uint8)
    image[:24, :32], image[24:, 64:], image[:, 40:44] = (255, 0, 0), (0, 0, 255), 255
    return image


def test_each_orientation_reads_as_a_jpeg_with_that_orientation(
        picture: np.ndarray, workdir: Path) -> None:
    for orientation in range(1, 9):
        directory = TiffImagePlugin.ImageFileDirectory_v2()
        directory[274] = orientation
        tiff = workdir / f"o{orientation}.tif"
        Image.fromarray(picture).save(tiff, tiffinfo=directory)
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(picture).save(workdir / "o.jpg", exif=exif.tobytes(), quality=98)
        seen, expected = media.read_image(tiff), media.read_image(workdir / "o.jpg")
        assert seen.shape == expected.shape, orientation
        assert np.abs(seen.astype(int) - expected).mean() < 8, orientation
        info = media.probe(tiff)
        assert (info.mime, info.kind, info.height, info.width) == (
            "image/tiff", "image", *seen.shape[:2])
        assert np.array_equal(media.read_image_exact(tiff), seen)


def test_samples_are_kept_as_stored(picture: np.ndarray, workdir: Path) -> None:
    deep = np.random.default_rng(1).integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    cv2.imwrite(str(workdir / "deep.tif"), cv2.cvtColor(deep, cv2.COLOR_RGB2BGR))
    assert np.array_equal(media.read_image_exact(workdir / "deep.tif"), deep)
    grey = picture[..., 0]
    Image.fromarray(grey).save(workdir / "grey.tif")
    assert np.array_equal(media.read_image_exact(workdir / "grey.tif"), grey)


def test_alpha_is_not_premultiplied(picture: np.ndarray, workdir: Path) -> None:
    """OpenCV gives a TIFF's unassociated alpha premultiplied (half-transparent red as dark
    red); such a TIFF is read through Pillow, as a PNG would be read."""
    rgba = np.dstack([picture, np.full(picture.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba).save(workdir / "alpha.tif")
    Image.fromarray(rgba).save(workdir / "alpha.png")
    assert np.array_equal(media.read_image_exact(workdir / "alpha.tif"), rgba)
    assert np.array_equal(media.read_image(workdir / "alpha.tif"),
                          media.read_image(workdir / "alpha.png"))
    for compression in (None, "tiff_lzw"):  # Pillow garbled the first when turned
        for orientation in range(1, 9):  # read upright, as the opaque ones are
            directory = TiffImagePlugin.ImageFileDirectory_v2()
            directory[274] = orientation
            Image.fromarray(rgba).save(workdir / "turned.tif", tiffinfo=directory,
                                       **({"compression": compression} if compression else {}))
            seen = media.read_image_exact(workdir / "turned.tif")
            assert np.array_equal(seen, exif_upright(rgba, orientation)), (compression,
                                                                          orientation)
            Image.fromarray(picture).save(workdir / "opaque.tif", tiffinfo=directory)
            assert np.array_equal(seen[..., :3], media.read_image(workdir / "opaque.tif"))


@pytest.mark.parametrize("mode", ["CMYK", "P"])
def test_print_and_palette_tiffs_are_read_as_rgb(picture: np.ndarray, workdir: Path,
                                                 mode: str) -> None:
    Image.fromarray(picture).convert(mode).save(workdir / "x.tif")
    image = media.read_image_exact(workdir / "x.tif")
    assert image.shape == picture.shape and np.abs(image.astype(int) - picture).mean() < 4


def test_pages_and_bigtiff(picture: np.ndarray, workdir: Path) -> None:
    Image.fromarray(picture).save(workdir / "pages.tif", save_all=True,
                                  append_images=[Image.fromarray(255 - picture)])
    assert np.array_equal(media.read_image(workdir / "pages.tif"), picture)  # the first page
    Image.fromarray(picture).save(workdir / "big.tif", big_tiff=True)
    assert (workdir / "big.tif").read_bytes()[:4] == b"II+\x00"
    assert tiff_size(workdir / "big.tif") == (96, 48)
    assert np.array_equal(media.read_image(workdir / "big.tif"), picture)


def _tiff_header(width: int, height: int, entries: int | None = None) -> bytes:
    """A little-endian TIFF whose first directory gives only a width and a height."""
    tags = [(256, 4, 1, width), (257, 4, 1, height)]
    body = b"".join(struct.pack("<HHII", *t) for t in tags)
    return (b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", entries or len(tags)) + body
            + b"\x00" * 4)


def test_bad_tiffs_get_clear_errors(picture: np.ndarray, workdir: Path) -> None:
    huge = workdir / "huge.tif"
    huge.write_bytes(_tiff_header(200_000, 100_000))  # 20 gigapixels, from its header alone
    with pytest.raises(MediaLimitError):
        media.probe(huge)
    cut = workdir / "cut.tif"
    cut.write_bytes(_tiff_header(64, 64, entries=40)[:30])  # a directory cut short
    with pytest.raises(MediaError, match="TIFF"):
        media.probe(cut)
    Image.fromarray(picture[..., 0].astype(np.float32) / 255).save(workdir / "float.tif")
    with pytest.raises(UnsupportedMediaError, match="floating-point"):
        media.read_image(workdir / "float.tif")
    dng = save_dng(workdir / "raw.dng", picture)
    with pytest.raises(UnsupportedMediaError, match="DNG"):
        media.probe(dng)


def test_a_tiff_is_signed_in_place_and_its_damage_is_found(picture: np.ndarray,
                                                           workdir: Path) -> None:
    src = workdir / "scan.tif"
    Image.fromarray(np.ascontiguousarray(np.tile(picture, (4, 4, 1)))).save(src)
    signed = sign(src, workdir / "signed.tif").path
    assert read_manifest(signed).state == "Valid"
    assert np.array_equal(media.read_image(signed), media.read_image(src))
    data = bytearray(signed.read_bytes())
    data[200] ^= 0x55  # a picture byte (the strips follow the 8-byte header)
    (workdir / "damaged.tif").write_bytes(bytes(data))
    assert read_manifest(workdir / "damaged.tif").state == "Invalid"


def test_a_tiff_is_watermarked_into_a_png_with_its_profile_and_xmp(workdir: Path) -> None:
    from provenant.imagemeta import read_icc
    from provenant.samples import sample_photos
    from watermark import detect_file, embed_file

    photo = media.read_image(sample_photos()["astronaut"])[:192, :256]
    src = workdir / "agency.tif"
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/>Jane Doe</x:xmpmeta>'
    directory = TiffImagePlugin.ImageFileDirectory_v2()
    directory.tagtype[700] = 1  # XMP, as bytes
    directory[700] = xmp
    profile = b"\x00" * 16 + b"RGB " + b"\x00" * 280  # an RGB profile's header
    Image.fromarray(np.ascontiguousarray(photo)).save(src, icc_profile=profile,
                                                      tiffinfo=directory)
    out = embed_file(src, workdir / "marked.png", "0123456789abcdef", key="k")
    assert detect_file(out, key="k").payload == "0123456789abcdef"
    assert read_icc(out, "image/png") == profile
    with Image.open(out) as image:
        assert "Jane Doe" in image.info["XML:com.adobe.xmp"]
    with pytest.raises(UnsupportedMediaError, match="'.tif'"):
        embed_file(src, workdir / "marked.tif", "0123456789abcdef", key="k")
