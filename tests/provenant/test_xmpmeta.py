"""A rewritten photo (watermark, ``stamp``) keeps its XMP packet and a JPEG's IPTC block:
who took it, whose it is, the credit line and the caption (a copy used to drop them). What
describes the file rather than the picture (a C2PA manifest reference, a motion photo's
video) is left out."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, IptcImagePlugin, PngImagePlugin

from provenant.samples import render_clip
from provenant.xmpmeta import read_iptc, read_xmp
from watermark import detect_file, embed_file

PAYLOAD = "0123456789abcdef"
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
       b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
       b'xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" '
       b'xmlns:Container="http://ns.google.com/photos/1.0/container/" '
       b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:Credit="Agency X" '
       b'dcterms:provenance="self#jumbf=c2pa" GCamera:MotionPhoto="1" '
       b"GCamera:MotionPhotoVersion='1' "  # either quote
       b'xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" '
       b'hdrgm:Version="1.0"><dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li>'
       b'</rdf:Seq></dc:creator><dc:rights><rdf:Alt><rdf:li xml:lang="x-default">(c) 2026 Jane '
       b'Doe</rdf:li></rdf:Alt></dc:rights><Container:Directory><rdf:Seq><rdf:li '
       b'rdf:parseType="Resource"><Container:Item/></rdf:li></rdf:Seq></Container:Directory>'
       b'</rdf:Description></rdf:RDF></x:xmpmeta>')


def _photo() -> np.ndarray:
    from provenant import media
    from provenant.samples import sample_photos

    return np.ascontiguousarray(media.read_image(sample_photos()["astronaut"])[:192, :256])


def _saved(path: Path, picture: np.ndarray) -> Path:
    """``picture`` written by Pillow (and pillow-heif) with :data:`XMP`."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    if path.suffix == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        Image.fromarray(picture).save(path, pnginfo=info)
    else:
        Image.fromarray(picture).save(path, xmp=XMP, quality=90)
    return path


def _xmp_of(path: Path) -> bytes:
    """The XMP packet as Pillow (and pillow-heif) reads it back."""
    with Image.open(path) as image:
        xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    return xmp.encode() if isinstance(xmp, str) else bytes(xmp)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".heic", ".avif"])
def test_a_marked_photo_keeps_its_xmp(workdir: Path, ext: str) -> None:
    src = _saved(workdir / f"press{ext}", _photo())
    out = embed_file(src, workdir / f"marked{ext}", PAYLOAD, key="k")
    xmp = _xmp_of(out)
    ET.fromstring(xmp)  # still well-formed XML
    for kept in (b"Jane Doe", b"(c) 2026 Jane Doe", b'photoshop:Credit="Agency X"'):
        assert kept in xmp
    for dropped in (b"dcterms:provenance", b"GCamera:MotionPhoto", b"Container:Directory",
                    b"hdrgm:Version"):
        assert dropped not in xmp
    assert detect_file(out, key="k").payload == PAYLOAD


def test_a_webp_holds_its_metadata_in_the_formats_order(workdir: Path) -> None:
    """ICC profile before the picture, then EXIF, then XMP."""
    from provenant.imagemeta import riff_chunks

    src = workdir / "press.webp"
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    profile = b"\0" * 16 + b"RGB " + b"\0" * 180  # an RGB profile's header
    Image.fromarray(_photo()).save(src, xmp=XMP, exif=exif.tobytes(), icc_profile=profile)
    out = embed_file(src, workdir / "marked.webp", PAYLOAD, key="k")
    kinds = [kind for kind, _, _ in riff_chunks(out.read_bytes())]
    assert kinds[0] == b"VP8X" and kinds[-2:] == [b"EXIF", b"XMP "]
    assert kinds.index(b"ICCP") < min(kinds.index(k) for k in (b"VP8 ", b"VP8L") if k in kinds)


def _with_iptc(jpeg: bytes, byline: bytes) -> bytes:
    """``jpeg`` with a Photoshop APP13 holding an IPTC-IIM By-line (2:80)."""
    record = b"\x1c\x02\x50" + struct.pack(">H", len(byline)) + byline
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + record
    body = b"Photoshop 3.0\x00" + resource + (b"\x00" if len(resource) % 2 else b"")
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", 2 + len(body)) + body + jpeg[2:]


def test_a_marked_jpeg_keeps_its_iptc_block(workdir: Path) -> None:
    plain = workdir / "plain.jpg"
    Image.fromarray(_photo()).save(plain, quality=90)
    src = workdir / "press.jpg"
    src.write_bytes(_with_iptc(plain.read_bytes(), b"Jane Doe"))
    out = embed_file(src, workdir / "marked.jpg", PAYLOAD, key="k")
    with Image.open(out) as image:
        assert IptcImagePlugin.getiptcinfo(image)[(2, 80)] == b"Jane Doe"
    assert read_iptc(out, "image/jpeg") == read_iptc(src, "image/jpeg")
    assert read_xmp(out, "image/jpeg") is None  # none was there, none is made up


def test_a_motion_photo_is_marked_as_a_still(workdir: Path) -> None:
    """A phone's motion photo is a JPEG with its video appended and described in its XMP;
    the marked copy is the still alone, and its XMP no longer describes a video."""
    from provenant.media import write_video

    still = _saved(workdir / "still.jpg", _photo())
    video = write_video(list(render_clip(6, 96, 128)), workdir / "motion.mp4", fps=24)
    src = workdir / "PXL_MP.jpg"
    src.write_bytes(still.read_bytes() + video.read_bytes())
    out = embed_file(src, workdir / "marked.jpg", PAYLOAD, key="k")
    assert b"ftyp" not in out.read_bytes()[-video.stat().st_size:]
    assert b"Container:Directory" not in _xmp_of(out) and b"Jane Doe" in _xmp_of(out)


def test_damaged_xmp_is_dropped_not_fatal(workdir: Path) -> None:
    src = workdir / "damaged.png"
    Image.fromarray(_photo()).save(src)
    data = src.read_bytes()
    body = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + b"not zlib data"  # "compressed"
    chunk = struct.pack(">I", len(body)) + b"iTXt" + body + b"\x00\x00\x00\x00"
    src.write_bytes(data[:33] + chunk + data[33:])  # after IHDR
    assert read_xmp(src, "image/png") is None
    out = embed_file(src, workdir / "marked.png", PAYLOAD, key="k")
    assert detect_file(out, key="k").payload == PAYLOAD
