"""What else a rewritten photo carries over from its source: its XMP packet and, JPEG to
JPEG, its IPTC block.

A press photo's creator, copyright notice, credit line, caption and usage terms (IPTC
Photo Metadata) live in XMP, and in the older IPTC-IIM block of a JPEG's Photoshop ``APP13``
segment, which newsroom tools still read. A watermarked or stamped copy used to drop both
(it kept only the colour profile and EXIF, :mod:`provenant.imagemeta`), so a copy no longer
said whose picture it was. Carried: a JPEG's ``APP1`` XMP packet, a PNG's
``XML:com.adobe.xmp`` text chunk, a WebP's ``XMP`` chunk, a HEIC's or AVIF's XMP (through
their encoder), a TIFF's XMP field (read; a copy is written in another format), and a
JPEG's ``APP13`` into a JPEG. An extended XMP (a JPEG packet over
64 KB, continued in further segments) is not carried.

Three things in XMP describe the file rather than the picture, and would be wrong in the
copy, so they are taken out: a C2PA manifest reference (``dcterms:provenance``: the copy has its
own manifest or none, and a validator would hold the copy against the source's), a motion
photo's description of the video appended to it (Google's ``GCamera:MotionPhoto`` and
``MicroVideo`` fields and its ``Container:Directory``: the copy is a still), and an Ultra
HDR photo's gain map fields (``hdrgm:``, and the same directory), unless the copy carries
the gain map too (JPEG to JPEG, :mod:`provenant.gainmap`); otherwise the copy is the SDR
picture.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from provenant.heif import heif_xmp
from provenant.imagemeta import (jpeg_insert, jpeg_segments, png_chunks, png_insert, read_stored,
                                 riff_chunks, webp_with)
from provenant.tiff import tiff_xmp

__all__ = ["MAX_XMP_BYTES", "read_xmp", "with_xmp", "read_iptc", "with_iptc"]

_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_JPEG_IPTC = b"Photoshop 3.0\x00"
_PNG_XMP = b"XML:com.adobe.xmp"
#: What one JPEG ``APP1`` segment holds after its signature.
MAX_XMP_BYTES = 65535 - 2 - len(_JPEG_XMP)
_FILE_FIELD = rb"dcterms:provenance|GCamera:(?:MotionPhoto|MicroVideo)\w*|hdrgm:\w+"
_FILE_FIELDS = [
    re.compile(rb"\s(?:" + _FILE_FIELD + rb")=(?:\"[^\"]*\"|'[^']*')"),
    re.compile(rb"<(" + _FILE_FIELD + rb"|Container:Directory)\b[^>]*?(?:/>|>.*?</\1>)",
               re.DOTALL),
]
#: The same, less the gain map's fields and directory (kept when the gain map is carried).
_KEPT_WITH_GAIN_MAP = rb"dcterms:provenance|GCamera:(?:MotionPhoto|MicroVideo)\w*"
_FILE_FIELDS_BUT_GAIN_MAP = [
    re.compile(rb"\s(?:" + _KEPT_WITH_GAIN_MAP + rb")=(?:\"[^\"]*\"|'[^']*')"),
    re.compile(rb"<(" + _KEPT_WITH_GAIN_MAP + rb")\b[^>]*?(?:/>|>.*?</\1>)", re.DOTALL),
    # a directory item other than the picture and its gain map (a motion photo's video)
    re.compile(rb"<rdf:li\b(?:(?!</rdf:li>).)*?Item:Semantic=[\"'](?!Primary|GainMap)"
               rb"(?:(?!</rdf:li>).)*</rdf:li>", re.DOTALL),
]


def read_xmp(path: Path, mime: str, gain_map: bool = False) -> bytes | None:
    """The XMP packet of ``path`` (a ``mime`` image) without the fields that describe the
    file rather than the picture; None when it has none, or a damaged or oversized one
    (dropped, never a reason to refuse the picture). ``gain_map``: the copy carries the
    source's gain map (:mod:`provenant.gainmap`), so its fields and directory stay (less
    any other item, such as a motion photo's video)."""
    xmp = read_stored(path, mime, heif_xmp, {"image/jpeg": _jpeg_xmp, "image/png": _png_xmp,
                                             "image/webp": _webp_xmp, "image/tiff": tiff_xmp})
    if not xmp or b"<x:xmpmeta" not in xmp and b"<rdf:RDF" not in xmp:
        return None
    for field in _FILE_FIELDS_BUT_GAIN_MAP if gain_map else _FILE_FIELDS:
        xmp = field.sub(b"", xmp)
    return xmp if len(xmp) <= MAX_XMP_BYTES else None


def with_xmp(data: bytes, ext: str, xmp: bytes | None) -> bytes:
    """Encoded image ``data`` (as written for suffix ``ext``) with ``xmp`` stored in it."""
    if not xmp or len(xmp) > MAX_XMP_BYTES:
        return data
    if ext in (".jpg", ".jpeg"):
        return jpeg_insert(data, _segment(0xE1, _JPEG_XMP + xmp))
    if ext == ".png":
        body = _PNG_XMP + b"\x00\x00\x00\x00\x00" + xmp  # iTXt, uncompressed, no language
        return png_insert(data, b"iTXt", body, replace=())
    if ext == ".webp":
        return webp_with(data, b"XMP ", xmp, 0x04, before_picture=False)
    return data


def read_iptc(path: Path, mime: str) -> bytes | None:
    """A JPEG's Photoshop ``APP13`` block (IPTC-IIM), or None."""
    return read_stored(path, mime, lambda _: None, {"image/jpeg": _jpeg_iptc})


def _jpeg_iptc(data: bytes) -> bytes | None:
    return next((data[start + 4:end] for marker, start, end in jpeg_segments(data)
                 if marker == 0xED and data[start + 4:end].startswith(_JPEG_IPTC)), None)


def with_iptc(data: bytes, ext: str, iptc: bytes | None) -> bytes:
    """JPEG ``data`` with ``iptc`` (as :func:`read_iptc` gives it) as its ``APP13``."""
    if not iptc or ext not in (".jpg", ".jpeg") or len(iptc) > 65533:
        return data
    return jpeg_insert(data, _segment(0xED, iptc))


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", 2 + len(body)) + body


def _jpeg_xmp(data: bytes) -> bytes | None:
    return next((data[start + 4 + len(_JPEG_XMP):end]
                 for marker, start, end in jpeg_segments(data)
                 if marker == 0xE1 and data[start + 4:end].startswith(_JPEG_XMP)), None)


def _png_xmp(data: bytes) -> bytes | None:
    for _, kind, body, _ in png_chunks(data):
        if kind == b"iTXt" and body.startswith(_PNG_XMP + b"\x00"):
            compressed = body[len(_PNG_XMP) + 1]
            rest = body[len(_PNG_XMP) + 3:]
            rest = rest[rest.index(b"\x00") + 1:]  # language tag
            text = rest[rest.index(b"\x00") + 1:]  # translated keyword
            if compressed:
                text = zlib.decompressobj().decompress(text, MAX_XMP_BYTES + 1)
            return text
    return None


def _webp_xmp(data: bytes) -> bytes | None:
    return next((body for kind, body, _ in riff_chunks(data) if kind == b"XMP "), None)
