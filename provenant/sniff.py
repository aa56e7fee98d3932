"""The media type of a file from its first bytes, never from its name.

Recognised and read: PNG, JPEG, WebP, HEIC and AVIF (HEIF, :mod:`provenant.heif`), MP4/MOV
(ISO BMFF), WebM/Matroska. Formats that are recognised only to be refused by name (GIF, TIFF,
JPEG XL, AVI) get an error that says what they are and what to convert them to.
"""

from __future__ import annotations

from pathlib import Path

from provenant.errors import MediaError, UnsupportedMediaError
from provenant.heif import heif_mime

__all__ = ["sniff_mime"]


def sniff_mime(path: Path) -> str:
    """The media type from the file's first bytes (never from its name)."""
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head:
        raise MediaError(f"{path} is empty (0 bytes)", hint="give a complete media file")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return heif_mime(head) or ("video/quicktime" if head[8:10] == b"qt" else "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in head else "video/x-matroska"
    for name, known in _UNSUPPORTED.items():
        if known(head):
            raise UnsupportedMediaError(f"{path} is {name}, which is not supported",
                                        hint="convert it to PNG, JPEG, WebP, HEIC or AVIF (a "
                                             "still) or to MP4 (a video)")
    raise UnsupportedMediaError(f"{path} is not a supported video or image (unrecognised content)")


#: Formats recognised by their first bytes only to be named in the refusal.
_UNSUPPORTED = {
    "a GIF image": lambda h: h.startswith((b"GIF87a", b"GIF89a")),
    "a TIFF image": lambda h: h.startswith((b"II*\x00", b"MM\x00*")),
    "a JPEG XL image": lambda h: h.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL ")),
    "an AVI video or another RIFF file": lambda h: h[:4] == b"RIFF",
}
