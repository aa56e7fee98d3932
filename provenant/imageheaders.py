"""Image dimensions from PNG/JPEG/WebP headers (HEIC/AVIF: their container; TIFF: its first
directory), read without decoding the pixels.

This lets :mod:`provenant.media` refuse a decompression bomb before allocating its frame.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from provenant.errors import MediaError
from provenant.heif import HEIF_MIMES, avif_frame_durations, heif_size
from provenant.tiff import tiff_size

__all__ = ["image_size", "animation", "png_animation", "png_chunk_heads",
           "webp_frame_durations", "webp_is_lossless", "webp_picture_size"]

#: Chunks an animation's walk reads at most (a crafted file of empty chunks would make it
#: long; a real animation has two or three per frame, within the frame limit).
_MAX_CHUNKS = 1_000_000
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(path: Path, mime: str) -> tuple[int, int]:
    """``(width, height)`` of a PNG, JPEG, WebP, HEIC, AVIF or TIFF file."""
    if mime in HEIF_MIMES:
        return heif_size(path)
    if mime == "image/tiff":
        return tiff_size(path)
    with open(path, "rb") as fh:
        if mime == "image/png":
            return _png_size(path, fh.read(33))
        if mime == "image/webp":
            return _webp_size(path, fh.read(30))
        return _jpeg_size(path, fh)


def animation(path: Path, mime: str) -> tuple[int, float] | None:
    """An animated PNG's or WebP's ``(frames, seconds)`` from its chunks, an animated AVIF's
    from its sample table; None for a still image (or another type)."""
    if mime == "image/png":
        return png_animation(path)
    if mime == "image/avif":
        durations = avif_frame_durations(path)
        return (len(durations), sum(durations) / 1000) if durations and len(durations) > 1 \
            else None
    durations = webp_frame_durations(path) if mime == "image/webp" else None
    if durations is None:
        return None
    if len(durations) < 2:
        raise MediaError(f"{path} declares a WebP animation but holds {len(durations)} "
                         "readable frames: it is truncated or corrupt",
                         hint="give a still WebP, or the animation as a video")
    return len(durations), sum(durations) / 1000


def webp_frame_durations(path: Path) -> list[int] | None:
    """An animated WebP's frame durations in milliseconds, one per ``ANMF`` chunk; None
    for a still WebP (no animation flag in ``VP8X``). A damaged chunk list ends the walk."""
    out: list[int] = []
    with open(path, "rb") as fh:
        head = fh.read(21)
        if len(head) < 21 or head[12:16] != b"VP8X" or not head[20] & 0x02:
            return None
        fh.seek(12)
        for _ in range(_MAX_CHUNKS):
            chunk = fh.read(8)
            if len(chunk) < 8:
                break
            kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            body = fh.read(16) if kind == b"ANMF" else b""
            if kind == b"ANMF" and len(body) == 16:
                out.append(int.from_bytes(body[12:15], "little"))
            fh.seek(size + (size & 1) - len(body), 1)
    return out


def png_chunk_heads(fh: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """``(position, declared size, type)`` of each chunk of the PNG open as ``fh``, read by
    seeking from header to header (the caller may read a body between them), until a header
    is cut off or ``_MAX_CHUNKS`` have been read."""
    pos = 8
    for _ in range(_MAX_CHUNKS):
        fh.seek(pos)
        head = fh.read(8)
        if len(head) < 8:
            return
        size = struct.unpack(">I", head[:4])[0]
        yield pos, size, head[4:]
        pos += 12 + size  # the header, the body and its CRC


def png_animation(path: Path) -> tuple[int, float] | None:
    """An animated PNG's (APNG's) ``(frames, seconds)``, from its ``acTL`` chunk (which must
    come before the first ``IDAT``) and the delays of its ``fcTL`` chunks; None for a still
    PNG. A damaged chunk list ends the walk (an ``acTL`` not yet seen: read as a still)."""
    frames, seconds = 0, 0.0
    with open(path, "rb") as fh:
        for pos, size, kind in png_chunk_heads(fh):
            if size > 1 << 31 or kind == b"IEND" or (kind == b"IDAT" and not frames):
                break
            if kind not in (b"acTL", b"fcTL"):
                continue
            fh.seek(pos + 8)
            body = fh.read(26)
            if kind == b"acTL" and len(body) >= 8:
                frames = struct.unpack(">I", body[:4])[0]
            elif kind == b"fcTL" and len(body) == 26:
                num, den = struct.unpack(">HH", body[20:24])
                seconds += num / (den or 100)
    return (frames, seconds) if frames > 1 else None


def webp_is_lossless(path: Path) -> bool:
    """Whether a WebP file holds a lossless (VP8L) picture, so that a copy can stay lossless:
    its first picture chunk, found by walking the RIFF chunks (an extended file puts
    metadata chunks before it)."""
    with open(path, "rb") as fh:
        fh.seek(12)
        for _ in range(64):  # a still WebP has a handful of chunks
            head = fh.read(8)
            if len(head) < 8:
                return False
            fourcc, size = head[:4], struct.unpack("<I", head[4:])[0]
            if fourcc in (b"VP8 ", b"VP8L"):
                return fourcc == b"VP8L"
            fh.seek(size + (size & 1), 1)
    return False


def webp_picture_size(head: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from the first 30 bytes of a simple WebP, whose first chunk is its
    picture: lossy (``VP8 ``) or lossless (``VP8L``); None for anything else."""
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        (bits,) = struct.unpack("<I", head[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _webp_size(path: Path, head: bytes) -> tuple[int, int]:
    """From the first chunk: lossy (``VP8 ``), lossless (``VP8L``) or extended (``VP8X``:
    the canvas, an animation's too)."""
    simple = webp_picture_size(head)
    if simple is not None:
        return simple
    if head[12:16] == b"VP8X" and len(head) >= 30:
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    raise MediaError(f"{path} is a truncated or corrupt WebP (no picture header found)")


def _png_size(path: Path, head: bytes) -> tuple[int, int]:
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise MediaError(f"{path} is a truncated or corrupt PNG")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def _jpeg_size(path: Path, fh) -> tuple[int, int]:
    fh.read(2)  # SOI
    while True:
        byte = fh.read(1)
        while byte == b"\xff":
            byte = fh.read(1)
        if not byte:
            break
        marker = byte[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue
        raw = fh.read(2)
        if len(raw) < 2:
            break
        (length,) = struct.unpack(">H", raw)
        if marker in _SOF_MARKERS:
            seg = fh.read(5)
            if len(seg) < 5:
                break
            height, width = struct.unpack(">HH", seg[1:5])
            return width, height
        if length < 2:
            break
        fh.seek(length - 2, 1)
    raise MediaError(f"{path} is a truncated or corrupt JPEG (no frame header found)")
