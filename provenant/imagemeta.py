"""What a rewritten image carries over from its source: the ICC colour profile and the
EXIF data, read from a PNG, JPEG or WebP file and put into encoded bytes (HEIC and AVIF:
through their encoder, :mod:`provenant.heif`).

A photo in Display P3 or Adobe RGB (what phones and cameras write) keeps its colours only
while its profile travels with it: without it, viewers take the samples for sRGB and the
picture looks washed out. Its EXIF data holds when and where it was taken and with what
camera, which photo libraries sort and map by. Rewriting an image (the watermark,
``stamp``) re-encodes its samples with OpenCV, which writes neither, so both are carried
over here: PNG ``iCCP`` and ``eXIf``, JPEG ``APP2 ICC_PROFILE`` and ``APP1 Exif``
segments, WebP ``ICCP`` and ``EXIF`` (with the extended ``VP8X`` header they need). Both
are bytes to this module, except one EXIF field: the orientation, set to "upright", since
the pictures are read upright (:mod:`provenant.orientation`) and would otherwise be turned
twice. As ffmpeg keeps a video's tags, this keeps a photo's: strip them first where they
must not travel. The XMP packet and a JPEG's IPTC block travel too
(:mod:`provenant.xmpmeta`, which uses the chunk and segment walks here).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from provenant.heif import HEIF_MIMES, heif_exif, heif_icc
from provenant.imageheaders import webp_picture_size
from provenant.tiff import tiff_icc

__all__ = ["MAX_ICC_BYTES", "MAX_EXIF_BYTES", "read_icc", "with_icc", "icc_fits", "read_exif",
           "with_exif", "exif_orientation", "read_stored", "png_chunks", "png_insert",
           "jpeg_segments", "jpeg_segment", "jpeg_insert", "riff_chunks", "webp_with"]

#: Larger profiles are ignored (real ones are a few hundred bytes to a few hundred KB).
MAX_ICC_BYTES = 4 * 1024 * 1024
#: A JPEG holds EXIF in one APP1 segment (64 KB); larger blocks are dropped everywhere.
MAX_EXIF_BYTES = 65535 - 2 - 6
_JPEG_ICC = b"ICC_PROFILE\x00"
_EXIF = b"Exif\x00\x00"
_JPEG_CHUNK = 65519  # 65535 - 2 (length) - 12 (signature) - 2 (sequence, count)


def read_stored(path: Path, mime: str, heif: Callable[[Path], bytes | None],
                readers: dict[str, Callable[[bytes], bytes | None]]) -> bytes | None:
    """What ``heif`` (for HEIC and AVIF) or ``readers[mime]`` (given the file's bytes) find
    in ``path``, a ``mime`` image; None when it holds none, or a damaged one (dropped,
    never a reason to refuse the picture)."""
    try:
        if mime in HEIF_MIMES:
            return heif(Path(path))
        reader = readers.get(mime)
        return reader(Path(path).read_bytes()) if reader else None
    except (struct.error, zlib.error, IndexError, ValueError):
        return None


def read_icc(path: Path, mime: str) -> bytes | None:
    """The ICC profile stored in ``path`` (a ``mime`` image), or None (none, or unreadable:
    a damaged profile is dropped, never a reason to refuse the picture)."""
    return read_stored(path, mime, heif_icc, {"image/png": _png_icc, "image/jpeg": _jpeg_icc,
                                              "image/webp": _webp_icc, "image/tiff": tiff_icc})


def icc_fits(icc: bytes | None, channels: int) -> bool:
    """Whether ``icc`` describes samples of ``channels`` channels (RGB for 3 or 4, grey for
    1): a print JPEG's CMYK profile does not fit the RGB samples it is read as, and a
    viewer would misread or refuse a copy that carried it. No profile fits anything."""
    if not icc:
        return True
    space = icc[16:20]
    return space == (b"GRAY" if channels == 1 else b"RGB ")


def with_icc(data: bytes, ext: str, icc: bytes | None) -> bytes:
    """Encoded image ``data`` (as written for suffix ``ext``) with ``icc`` as its profile."""
    if not icc or len(icc) > MAX_ICC_BYTES:
        return data
    if ext == ".png":
        return _png_with(data, icc)
    if ext in (".jpg", ".jpeg"):
        return _jpeg_with(data, icc)
    if ext == ".webp":
        return webp_with(data, b"ICCP", icc, 0x20)
    return data


def read_exif(path: Path, mime: str) -> bytes | None:
    """The EXIF data stored in ``path`` (TIFF-structured, from its ``II``/``MM`` header),
    its orientation set to upright; None when there is none, or when it is too large or
    damaged (dropped, never a reason to refuse the picture)."""
    raw = _raw_exif(path, mime)
    found = _orientation_at(raw) if raw else None
    if found is None:
        return None
    order, at, _ = found
    out = bytearray(raw)
    if at:
        out[at:at + 2] = struct.pack(order + "H", 1)
    return bytes(out)


def exif_orientation(path: Path, mime: str) -> int:
    """The EXIF orientation of ``path`` (1-8; 1, upright, when it has none)."""
    raw = _raw_exif(path, mime)
    found = _orientation_at(raw) if raw else None
    return found[2] if found else 1


def _raw_exif(path: Path, mime: str) -> bytes | None:
    raw = read_stored(path, mime, heif_exif, {"image/png": _png_exif, "image/jpeg": _jpeg_exif,
                                              "image/webp": _webp_exif})
    if raw and raw.startswith(_EXIF):
        raw = raw[len(_EXIF):]
    return raw if raw and len(raw) <= MAX_EXIF_BYTES else None


def with_exif(data: bytes, ext: str, exif: bytes | None) -> bytes:
    """Encoded image ``data`` (as written for suffix ``ext``) with ``exif`` (as
    :func:`read_exif` gives it) stored in it."""
    if not exif or len(exif) > MAX_EXIF_BYTES:
        return data
    if ext == ".png":
        return png_insert(data, b"eXIf", exif, replace=(b"eXIf",))
    if ext in (".jpg", ".jpeg"):
        segment = b"\xff\xe1" + struct.pack(">H", 2 + len(_EXIF) + len(exif)) + _EXIF + exif
        return jpeg_insert(data, segment)
    if ext == ".webp":
        return webp_with(data, b"EXIF", exif, 0x08, before_picture=False)
    return data


def _orientation_at(tiff: bytes) -> tuple[str, int, int] | None:
    """``(byte order, offset of the orientation's value or 0, the orientation)`` of the
    first image directory of ``tiff``; None when its header or that directory is damaged."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    try:
        if order is None or struct.unpack(order + "H", tiff[2:4])[0] != 42:
            return None
        ifd = struct.unpack(order + "I", tiff[4:8])[0]
        count = struct.unpack(order + "H", tiff[ifd:ifd + 2])[0]
    except struct.error:
        return None
    if ifd + 2 + 12 * count > len(tiff):
        return None
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        tag, kind = struct.unpack(order + "HH", tiff[entry:entry + 4])
        if tag == 0x0112 and kind == 3:  # SHORT, held in the entry itself
            return order, entry + 8, struct.unpack(order + "H", tiff[entry + 8:entry + 10])[0]
    return order, 0, 1


# ---------------------------------------------------------------------------------- PNG
def png_chunks(data: bytes):
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield pos, kind, data[pos + 8:pos + 8 + length], pos + 12 + length
        if kind == b"IEND":
            return
        pos += 12 + length


def _png_icc(data: bytes) -> bytes | None:
    for _, kind, body, _ in png_chunks(data):
        if kind == b"iCCP":
            name_end = body.index(b"\x00")
            inflater = zlib.decompressobj()
            icc = inflater.decompress(body[name_end + 2:], MAX_ICC_BYTES + 1)
            return icc if icc and len(icc) <= MAX_ICC_BYTES else None
        if kind == b"IDAT":
            return None  # iCCP must come before the picture
    return None


def _png_exif(data: bytes) -> bytes | None:
    return next((body for _, kind, body, _ in png_chunks(data) if kind == b"eXIf"), None)


def png_insert(data: bytes, kind: bytes, body: bytes, replace: tuple[bytes, ...]) -> bytes:
    """``data`` with a ``kind`` chunk after ``IHDR`` (before the picture), and without the
    chunks ``replace`` names."""
    chunk = struct.pack(">I4s", len(body), kind) + body
    chunk += struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    out, placed = bytearray(data[:8]), False
    for start, name, _, end in png_chunks(data):
        if name in replace:
            continue
        out += data[start:end]
        if name == b"IHDR" and not placed:
            out += chunk
            placed = True
    return bytes(out)


def _png_with(data: bytes, icc: bytes) -> bytes:
    body = b"icc\x00\x00" + zlib.compress(icc, 9)
    return png_insert(data, b"iCCP", body, replace=(b"iCCP", b"sRGB"))  # one colour space


# --------------------------------------------------------------------------------- JPEG
def jpeg_segments(data: bytes):
    """``(marker, start, end)`` of each segment before the scan data."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the picture follows
            return
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        yield marker, pos, pos + 2 + length
        pos += 2 + length


def _jpeg_icc(data: bytes) -> bytes | None:
    parts: dict[int, bytes] = {}
    for marker, start, end in jpeg_segments(data):
        body = data[start + 4:end]
        if marker == 0xE2 and body.startswith(_JPEG_ICC) and len(body) >= 14:
            parts[body[12]] = body[14:]
    if not parts:
        return None
    icc = b"".join(parts[k] for k in sorted(parts))
    return icc if len(icc) <= MAX_ICC_BYTES else None


def _jpeg_with(data: bytes, icc: bytes) -> bytes:
    pieces = [icc[i:i + _JPEG_CHUNK] for i in range(0, len(icc), _JPEG_CHUNK)]
    if len(pieces) > 255:
        return data
    segments = b"".join(
        b"\xff\xe2" + struct.pack(">H", 2 + len(_JPEG_ICC) + 2 + len(p)) + _JPEG_ICC
        + bytes([i + 1, len(pieces)]) + p for i, p in enumerate(pieces))
    return jpeg_insert(data, segments)


def _jpeg_exif(data: bytes) -> bytes | None:
    return next((data[start + 4:end] for marker, start, end in jpeg_segments(data)
                 if marker == 0xE1 and data[start + 4:start + 10] == _EXIF), None)


def jpeg_segment(marker: int, body: bytes) -> bytes:
    """One JPEG marker segment (``0xFF``, ``marker``, its length) holding ``body``."""
    return bytes([0xFF, marker]) + struct.pack(">H", 2 + len(body)) + body


def jpeg_insert(data: bytes, segments: bytes) -> bytes:
    """``segments`` after SOI, and after a leading APP0 (JFIF) when there is one."""
    insert = 2
    for marker, start, end in jpeg_segments(data):
        if marker == 0xE0 and start == 2:
            insert = end
        break
    return data[:insert] + segments + data[insert:]


# --------------------------------------------------------------------------------- WebP
def riff_chunks(data: bytes):
    pos = 12
    while pos + 8 <= len(data):
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        yield kind, data[pos + 8:pos + 8 + size], data[pos:pos + 8 + size + (size & 1)]
        pos += 8 + size + (size & 1)


def _webp_icc(data: bytes) -> bytes | None:
    for kind, body, _ in riff_chunks(data):
        if kind == b"ICCP":
            return body if len(body) <= MAX_ICC_BYTES else None
    return None


def _webp_exif(data: bytes) -> bytes | None:
    return next((body for kind, body, _ in riff_chunks(data) if kind == b"EXIF"), None)


def webp_with(data: bytes, name: bytes, payload: bytes, flag: int,
               before_picture: bool = True) -> bytes:
    """``data`` with one ``name`` chunk (ICCP before the picture, EXIF after it) and its
    ``flag`` in the extended header, which a simple WebP is given."""
    chunks = list(riff_chunks(data))
    if not chunks:
        return data
    new = name + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
    rest = [raw for kind, _, raw in chunks if kind not in (b"VP8X", name)]
    if chunks[0][0] == b"VP8X":
        vp8x = bytearray(chunks[0][2])
        vp8x[8] |= flag
        head = bytes(vp8x)
    else:
        size = webp_picture_size(data[:30])
        if size is None:
            return data
        w, h = size
        kind, body = chunks[0][0], chunks[0][1]  # a lossless picture says if it uses alpha
        alpha = kind == b"VP8L" and len(body) >= 5 and bool(body[4] & 0x10)
        flags = flag | (0x10 if alpha else 0)
        head = (b"VP8X" + struct.pack("<I", 10) + bytes([flags, 0, 0, 0])
                + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little"))
    parts = [new, *rest] if before_picture else [*rest, new]
    # after the picture, EXIF comes before XMP, as the format orders them (a stable sort)
    parts.sort(key=lambda raw: {b"EXIF": 1, b"XMP ": 2}.get(raw[:4], 0))
    body = b"WEBP" + head + b"".join(parts)
    return b"RIFF" + struct.pack("<I", len(body)) + body
