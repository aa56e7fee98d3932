"""ISO base-media boxes (shared by MP4/BMFF and JUMBF): walk them, find them, tamper with them."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from provenant.errors import MediaError

__all__ = ["iter_boxes", "TopLevelBox", "top_level_boxes", "find_top_level_box", "flip_media_byte",
           "copy_prefix"]


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


@dataclass(frozen=True)
class TopLevelBox:
    kind: bytes
    start: int
    size: int
    header: int  # 8, or 16 with a 64-bit size
    tag: bytes  # the 16 bytes at start + 8: the UUID of a 'uuid' box with a 32-bit size


def top_level_boxes(path: str | os.PathLike[str]) -> tuple[list[TopLevelBox], bool]:
    """The top-level boxes of an ISO base-media file, read by seeking, and whether they tile
    the whole file exactly (no size-0 box, no truncated box, no trailing bytes). A size-0 box
    ("to the end of the file") or a truncated one is listed, as the last one."""
    boxes: list[TopLevelBox] = []
    with open(path, "rb") as fh:
        total = os.fstat(fh.fileno()).st_size
        pos = 0
        while pos + 8 <= total:
            fh.seek(pos)
            head = fh.read(24)
            size, kind = struct.unpack(">I4s", head[:8])
            header = 8
            if size == 1:
                if len(head) < 16:
                    return boxes, False
                size, header = struct.unpack(">Q", head[8:16])[0], 16
            elif size == 0:  # "to the end of the file"
                boxes.append(TopLevelBox(kind, pos, total - pos, header, head[8:24]))
                return boxes, False
            if size < header:
                return boxes, False
            if pos + size > total:  # truncated: listed with its declared size, as the last one
                boxes.append(TopLevelBox(kind, pos, size, header, head[8:24]))
                return boxes, False
            boxes.append(TopLevelBox(kind, pos, size, header, head[8:24]))
            pos += size
    return boxes, pos == total


def truncated_box(path: str | os.PathLike[str]) -> TopLevelBox | None:
    """The top-level box that runs past the end of the file (a cut-off download), if any."""
    boxes, exact = top_level_boxes(path)
    if exact or not boxes:
        return None
    last = boxes[-1]
    return last if last.start + last.size > os.path.getsize(path) else None


def find_top_level_box(path: str | os.PathLike[str], kind: bytes) -> tuple[int, int]:
    """``(payload_start, box_end)`` of the first top-level ``kind`` box of an MP4, read by seeking."""
    for box in top_level_boxes(path)[0]:
        if box.kind == kind:
            return box.start + box.header, box.start + box.size
    raise MediaError(f"{path} has no top-level {kind.decode(errors='replace')!r} box")


def copy_prefix(src: str | os.PathLike[str], out: BinaryIO, length: int) -> None:
    """The first ``length`` bytes of ``src`` written to ``out`` (a file opened for writing,
    at its current position; a kernel copy where the system has one)."""
    with open(src, "rb") as fin:
        left = length
        while left:
            if hasattr(os, "copy_file_range"):
                out.flush()
                n = os.copy_file_range(fin.fileno(), out.fileno(), min(left, 1 << 30))
            else:
                n = out.write(fin.read(min(left, 4 << 20)))
            if not n:
                raise OSError(f"{src} shrank while it was being copied")
            left -= n


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
