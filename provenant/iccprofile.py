"""ICC colour profiles: read from a PNG, JPEG or WebP file, and put into encoded bytes
(HEIC and AVIF: through their encoder, :mod:`provenant.heif`).

A photo in Display P3 or Adobe RGB (what phones and cameras write) keeps its colours only
while its profile travels with it: without it, viewers take the samples for sRGB and the
picture looks washed out. Rewriting an image (the watermark, ``stamp``) re-encodes its
samples with OpenCV, which writes no profile, so the source's profile is carried over here:
PNG ``iCCP``, JPEG ``APP2 ICC_PROFILE`` segments, WebP ``ICCP`` (with the extended ``VP8X``
header it needs). Profiles are bytes to this module; it never interprets them.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from provenant.heif import HEIF_MIMES, heif_icc
from provenant.imageheaders import webp_picture_size

__all__ = ["MAX_ICC_BYTES", "read_icc", "with_icc"]

#: Larger profiles are ignored (real ones are a few hundred bytes to a few hundred KB).
MAX_ICC_BYTES = 4 * 1024 * 1024
_JPEG_ICC = b"ICC_PROFILE\x00"
_JPEG_CHUNK = 65519  # 65535 - 2 (length) - 12 (signature) - 2 (sequence, count)


def read_icc(path: Path, mime: str) -> bytes | None:
    """The ICC profile stored in ``path`` (a ``mime`` image), or None (none, or unreadable:
    a damaged profile is dropped, never a reason to refuse the picture)."""
    if mime in HEIF_MIMES:
        return heif_icc(Path(path))
    data = Path(path).read_bytes()
    try:
        if mime == "image/png":
            return _png_icc(data)
        if mime == "image/jpeg":
            return _jpeg_icc(data)
        if mime == "image/webp":
            return _webp_icc(data)
    except (struct.error, zlib.error, IndexError, ValueError):
        return None
    return None


def with_icc(data: bytes, ext: str, icc: bytes | None) -> bytes:
    """Encoded image ``data`` (as written for suffix ``ext``) with ``icc`` as its profile."""
    if not icc or len(icc) > MAX_ICC_BYTES:
        return data
    if ext == ".png":
        return _png_with(data, icc)
    if ext in (".jpg", ".jpeg"):
        return _jpeg_with(data, icc)
    if ext == ".webp":
        return _webp_with(data, icc)
    return data


# ---------------------------------------------------------------------------------- PNG
def _png_chunks(data: bytes):
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield pos, kind, data[pos + 8:pos + 8 + length], pos + 12 + length
        if kind == b"IEND":
            return
        pos += 12 + length


def _png_icc(data: bytes) -> bytes | None:
    for _, kind, body, _ in _png_chunks(data):
        if kind == b"iCCP":
            name_end = body.index(b"\x00")
            inflater = zlib.decompressobj()
            icc = inflater.decompress(body[name_end + 2:], MAX_ICC_BYTES + 1)
            return icc if icc and len(icc) <= MAX_ICC_BYTES else None
        if kind == b"IDAT":
            return None  # iCCP must come before the picture
    return None


def _png_with(data: bytes, icc: bytes) -> bytes:
    body = b"icc\x00\x00" + zlib.compress(icc, 9)
    chunk = struct.pack(">I4s", len(body), b"iCCP") + body
    chunk += struct.pack(">I", zlib.crc32(b"iCCP" + body) & 0xFFFFFFFF)
    out, placed = bytearray(data[:8]), False
    for start, kind, _, end in _png_chunks(data):
        if kind in (b"iCCP", b"sRGB"):  # one colour space: the carried profile
            continue
        out += data[start:end]
        if kind == b"IHDR" and not placed:
            out += chunk
            placed = True
    return bytes(out)


# --------------------------------------------------------------------------------- JPEG
def _jpeg_segments(data: bytes):
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
    for marker, start, end in _jpeg_segments(data):
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
    insert = 2  # after SOI, and after a leading APP0 (JFIF) when there is one
    for marker, start, end in _jpeg_segments(data):
        if marker == 0xE0 and start == 2:
            insert = end
        break
    return data[:insert] + segments + data[insert:]


# --------------------------------------------------------------------------------- WebP
def _riff_chunks(data: bytes):
    pos = 12
    while pos + 8 <= len(data):
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        yield kind, data[pos + 8:pos + 8 + size], data[pos:pos + 8 + size + (size & 1)]
        pos += 8 + size + (size & 1)


def _webp_icc(data: bytes) -> bytes | None:
    for kind, body, _ in _riff_chunks(data):
        if kind == b"ICCP":
            return body if len(body) <= MAX_ICC_BYTES else None
    return None


def _webp_with(data: bytes, icc: bytes) -> bytes:
    chunks = list(_riff_chunks(data))
    if not chunks:
        return data
    icc_chunk = b"ICCP" + struct.pack("<I", len(icc)) + icc + (b"\x00" if len(icc) & 1 else b"")
    rest = [raw for kind, _, raw in chunks if kind not in (b"VP8X", b"ICCP")]
    if chunks[0][0] == b"VP8X":
        vp8x = bytearray(chunks[0][2])
        vp8x[8] |= 0x20  # the ICC flag
        head = bytes(vp8x)
    else:
        size = webp_picture_size(data[:30])
        if size is None:
            return data
        w, h = size
        kind, body = chunks[0][0], chunks[0][1]  # a lossless picture says if it uses alpha
        alpha = kind == b"VP8L" and len(body) >= 5 and bool(body[4] & 0x10)
        flags = 0x20 | (0x10 if alpha else 0)
        head = (b"VP8X" + struct.pack("<I", 10) + bytes([flags, 0, 0, 0])
                + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little"))
    body = b"WEBP" + head + icc_chunk + b"".join(rest)
    return b"RIFF" + struct.pack("<I", len(body)) + body
