"""Read and rewrite the index (``moov``) of an MP4/MOV file: its tracks' sample entries.

A re-encode writes what FFmpeg's MP4 muxer writes; what it cannot be told through PyAV (a
360 video's projection boxes, :mod:`provenant.spherical`) is put into the finished file here.
The index is parsed as a tree down to the sample entries, edited, and written back; every
chunk offset that points past the index moves by the change in its size (``stco`` entries
that would pass 4 GiB are rewritten as ``co64``), so the media data is copied untouched.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from provenant.boxes import copy_prefix, iter_boxes, top_level_boxes
from provenant.tempnames import short_stem

__all__ = ["Box", "read_moov", "tracks", "video_track", "video_entry", "sample_entry",
           "rewrite_moov",
           "MAX_MOOV_BYTES"]

#: Boxes whose payload is nothing but boxes, on the way down to the sample entries.
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"})
#: Bytes of a visual sample entry before its child boxes.
_VISUAL_ENTRY_FIELDS = 78
#: The same for an audio sample entry, by its (QuickTime) version: 0 (ISO), 1 and 2.
_SOUND_ENTRY_FIELDS = {0: 28, 1: 44, 2: 64}
#: An index larger than this is not read (a two-hour phone video's is a few megabytes).
MAX_MOOV_BYTES = 256 * 1024 * 1024
_MAX_DEPTH = 8
#: More boxes than this side by side is a crafted file, not an index (a track has a dozen).
_MAX_CHILDREN = 10_000


@dataclass
class Box:
    """One box: a leaf (``children`` None, ``body`` its payload), or a container whose
    payload is ``body`` (fixed fields, as a sample description's count) then ``children``."""

    kind: bytes
    body: bytes = b""
    children: list[Box] | None = None

    def find(self, kind: bytes) -> list[Box]:
        """The direct children of type ``kind``."""
        return [c for c in self.children or () if c.kind == kind]

    def first(self, *path: bytes) -> Box | None:
        """The first box down ``path`` of child types, or None."""
        box: Box | None = self
        for kind in path:
            box = next(iter(box.find(kind)), None) if box is not None else None
        return box

    def serialise(self) -> bytes:
        inner = self.body + b"".join(c.serialise() for c in self.children or ())
        if len(inner) + 8 <= 0xFFFFFFFF:
            return struct.pack(">I4s", len(inner) + 8, self.kind) + inner
        return struct.pack(">I4sQ", 1, self.kind, len(inner) + 16) + inner


def _parse(data: bytes, start: int, end: int, depth: int) -> list[Box] | None:
    """The boxes tiling ``data[start:end]`` exactly, containers parsed; None if they don't."""
    if depth > _MAX_DEPTH:
        return None
    boxes: list[Box] = []
    pos = start
    for kind, payload, box_end in iter_boxes(data, start, end):
        if len(boxes) >= _MAX_CHILDREN:
            return None
        if kind in _CONTAINERS:
            children = _parse(data, payload, box_end, depth + 1)
            if children is None:
                return None
            boxes.append(Box(kind, b"", children))
        elif kind == b"stsd" and box_end - payload >= 8:  # version, flags, entry count
            entries = _parse_leaves(data, payload + 8, box_end)
            if entries is None:
                return None
            boxes.append(Box(kind, data[payload:payload + 8], entries))
        else:
            boxes.append(Box(kind, data[payload:box_end]))
        pos = box_end
    return boxes if pos == end else None


def _parse_leaves(data: bytes, start: int, end: int) -> list[Box] | None:
    boxes, pos = [], start
    for kind, payload, box_end in iter_boxes(data, start, end):
        if len(boxes) >= _MAX_CHILDREN:
            return None
        boxes.append(Box(kind, data[payload:box_end]))
        pos = box_end
    return boxes if pos == end else None


def read_moov(path: str | os.PathLike[str]) -> tuple[Box, int, int] | None:
    """The index of an MP4/MOV file as a tree, with its start and size in the file; None
    when the file has none, it is larger than :data:`MAX_MOOV_BYTES`, or it does not parse
    (the file is not an ISO base-media file, or is damaged)."""
    try:
        boxes, _ = top_level_boxes(path)
    except OSError:
        return None
    moov = next((b for b in boxes if b.kind == b"moov"), None)
    if moov is None or moov.size > MAX_MOOV_BYTES:
        return None
    with open(path, "rb") as fh:
        fh.seek(moov.start)
        data = fh.read(moov.size)
    if len(data) != moov.size:
        return None
    children = _parse(data, moov.header, moov.size, 1)
    return (Box(b"moov", b"", children), moov.start, moov.size) if children is not None else None


def tracks(moov: Box, handler: bytes) -> list[Box]:
    """The tracks whose handler is ``handler`` (``b"vide"``, ``b"soun"``), in file order
    (the order FFmpeg numbers their streams in)."""
    return [trak for trak in moov.find(b"trak") if _handler(trak) == handler]


def video_track(moov: Box) -> Box | None:
    """The first video track (the one a re-encode writes)."""
    return next(iter(tracks(moov, b"vide")), None)


def video_entry(found: tuple[Box, int, int] | None) -> tuple[Box, Box] | None:
    """``(track, sample entry)`` of the first video track of a :func:`read_moov` result,
    the entry's child boxes parsed; None when there is none."""
    trak = video_track(found[0]) if found else None
    entry = sample_entry(trak) if trak else None
    return (trak, entry) if trak is not None and entry is not None else None


def _handler(trak: Box) -> bytes:
    hdlr = trak.first(b"mdia", b"hdlr")
    return hdlr.body[8:12] if hdlr is not None else b""


def _entry_fields(handler: bytes, body: bytes) -> int | None:
    """Bytes of a sample entry before its child boxes: a visual entry's (ISO 14496-12
    VisualSampleEntry and QuickTime's video description alike), or an audio entry's by its
    QuickTime version (ISO's AudioSampleEntry is version 0)."""
    if handler == b"vide":
        return _VISUAL_ENTRY_FIELDS
    if handler == b"soun" and len(body) >= 10:
        return _SOUND_ENTRY_FIELDS.get(struct.unpack(">H", body[8:10])[0])
    return None


def sample_entry(trak: Box) -> Box | None:
    """The track's first sample entry, with its child boxes parsed (a video or an audio
    track's), or None when it has none or they do not parse."""
    stsd = trak.first(b"mdia", b"minf", b"stbl", b"stsd")
    if stsd is None or not stsd.children:
        return None
    entry = stsd.children[0]
    if entry.children is None:
        fields = _entry_fields(_handler(trak), entry.body)
        if fields is None or len(entry.body) < fields:
            return None
        children = _parse_leaves(entry.body, fields, len(entry.body))
        if children is None:
            return None
        entry.body, entry.children = entry.body[:fields], children
    return entry


def _offset_tables(moov: Box) -> list[Box]:
    return [box for trak in moov.find(b"trak")
            for stbl in [trak.first(b"mdia", b"minf", b"stbl")] if stbl is not None
            for box in stbl.children or () if box.kind in (b"stco", b"co64")]


def _offsets(table: Box) -> list[int]:
    count = struct.unpack(">I", table.body[4:8])[0]
    wide = table.kind == b"co64"
    entries = table.body[8:8 + count * (8 if wide else 4)]
    return list(struct.unpack(f">{count}{'Q' if wide else 'I'}", entries))


def _set_offsets(table: Box, offsets: list[int], wide: bool) -> None:
    table.kind = b"co64" if wide else b"stco"
    table.body = (table.body[:4] + struct.pack(">I", len(offsets))
                  + struct.pack(f">{len(offsets)}{'Q' if wide else 'I'}", *offsets))


def rewrite_moov(path: str | os.PathLike[str], moov: Box, start: int, size: int) -> None:
    """Write ``moov`` (an edited :func:`read_moov` tree) back into the file at ``path`` in
    place of the index at ``start`` (``size`` bytes), moving the chunk offsets that point
    past it. The file is replaced atomically."""
    path = Path(path)
    tables = _offset_tables(moov)
    original = [_offsets(t) for t in tables]
    delta = len(moov.serialise()) - size
    if any(o >= start and o + delta > 0xFFFFFFFF for offs in original for o in offs):
        for table, offs in zip(tables, original):  # 64-bit offsets: the index grows again
            _set_offsets(table, offs, wide=True)
        delta = len(moov.serialise()) - size
    for table, offs in zip(tables, original):
        _set_offsets(table, [o + delta if o >= start else o for o in offs],
                     wide=table.kind == b"co64")
    tmp = path.with_name(f".{short_stem(path.name, 30)}.moov-{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as dst:
            copy_prefix(path, dst, start)
            dst.write(moov.serialise())
            with open(path, "rb") as src:
                src.seek(start + size)
                shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
