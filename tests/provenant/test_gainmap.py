"""An Ultra HDR JPEG keeps its gain map through a watermark (and a stamp): Pillow, which
reads the Multi-Picture index on its own, is the judge of what was written."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from provenant.gainmap import read_gain_map
from provenant.provenance import stamp
from watermark import detect_file, embed_file

PAYLOAD = "0123456789abcdef"
_XMP_SIG = b"http://ns.adobe.com/xap/1.0/\x00"
PRIMARY_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/"'
    b' xmlns:Container="http://ns.google.com/photos/1.0/container/" xmlns:Item="http://ns.'
    b'google.com/photos/1.0/container/item/" xmlns:GCamera="http://ns.google.com/photos/1.0/'
    b'camera/" xmlns:dc="http://purl.org/dc/elements/1.1/" hdrgm:Version="1.0" '
    b'GCamera:MotionPhoto="1"><dc:creator><rdf:Seq><rdf:li>A. Reporter</rdf:li></rdf:Seq>'
    b'</dc:creator><Container:Directory><rdf:Seq><rdf:li rdf:parseType="Resource">'
    b'<Container:Item Item:Semantic="Primary" Item:Mime="image/jpeg"/></rdf:li>'
    b'<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap" '
    b'Item:Mime="image/jpeg" Item:Length="LENGTH"/></rdf:li><rdf:li rdf:parseType="Resource">'
    b'<Container:Item Item:Semantic="MotionPhoto" Item:Mime="video/mp4" Item:Length="9"/>'
    b'</rdf:li></rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>')
GAIN_MAP_XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/'
                b'1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:hdrgm="http://ns.adobe.com/'
                b'hdr-gain-map/1.0/" hdrgm:Version="1.0" hdrgm:GainMapMax="2.0"/></rdf:RDF>'
                b'</x:xmpmeta>')


def _app(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _jpeg(pixels: np.ndarray, *segments: bytes) -> bytes:
    ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 92])
    data = buf.tobytes()
    return data[:2] + b"".join(segments) + data[2:]  # before the encoder's APP0: any order


def ultra_hdr(path: Path, gain_map_xmp: bytes = GAIN_MAP_XMP, exif: bytes = b"",
              motion: bytes = b"", motion_length: int | None = None) -> bytes:
    """A photo as Android writes one: primary (XMP, little-endian MP index) + gain map JPEG
    (+ a motion photo's video, its length in the XMP ``motion_length`` when given); returns
    the gain map's bytes."""
    rng = np.random.default_rng(4)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (384, 512, 3), dtype=np.uint8), (5, 5), 2)
    gain = _jpeg(cv2.resize(photo[:, :, 1], (128, 96)), _app(0xE1, _XMP_SIG + gain_map_xmp))
    xmp = PRIMARY_XMP.replace(b"LENGTH", str(len(gain)).encode()).replace(
        b'Item:Length="9"', b'Item:Length="%d"' % (
            len(motion) if motion_length is None else motion_length))
    segments = [*([_app(0xE1, exif)] if exif else []), _app(0xE1, _XMP_SIG + xmp)]
    head = _jpeg(photo, *segments)
    at = 2 + sum(len(segment) for segment in segments)  # the index goes after them
    index_size = 2 + 2 + 4 + 8 + 2 + 3 * 12 + 4 + 32
    primary_size, base = len(head) + index_size, at + 8  # offsets count from "II*"
    ifd = struct.pack("<H", 3) + struct.pack("<HHI4s", 0xB000, 7, 4, b"0100") + \
        struct.pack("<HHII", 0xB001, 4, 1, 2) + struct.pack("<HHII", 0xB002, 7, 32, 50) + \
        struct.pack("<I", 0)
    entries = struct.pack("<IIIHH", 0x20030000, primary_size, 0, 0, 0) + \
        struct.pack("<IIIHH", 0, len(gain), primary_size - base, 0, 0)
    index = _app(0xE2, b"MPF\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd + entries)
    assert len(index) == index_size
    path.write_bytes(head[:at] + index + head[at:] + gain + motion)
    return gain


def _frames(path: Path) -> list[bytes]:
    """Each image that Pillow's reader of the MP index finds, as bytes (Pillow reads the
    index of an Ultra HDR photo but, on purpose, opens it as a plain JPEG)."""
    data = path.read_bytes()
    with Image.open(path) as im:
        index = im._getmp() if hasattr(im, "_getmp") else None
    if not index:
        return [data]
    base = data.index(b"MPF\x00") + 4
    return [data[:e["Size"]] if i == 0 else data[base + e["DataOffset"]:
                                                   base + e["DataOffset"] + e["Size"]]
            for i, e in enumerate(index[0xB002])]


def _xmp(path: Path) -> bytes:
    data = path.read_bytes()
    at = data.index(_XMP_SIG) + len(_XMP_SIG)
    return data[at:data.index(b"</x:xmpmeta>", at)]


def test_the_fixture_reads_as_android_writes_it(workdir: Path) -> None:
    gain = ultra_hdr(workdir / "pixel.jpg", motion=b"ftypmp42\x00")
    assert _frames(workdir / "pixel.jpg")[1] == gain
    assert read_gain_map(workdir / "pixel.jpg", "image/jpeg").image == gain


def test_a_watermarked_copy_keeps_the_gain_map(workdir: Path) -> None:
    gain = ultra_hdr(workdir / "pixel.jpg", motion=b"ftypmp42\x00")
    out = embed_file(workdir / "pixel.jpg", workdir / "marked.jpg", PAYLOAD)
    frames = _frames(out)
    assert len(frames) == 2 and frames[1] == gain  # appended as it was, indexed anew
    assert Image.open(io.BytesIO(frames[1])).size == (128, 96)
    assert len(frames[0]) == out.read_bytes().index(gain)  # the primary's size, as indexed
    xmp = _xmp(out)
    assert b'hdrgm:Version="1.0"' in xmp and b'Item:Semantic="GainMap"' in xmp
    assert b"MotionPhoto" not in xmp  # the video is not carried, nor named
    assert b"A. Reporter" in xmp
    assert not out.read_bytes().endswith(b"ftypmp42\x00")
    assert detect_file(out).payload == PAYLOAD


def test_a_stamped_copy_keeps_it_too(workdir: Path) -> None:
    gain = ultra_hdr(workdir / "pixel.jpg")
    out = stamp(workdir / "pixel.jpg", workdir / "stamped.jpg").path
    assert _frames(out)[1:] == [gain]


def test_another_format_or_a_turned_photo_drops_it_with_its_fields(workdir: Path) -> None:
    ultra_hdr(workdir / "pixel.jpg")
    png = embed_file(workdir / "pixel.jpg", workdir / "marked.png", PAYLOAD)
    assert b"hdrgm:" not in png.read_bytes() and b"GainMap" not in png.read_bytes()
    # EXIF orientation 6: the copy is stored upright, so the map would not line up
    exif = b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 1) + \
        struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack("<I", 0)
    ultra_hdr(workdir / "turned.jpg", exif=exif)
    assert read_gain_map(workdir / "turned.jpg", "image/jpeg") is None
    out = embed_file(workdir / "turned.jpg", workdir / "turned-marked.jpg", PAYLOAD)
    assert len(_frames(out)) == 1 and b"hdrgm:" not in out.read_bytes()


def test_a_second_picture_that_is_no_gain_map_is_not_carried(workdir: Path) -> None:
    """A stereo camera's other view is a whole picture: an unmarked copy of it must not
    ride in a watermarked file."""
    ultra_hdr(workdir / "stereo.jpg", gain_map_xmp=GAIN_MAP_XMP.replace(b"hdrgm:", b"xx:"))
    assert read_gain_map(workdir / "stereo.jpg", "image/jpeg") is None
    assert len(_frames(embed_file(workdir / "stereo.jpg", workdir / "m.jpg", PAYLOAD))) == 1


@pytest.mark.parametrize("damage", ["offset", "size", "ifd", "cut"])
def test_a_damaged_index_is_ignored(workdir: Path, damage: str) -> None:
    gain = ultra_hdr(workdir / "pixel.jpg")
    data = bytearray((workdir / "pixel.jpg").read_bytes())
    mp = data.index(b"MPF\x00") + 4
    if damage == "offset":
        data[mp + 50 + 24:mp + 50 + 28] = struct.pack("<I", 10**9)
    elif damage == "size":
        data[mp + 50 + 20:mp + 50 + 24] = struct.pack("<I", 0xFFFFFFF0)
    elif damage == "ifd":  # the index's directory said to lie past its end
        data[mp + 4:mp + 8] = struct.pack("<I", 10**6)
    else:
        data = data[:len(data) - len(gain) // 2]
    (workdir / "bad.jpg").write_bytes(bytes(data))
    assert read_gain_map(workdir / "bad.jpg", "image/jpeg") is None
    out = embed_file(workdir / "bad.jpg", workdir / "marked.jpg", PAYLOAD)
    assert detect_file(out).payload == PAYLOAD
    assert io.BytesIO(out.read_bytes()).read(2) == b"\xff\xd8"
