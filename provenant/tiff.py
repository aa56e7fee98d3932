"""TIFF images (what agencies, archives and scanners deliver) from their first directory,
read without decoding the picture: its size, turn and kind, its colour profile and XMP, and
whether it is a DNG (a camera's raw file, which is TIFF-structured but not a picture this
toolkit reads: its first directory is a small preview).

Classic TIFF (``II*\\0``/``MM\\0*``, 4-byte offsets) and BigTIFF (``II+\\0``/``MM\\0+``,
8-byte offsets) are read. A damaged directory gives a :class:`MediaError`.
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from provenant.errors import MediaError, UnsupportedMediaError
from provenant.orientation import exif_upright

TiffKind = Literal["exact", "alpha", "converted"]

__all__ = ["TIFF_MAGIC", "tiff_tags", "tiff_size", "is_dng", "tiff_bytes", "tiff_icc",
           "tiff_xmp", "tiff_kind", "read_tiff_pillow", "TiffKind"]

TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_WIDTH, _HEIGHT, _BITS, _PHOTOMETRIC, _ORIENTATION = 256, 257, 258, 262, 274
_SAMPLES, _SAMPLE_FORMAT = 277, 339
_XMP, _ICC, _DNG_VERSION = 700, 34675, 50706
#: Bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, SBYTE,
#: UNDEFINED, SSHORT, SLONG, SRATIONAL, FLOAT, DOUBLE, IFD, LONG8, SLONG8, IFD8).
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
               13: 4, 16: 8, 17: 8, 18: 8}
_MAX_ENTRIES = 4096


def tiff_tags(fh: BinaryIO) -> dict[int, tuple[int, int, int, int]]:
    """The first directory of the TIFF open as ``fh``: ``tag -> (type, count, first value,
    where the values are)``. Read by seeking, wherever the directory lies (libtiff writes
    it after the picture), so a large scan is not read whole."""
    def at(pos: int, size: int) -> bytes:
        fh.seek(pos)
        data = fh.read(size)
        if len(data) < size:
            raise MediaError("its first directory is cut short or damaged")
        return data

    head = at(0, 16) if _size(fh) >= 16 else at(0, 8)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    version = struct.unpack(order + "H", head[2:4])[0] if order else 0
    if version not in (42, 43):
        raise MediaError("it has no TIFF header")
    big = version == 43
    off, count_fmt, entry_size = ("Q", "Q", 20) if big else ("I", "H", 12)
    ifd = struct.unpack(order + off, head[8:16] if big else head[4:8])[0]
    count = struct.unpack(order + count_fmt, at(ifd, struct.calcsize(count_fmt)))[0]
    if count > _MAX_ENTRIES:
        raise MediaError(f"its first directory claims {count} entries")
    entries = at(ifd + struct.calcsize(count_fmt), entry_size * count)
    inline = 8 if big else 4
    tags = {}
    for pos in range(0, entry_size * count, entry_size):
        tag, kind = struct.unpack(order + "HH", entries[pos:pos + 4])
        n = struct.unpack(order + off, entries[pos + 4:pos + 4 + inline])[0]
        field = entries[pos + 4 + inline:pos + 4 + 2 * inline]
        where = ifd + struct.calcsize(count_fmt) + pos + 4 + inline
        size = _TYPE_SIZES.get(kind, 1) * n
        if size > inline:
            where = struct.unpack(order + off, field)[0]
            if _size(fh) >= where + 8:
                field = at(where, 8)
            else:  # values at the very end of the file
                field = at(where, size) if _size(fh) >= where + size else b""
        value = 0
        for kinds, fmt in (((3, 8), "H"), ((4, 9, 13), "I"), ((16, 17, 18), "Q")):
            if kind in kinds and len(field) >= struct.calcsize(fmt):
                value = struct.unpack(order + fmt, field[:struct.calcsize(fmt)])[0]
        tags[tag] = (kind, n, value, where)
    return tags


def _size(fh: BinaryIO) -> int:
    return fh.seek(0, io.SEEK_END)


def _tags_of(path: Path) -> dict[int, tuple[int, int, int, int]]:
    try:
        with open(path, "rb") as fh:
            return tiff_tags(fh)
    except MediaError as exc:
        raise MediaError(f"{path} cannot be read as a TIFF image: {exc.message}",
                         hint="re-export it, or convert it to PNG or JPEG") from None


def tiff_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` as displayed (a quarter-turning orientation swaps them)."""
    tags = _tags_of(path)
    width, height = tags.get(_WIDTH, (0, 0, 0, 0))[2], tags.get(_HEIGHT, (0, 0, 0, 0))[2]
    if not width or not height:
        raise MediaError(f"{path} is a TIFF image without a width and height: it is damaged")
    turned = tags.get(_ORIENTATION, (0, 0, 1, 0))[2] in (5, 6, 7, 8)
    return (height, width) if turned else (width, height)


def is_dng(path: Path) -> bool:
    """Whether a TIFF-structured file is a DNG (it names its DNG version)."""
    try:
        return _DNG_VERSION in _tags_of(path)
    except MediaError:
        return False


def tiff_bytes(data: bytes, tag: int) -> bytes | None:
    """The values of ``tag`` (a byte-typed field: the profile, the XMP) in TIFF ``data``."""
    field = tiff_tags(io.BytesIO(data)).get(tag)
    if field is None or field[0] not in (1, 2, 6, 7):
        return None
    _, count, _, where = field
    value = data[where:where + count]
    return value if len(value) == count else None


def tiff_icc(data: bytes) -> bytes | None:
    return tiff_bytes(data, _ICC)


def tiff_xmp(data: bytes) -> bytes | None:
    return tiff_bytes(data, _XMP)


def tiff_kind(path: Path) -> TiffKind:
    """How a TIFF's samples are read. ``exact``: grey or RGB, unsigned 8 or 16 bits, which
    OpenCV gives as they are stored; ``alpha``: with an alpha channel, which OpenCV gives
    premultiplied (a half-transparent red read as dark red), so Pillow reads it (at 8 bits);
    ``converted``: CMYK, palette, YCbCr..., read as 8-bit RGB. Floating-point or 32-bit
    samples (scientific imagery), which neither decoder here reads, are refused."""
    tags = _tags_of(path)
    photometric = tags.get(_PHOTOMETRIC, (0, 0, -1, 0))[2]
    bits = tags.get(_BITS, (0, 0, 1, 0))[2]
    if tags.get(_SAMPLE_FORMAT, (0, 0, 1, 0))[2] == 3 or bits > 16:  # 3: IEEE floating point
        raise UnsupportedMediaError(f"{path} is a TIFF of floating-point or 32-bit samples, "
                                    "which is not supported",
                                    hint="convert it to a 16-bit TIFF or a PNG")
    samples = tags.get(_SAMPLES, (0, 0, 1, 0))[2]
    if photometric in (1, 2) and samples > (1 if photometric == 1 else 3):
        return "alpha"
    return "exact" if photometric in (1, 2) and bits in (8, 16) else "converted"


def read_tiff_pillow(path: Path, mode: str) -> np.ndarray:
    """A TIFF decoded by Pillow as ``mode`` (``RGB`` or ``RGBA``), 8 bits a sample, turned
    as its orientation says. Pillow turns some TIFFs as it loads them and garbles others
    (an uncompressed RGBA one turned a quarter turn), so it is given a copy marked upright
    and the turn is applied here. The size was checked against the limits first."""
    from PIL import Image

    field = _tags_of(path).get(_ORIENTATION)
    data = bytearray(Path(path).read_bytes())
    orientation = field[2] if field and field[0] == 3 and 1 <= field[2] <= 8 else 1
    if orientation != 1:  # a SHORT held in the entry itself
        data[field[3]:field[3] + 2] = struct.pack("<H" if data[:2] == b"II" else ">H", 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(bytes(data))) as image:
                return exif_upright(np.array(image.convert(mode)), orientation)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise MediaError(f"{path} cannot be decoded: it is truncated or corrupt "
                         f"({' '.join(str(exc).split())})") from None
