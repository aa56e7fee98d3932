"""Image dimensions from PNG/JPEG headers, read without decoding the pixels.

This lets :mod:`provenant.media` refuse a decompression bomb before allocating its frame.
"""

from __future__ import annotations

import struct
from pathlib import Path

from provenant.errors import MediaError

__all__ = ["image_size"]

_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(path: Path, mime: str) -> tuple[int, int]:
    """``(width, height)`` of a PNG or JPEG file."""
    with open(path, "rb") as fh:
        if mime == "image/png":
            return _png_size(path, fh.read(33))
        return _jpeg_size(path, fh)


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
