"""An Ultra HDR photo's gain map, carried into a rewritten (watermarked or stamped) JPEG.

Android's camera (Ultra HDR, and the ISO 21496-1 gain map it moves to) stores a photo as an
ordinary JPEG, the SDR picture every viewer shows, followed by a second, small JPEG: the
gain map, which tells an HDR screen how much brighter each area should be. A Multi-Picture
Format (MPF, CIPA DC-007) index in the first JPEG's ``APP2`` says where the second one
starts; the first's XMP (``hdrgm:Version``, a ``Container:Directory``) says what it is.

A rewritten copy kept only the SDR picture, so on an HDR screen it looked flat beside the
original. The gain map is now appended again, as it was (its pixels are a brightness ratio,
not the picture, so it carries no watermark), with a new MPF index and the primary's gain
map fields (:func:`provenant.xmpmeta.read_xmp` with ``gain_map=True``). It is carried only
JPEG to JPEG, and only when the picture was not turned by its EXIF orientation (the copy is
stored upright, and the map would no longer line up with it). Other secondary images (a
stereo camera's second view, a full-size picture) are not carried: a watermarked copy must
not hold an unmarked picture.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from provenant.imagemeta import exif_orientation, jpeg_segment, jpeg_segments
from provenant.xmpmeta import jpeg_xmp

__all__ = ["GainMap", "read_gain_map", "with_gain_map"]

_MPF = b"MPF\x00"
_ISO_GAIN_MAP = b"urn:iso:std:iso:ts:21496:-1\x00"
#: A gain map is a fraction of the picture; larger "gain maps" are not carried.
MAX_GAIN_MAP_BYTES = 32 * 1024 * 1024
#: MP Entry attributes: the primary is a baseline MP primary image; the gain map "undefined",
#: as Android writes them.
_PRIMARY_ATTRIBUTE, _GAIN_MAP_ATTRIBUTE = 0x00030000, 0x00000000


@dataclass(frozen=True)
class GainMap:
    """``image``: the gain map JPEG, byte for byte; ``iso``: the primary's ISO 21496-1
    ``APP2`` payload (its version), when it has one."""

    image: bytes
    iso: bytes | None = None


def read_gain_map(path: Path, mime: str) -> GainMap | None:
    """``path``'s gain map, when it is an upright Ultra HDR (or ISO 21496-1) JPEG; None for
    anything else, or a damaged index (never a reason to refuse the picture)."""
    if mime != "image/jpeg" or exif_orientation(path, mime) != 1:
        return None
    data = path.read_bytes()
    iso, mpf = None, None
    for marker, start, end in jpeg_segments(data):
        body = data[start + 4:end]
        if marker == 0xE2 and body.startswith(_MPF):
            mpf = (start + 4 + len(_MPF), body[len(_MPF):])
        elif marker == 0xE2 and body.startswith(_ISO_GAIN_MAP):
            iso = body
    if mpf is None:
        return None
    base, index = mpf
    for offset, size in _secondary_images(index):
        image = data[base + offset:base + offset + size]
        if (0 < size <= MAX_GAIN_MAP_BYTES and len(image) == size
                and image.startswith(b"\xff\xd8") and _describes_gain_map(image)):
            return GainMap(image, iso)
    return None


def with_gain_map(data: bytes, ext: str, gain_map: GainMap | None) -> bytes:
    """JPEG ``data`` (the whole primary, its other segments in place) with ``gain_map``
    appended and indexed; ``data`` itself for another format or no gain map."""
    if gain_map is None or ext not in (".jpg", ".jpeg"):
        return data
    at = 2  # after the last APPn segment, where Android writes the index
    for marker, _, end in jpeg_segments(data):
        if 0xE0 <= marker <= 0xEF:
            at = end
    iso = jpeg_segment(0xE2, gain_map.iso) if gain_map.iso else b""
    index_length = len(jpeg_segment(0xE2, _MPF + _mp_index(0, 0, 0)))
    primary_size = len(data) + len(iso) + index_length
    base = at + len(iso) + 4 + len(_MPF)  # where the index's offsets count from
    index = jpeg_segment(0xE2, _MPF + _mp_index(primary_size, len(gain_map.image),
                                                primary_size - base))
    return data[:at] + iso + index + data[at:] + gain_map.image


def _secondary_images(index: bytes) -> list[tuple[int, int]]:
    """``(offset, size)`` of each image after the first in an MP index (offsets from the
    index's TIFF header); empty when it is damaged."""
    if index[:4] not in (b"MM\x00*", b"II*\x00"):
        return []
    order = ">" if index[:2] == b"MM" else "<"
    try:
        (ifd,) = struct.unpack_from(order + "I", index, 4)
        (count,) = struct.unpack_from(order + "H", index, ifd)
        for i in range(min(count, 64)):
            tag, _, length, value = struct.unpack_from(order + "HHII", index, ifd + 2 + 12 * i)
            if tag == 0xB002 and length % 16 == 0:
                entries = [struct.unpack_from(order + "IIIHH", index, value + 16 * k)
                           for k in range(min(length // 16, 16))]
                return [(offset, size) for _, size, offset, _, _ in entries[1:] if offset]
    except struct.error:
        return []
    return []


def _describes_gain_map(image: bytes) -> bool:
    """Whether a secondary JPEG says it is a gain map (its XMP's ``hdrgm:`` fields, or an
    ISO 21496-1 block)."""
    if b"hdrgm:" in (jpeg_xmp(image) or b""):
        return True
    return any(marker == 0xE2 and image[start + 4:end].startswith(_ISO_GAIN_MAP)
               for marker, start, end in jpeg_segments(image))


def _mp_index(primary_size: int, gain_map_size: int, gain_map_offset: int) -> bytes:
    """A big-endian MP index of two images: version, count, and the two MP entries."""
    entries_at = 8 + 2 + 3 * 12 + 4
    ifd = struct.pack(">H", 3) + b"".join([
        struct.pack(">HHI4s", 0xB000, 7, 4, b"0100"),  # MPFVersion, UNDEFINED
        struct.pack(">HHII", 0xB001, 4, 1, 2),  # NumberOfImages, LONG
        struct.pack(">HHII", 0xB002, 7, 32, entries_at),  # MPEntry, UNDEFINED
    ]) + struct.pack(">I", 0)  # no next IFD
    entries = (struct.pack(">IIIHH", _PRIMARY_ATTRIBUTE, primary_size, 0, 0, 0)
               + struct.pack(">IIIHH", _GAIN_MAP_ATTRIBUTE, gain_map_size, gain_map_offset, 0, 0))
    return b"MM\x00*" + struct.pack(">I", 8) + ifd + entries
