"""ISO base-media boxes (shared by MP4/BMFF and JUMBF): walk them, find them, tamper with them."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

from provenant.errors import MediaError

__all__ = ["iter_boxes", "find_top_level_box", "flip_media_byte"]


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, payload_start, box_end)`` for each box in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos + header, pos + size
        pos += size


def find_top_level_box(path: str | os.PathLike[str], kind: bytes) -> tuple[int, int]:
    """``(payload_start, box_end)`` of the first top-level ``kind`` box of an MP4, read by seeking."""
    with open(path, "rb") as fh:
        size_total = os.fstat(fh.fileno()).st_size
        pos = 0
        while pos + 8 <= size_total:
            fh.seek(pos)
            size, found = struct.unpack(">I4s", fh.read(8))
            header = 8
            if size == 1:
                size, header = struct.unpack(">Q", fh.read(8))[0], 16
            elif size == 0:
                size = size_total - pos
            if size < header:
                break
            if found == kind:
                return pos + header, pos + size
            pos += size
    raise MediaError(f"{path} has no top-level {kind.decode(errors='replace')!r} box")


def flip_media_byte(src: str | os.PathLike[str], dst: str | os.PathLike[str], offset: int = 100) -> int:
    """Copy ``src`` to ``dst`` with one byte inside ``mdat`` inverted; returns its file offset.

    Used to demonstrate and test tamper detection.
    """
    start, end = find_top_level_box(src, b"mdat")
    pos = min(start + offset, end - 1)
    data = bytearray(Path(src).read_bytes())
    data[pos] ^= 0xFF
    Path(dst).write_bytes(bytes(data))
    return pos
