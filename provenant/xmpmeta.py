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
own manifest or none, and a validator would hold the copy against the source's), and,
unless a JPEG copy carries them (:mod:`provenant.gainmap`, :mod:`provenant.motionphoto`),
what Android appends to a JPEG: a motion photo's video (Google's ``GCamera:MotionPhoto``
and ``MicroVideo`` fields and its ``Container:Directory`` item) and an Ultra HDR gain map
(``hdrgm:`` fields and its item).
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

from provenant.heif import heif_xmp
from provenant.imagemeta import (jpeg_insert, jpeg_segment, jpeg_segments, png_chunks, png_insert,
                                 read_stored,
                                 riff_chunks, webp_with)
from provenant.tiff import tiff_xmp

__all__ = ["MAX_XMP_BYTES", "read_xmp", "source_xmp", "for_copy", "with_xmp", "jpeg_xmp",
           "read_iptc", "with_iptc"]

_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_JPEG_IPTC = b"Photoshop 3.0\x00"
_PNG_XMP = b"XML:com.adobe.xmp"
#: What one JPEG ``APP1`` segment holds after its signature.
MAX_XMP_BYTES = 65535 - 2 - len(_JPEG_XMP)
_PROVENANCE = rb"dcterms:provenance"
_MOTION = rb"GCamera:(?:MotionPhoto|MicroVideo)\w*"
_GAIN_MAP = rb"hdrgm:\w+"
_DIRECTORY = re.compile(rb"<(Container:Directory)\b[^>]*?(?:/>|>.*?</\1>)", re.DOTALL)
_ITEM = re.compile(rb"<rdf:li\b(?:(?!</rdf:li>).)*</rdf:li>", re.DOTALL)
_SEMANTIC = re.compile(rb"Item:Semantic=[\"'](\w+)[\"']")
_LENGTH = re.compile(rb"Item:Length=[\"']\d*[\"']")
_MICRO_VIDEO_OFFSET = re.compile(rb"GCamera:MicroVideoOffset=[\"']\d*[\"']")


def _fields(names: bytes) -> list[re.Pattern[bytes]]:
    """Patterns for the fields ``names`` (a regex alternation) as attributes and elements."""
    return [re.compile(rb"\s(?:" + names + rb")=(?:\"[^\"]*\"|'[^']*')"),
            re.compile(rb"<(" + names + rb")\b[^>]*?(?:/>|>.*?</\1>)", re.DOTALL)]


def source_xmp(path: Path, mime: str) -> bytes | None:
    """The XMP packet of ``path`` as it is stored (None: none, or a damaged one)."""
    xmp = read_stored(path, mime, heif_xmp, {"image/jpeg": jpeg_xmp, "image/png": _png_xmp,
                                             "image/webp": _webp_xmp, "image/tiff": tiff_xmp})
    if not xmp or b"<x:xmpmeta" not in xmp and b"<rdf:RDF" not in xmp:
        return None
    return xmp


def read_xmp(path: Path, mime: str, gain_map: bool = False,
             motion_video: int | None = None) -> bytes | None:
    """The XMP packet of ``path`` (a ``mime`` image) without the fields that describe the
    file rather than the picture; None when it has none, or a damaged or oversized one
    (dropped, never a reason to refuse the picture). What the copy carries of what was
    appended to the source keeps its fields and directory item: ``gain_map``, the gain map
    (:mod:`provenant.gainmap`); ``motion_video``, the length of the (watermarked) motion
    photo video appended to the copy (:mod:`provenant.motionphoto`)."""
    xmp = source_xmp(path, mime)
    if xmp is None:
        return None
    xmp = for_copy(xmp, gain_map, motion_video)
    return xmp if len(xmp) <= MAX_XMP_BYTES else None


def for_copy(xmp: bytes, gain_map: bool = False, motion_video: int | None = None) -> bytes:
    """``xmp`` less a C2PA manifest reference (``dcterms:provenance``: the copy has its own
    manifest or none), and less the fields and ``Container:Directory`` items of what the
    copy does not carry (see :func:`read_xmp`); the motion video's length set anew."""
    dropped = [_PROVENANCE, *([] if gain_map else [_GAIN_MAP]),
               *([] if motion_video is not None else [_MOTION])]
    for field in _fields(b"|".join(dropped)):
        xmp = field.sub(b"", xmp)
    kept = {b"Primary", *([b"GainMap"] if gain_map else []),
            *([b"MotionPhoto"] if motion_video is not None else [])}

    def item(match: re.Match[bytes]) -> bytes:
        semantic = _SEMANTIC.search(match.group(0))
        name = semantic.group(1) if semantic else None
        if name not in kept:
            return b""
        if name == b"MotionPhoto":
            length = b'Item:Length="%d"' % motion_video
            return (_LENGTH.sub(length, match.group(0)) if _LENGTH.search(match.group(0))
                    else match.group(0).replace(semantic.group(0),
                                                semantic.group(0) + b" " + length))
        return match.group(0)

    def directory(match: re.Match[bytes]) -> bytes:
        rest = _ITEM.sub(item, match.group(0))
        return rest if len(_ITEM.findall(rest)) > 1 else b""  # the picture alone: none

    xmp = _DIRECTORY.sub(directory, xmp)
    if motion_video is not None:
        xmp = _MICRO_VIDEO_OFFSET.sub(b'GCamera:MicroVideoOffset="%d"' % motion_video, xmp)
    return xmp


def with_xmp(data: bytes, ext: str, xmp: bytes | None) -> bytes:
    """Encoded image ``data`` (as written for suffix ``ext``) with ``xmp`` stored in it."""
    if not xmp or len(xmp) > MAX_XMP_BYTES:
        return data
    if ext in (".jpg", ".jpeg"):
        return jpeg_insert(data, jpeg_segment(0xE1, _JPEG_XMP + xmp))
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
    return jpeg_insert(data, jpeg_segment(0xED, iptc))


def jpeg_xmp(data: bytes) -> bytes | None:
    """The XMP packet of JPEG ``data`` (its first ``APP1`` XMP segment), or None."""
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
