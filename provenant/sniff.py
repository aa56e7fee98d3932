"""The media type of a file from its first bytes, never from its name.

Recognised and read: PNG, JPEG, WebP, HEIC and AVIF (HEIF, :mod:`provenant.heif`), TIFF
(:mod:`provenant.tiff`), GIF (an animated GIF, PNG, WebP or AVIF is a video), MP4/MOV (ISO
BMFF), WebM/Matroska, AVI, and MPEG transport streams (broadcast captures, camcorders'
``.mts``/``.m2ts``, HLS segments) and program streams (``.mpg``, DVD ``.vob``), MXF
(broadcast and news cameras, edit systems), and the older web and Windows formats that
archives hold, Flash Video (``.flv``) and Windows Media (ASF: ``.wmv``). Formats
that are recognised only to be refused by name (DNG, JPEG XL, WAV, MP3, FLAC, PDF) get an
error that says what they are and what to convert them to; ``verify`` still reads their
content credentials (:func:`credential_only_mime`). BMP, PSD, JPEG 2000 and OpenEXR images
are named in their refusal too; the SDK reads no credentials from them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from provenant.errors import MediaError, UnsupportedMediaError
from provenant.heif import heif_mime
from provenant.tiff import TIFF_MAGIC, is_dng

__all__ = ["sniff_mime", "credential_only_mime", "CREDENTIAL_ONLY_SUFFIXES"]

#: The usual names of the files of the formats read for their content credentials alone (an
#: M4A is an MP4 that holds sound only: see ``errors.AudioOnlyError``).
CREDENTIAL_ONLY_SUFFIXES = (".dng", ".jxl", ".wav", ".mp3", ".flac", ".m4a", ".pdf")


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if not head:
        raise MediaError(f"{path} is empty (0 bytes)", hint="give a complete media file")
    return head


def sniff_mime(path: Path) -> str:
    """The media type from the file's first bytes (never from its name), for the formats
    this toolkit decodes; any other is refused with an :class:`UnsupportedMediaError` that
    names it when it is recognised."""
    head = _head(path)
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
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(TIFF_MAGIC):
        if not is_dng(path):
            return "image/tiff"
        raise UnsupportedMediaError(
            f"{path} is a DNG raw image, which is not supported",
            hint="develop it to TIFF, PNG or JPEG; `provenant verify` still reads its content "
                 "credentials")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if _transport_stream(head):
        return "video/mp2t"
    if head.startswith(b"\x00\x00\x01\xba"):  # an MPEG program stream's pack header
        return "video/mpeg"
    if head.startswith(_MXF_PARTITION):
        return "application/mxf"
    if head.startswith(b"FLV\x01"):
        return "video/x-flv"
    if head.startswith(_ASF_HEADER):
        return "video/x-ms-asf"
    for mime, (name, known) in _CREDENTIAL_ONLY.items():
        if known(head):
            visual = mime.startswith(("image/", "video/"))
            raise UnsupportedMediaError(
                f"{path} is {name}, which is not supported",
                hint=("convert it to PNG, JPEG, WebP, HEIC or AVIF (a still) or to MP4 (a "
                      "video)" if visual else "only video and images are examined")
                + "; `provenant verify` still reads its content credentials")
    for name, known in _OTHER_IMAGES.items():
        if known(head):
            raise UnsupportedMediaError(f"{path} is {name}, which is not supported",
                                        hint="convert it to PNG, JPEG, WebP, HEIC or AVIF")
    raise UnsupportedMediaError(f"{path} is not a supported video or image (unrecognised content)")


def credential_only_mime(path: Path) -> str | None:
    """The media type of a format whose content credentials the C2PA SDK reads but whose
    pictures or sound this toolkit does not examine (DNG, JPEG XL, WAV, MP3, FLAC, PDF);
    None for anything else."""
    head = _head(path)
    if head.startswith(TIFF_MAGIC) and not is_dng(path):
        return None  # a TIFF image, which is examined
    return next((mime for mime, (_, known) in _CREDENTIAL_ONLY.items() if known(head)), None)


#: The GUID of an ASF file's header object (Windows Media: ``.wmv``, ``.asf``), which opens it.
_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
#: The key of an MXF file's header partition pack (SMPTE 377M), with which it opens.
_MXF_PARTITION = bytes.fromhex("060e2b34020501010d01020101")


def _transport_stream(head: bytes) -> bool:
    """MPEG transport stream packets: 188 bytes each, or 192 (Blu-ray and AVCHD ``.m2ts``,
    a 4-byte time code ahead of each), every one starting with the sync byte 0x47."""
    return any(all(start + k * size < len(head) and head[start + k * size] == 0x47
                   for k in range(4)) for start, size in ((0, 188), (4, 192)))


def _mp3(head: bytes) -> bool:
    """An ID3 tag, or an MPEG audio frame header (sync, layer III, a valid bitrate)."""
    if head.startswith(b"ID3"):
        return True
    return (len(head) > 2 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2
            and head[2] >> 4 not in (0, 15))


def _bmp(head: bytes) -> bool:
    """A Windows bitmap: ``BM``, then (after the file header) a DIB header of a known size."""
    return (head[:2] == b"BM" and len(head) >= 18
            and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64, 108, 124))


#: Still-image formats recognised by their first bytes only to be named in the refusal
#: (no content credentials either: the C2PA SDK lists none of them among the types it reads).
_OTHER_IMAGES: dict[str, Callable[[bytes], bool]] = {
    "a BMP image": _bmp,
    "a Photoshop (PSD) document": lambda h: h.startswith(b"8BPS"),
    "a JPEG 2000 image": lambda h: h.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n",
                                                 b"\xff\x4f\xff\x51")),
    "an OpenEXR image": lambda h: h.startswith(b"\x76\x2f\x31\x01"),
}


#: Formats recognised by their first bytes: named in the refusal, and read for their
#: content credentials alone (``verify``). DNG is TIFF-structured and read as TIFF.
_CREDENTIAL_ONLY: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "image/tiff": ("a DNG raw image", lambda h: h.startswith(TIFF_MAGIC)),  # read as a TIFF
    "image/jxl": ("a JPEG XL image",
                  lambda h: h.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL "))),
    "audio/wav": ("a WAV audio file", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE"),
    "audio/mpeg": ("an MP3 audio file", _mp3),
    "audio/flac": ("a FLAC audio file", lambda h: h.startswith(b"fLaC")),
    "application/pdf": ("a PDF document", lambda h: h.startswith(b"%PDF-")),
}
