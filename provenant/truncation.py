"""Whether a file was cut short (a broken download or upload), from the sizes its own
container declares.

Decoders read what is there, so a cut-off video decodes to its first part and a cut-off
animation to its first frames: signing such a file would vouch for a damaged copy (the
C2PA SDK validated a signed cut-off MP4 as Valid), and stamping it would sign the frames
that decode as if they were the clip. ``sign`` and ``stamp`` refuse it instead. Checked:
MP4/MOV/HEIC/AVIF (a top-level box runs past the end), WebM/Matroska (the Segment's size;
a live recording's "unknown" size is accepted), WebP and AVI (the RIFF sizes), MXF (where
its header puts the footer) and PNG/APNG (a chunk runs past the end, or the file ends
before ``IEND``). GIF and JPEG declare no size, and
their decoders refuse what they cannot read; an MPEG transport or program stream is a
stream, which may end anywhere.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from provenant.boxes import truncated_box
from provenant.errors import MediaError
from provenant.imageheaders import png_chunk_heads

__all__ = ["truncation", "refuse_truncated"]

_BMFF = ("video/mp4", "video/quicktime", "image/heic", "image/heif", "image/avif")
_MATROSKA = ("video/webm", "video/x-matroska")
_RIFF = ("image/webp", "video/x-msvideo")
#: An AVI over 1 GiB (OpenDML) continues in further ``RIFF AVIX`` chunks, of up to 1 GiB each.
_RIFF_MAX_CHUNKS = 4096


def truncation(path: str | os.PathLike[str], mime: str) -> str | None:
    """Why ``path`` (of media type ``mime``) is truncated, or None when nothing says so."""
    path = Path(path)
    total = path.stat().st_size
    if mime in _BMFF:
        cut = truncated_box(path)
        if cut is None:
            return None
        return (f"its '{cut.kind.decode('latin-1')}' box declares {cut.size:,} bytes and the "
                f"file holds {total - cut.start:,} of them")
    with open(path, "rb") as fh:
        if mime in _MATROSKA:
            return _matroska(fh.read(64), total)
        if mime in _RIFF:
            return _riff(fh, total)
        if mime == "application/mxf":
            return _mxf(fh.read(64), total)
        if mime == "image/png":
            return _png(fh, total)
    return None


def refuse_truncated(path: str | os.PathLike[str], mime: str, doing: str) -> None:
    """A :class:`MediaError` when ``path`` is truncated: ``doing`` (signing, stamping) it
    would vouch for a damaged copy."""
    why = truncation(path, mime)
    if why is not None:
        raise MediaError(f"{path} is truncated: {why}, so {doing} it would vouch for a "
                         "damaged copy", hint="use the complete file")


def _vint(data: bytes, pos: int, marker: bool) -> tuple[int, int] | None:
    """An EBML variable-size integer at ``pos``: ``(value, length)``; ``marker``: keep the
    length marker (element ids) or drop it (sizes, where all ones means "unknown": -1)."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        return None
    value = int.from_bytes(data[pos:pos + length], "big")
    if marker:
        return value, length
    value &= (1 << (7 * length)) - 1
    return (-1 if value == (1 << (7 * length)) - 1 else value), length


def _matroska(head: bytes, total: int) -> str | None:
    """The EBML header, then the Segment, whose declared size must fit in the file."""
    ident = _vint(head, 0, True)
    size = _vint(head, ident[1], False) if ident else None
    if not ident or not size or size[0] < 0:
        return None
    pos = ident[1] + size[1] + size[0]
    segment = _vint(head, pos, True)
    length = _vint(head, pos + segment[1], False) if segment else None
    if not segment or segment[0] != 0x18538067 or not length or length[0] < 0:
        return None
    end = pos + segment[1] + length[1] + length[0]
    return (f"its Segment declares {end:,} bytes and the file holds {total:,}"
            if end > total else None)


def _riff(fh: BinaryIO, total: int) -> str | None:
    """The RIFF chunk's declared size (a WebP's, an AVI's), and for a large AVI those of the
    ``RIFF AVIX`` chunks that follow it."""
    pos = 0
    for _ in range(_RIFF_MAX_CHUNKS):
        fh.seek(pos)
        head = fh.read(8)
        if len(head) < 8 or head[:4] != b"RIFF":
            return None  # the end, or data past the RIFF chunks that is not ours to judge
        end = pos + 8 + struct.unpack("<I", head[4:8])[0]
        if end > total:
            return f"its RIFF header declares {end - pos:,} bytes and the file holds " \
                   f"{total - pos:,}"
        pos = end + (end & 1)  # chunks are padded to an even size
    return None


def _mxf(head: bytes, total: int) -> str | None:
    """An MXF header partition pack names where the footer partition starts (0 while a
    recording is still open); a file that ends before it was cut."""
    if len(head) < 17 or not head[16] & 0x80:
        return None
    fields = 17 + (head[16] & 0x7F)  # after the pack's BER length
    at = fields + 24  # major and minor version, KAG size, this and the previous partition
    if len(head) < at + 8:
        return None
    footer = struct.unpack(">Q", head[at:at + 8])[0]
    return (f"its header says its footer partition starts at byte {footer:,} and the file "
            f"holds {total:,}" if footer >= total else None)


def _png(fh: BinaryIO, total: int) -> str | None:
    end = 8  # where the chunks read so far end
    for pos, size, kind in png_chunk_heads(fh):
        if pos + 12 + size > total:
            return (f"its '{kind.decode('latin-1')}' chunk declares {size:,} bytes and the "
                    f"file holds {max(total - pos - 8, 0):,} of them")
        if kind == b"IEND":
            return None
        end = pos + 12 + size
    # the walk stopped at the file's end (no whole header left), or at its chunk limit
    return "it ends before its IEND chunk" if end + 8 > total else None
