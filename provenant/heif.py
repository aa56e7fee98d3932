"""HEIF photos: HEIC (what iPhones and many Android phones shoot) and AVIF.

Both are ISO BMFF files, like an MP4, told apart by the brands of their ``ftyp`` box. They
are read and written through Pillow: AVIF by Pillow itself, HEIC through the ``pillow-heif``
plugin (libheif with libde265 to decode and x265 to encode). The decoder applies the file's
own rotation and mirroring (``irot``/``imir``), so pictures come out upright, as with a
JPEG's EXIF orientation: libheif applies them to a HEIC, and Pillow reports an AVIF's as
its EXIF orientation, which is applied here (a portrait AVIF from a phone was read lying on
its side, and a watermarked copy of it was written so). Samples are 8-bit: a 10-bit HEIC
is rounded to 8 bits when read. C2PA signs and validates both (the manifest sits in a
``uuid`` box, hashed like an MP4's).
"""

from __future__ import annotations

import io
import struct
from functools import cache
from pathlib import Path

import numpy as np

from provenant.errors import MediaError
from provenant.orientation import exif_upright

__all__ = ["HEIF_MIMES", "HEIF_SUFFIXES", "heif_mime", "heif_size", "read_heif",
           "heif_icc", "heif_exif", "heif_xmp", "encode_heif"]

HEIF_MIMES = ("image/heic", "image/avif")
#: Output names: ``.heic``/``.heif`` write HEIC (HEVC), ``.avif`` writes AVIF (AV1).
HEIF_SUFFIXES = (".heic", ".heif", ".avif")
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def heif_mime(head: bytes) -> str | None:
    """``image/avif`` or ``image/heic`` when ``head`` (a file's first bytes) opens with the
    ``ftyp`` box of a HEIF image; None for anything else (an MP4 or MOV, say)."""
    if head[4:8] != b"ftyp" or head[8:12] not in _AVIF_BRANDS | _HEIC_BRANDS:
        return None
    size = int.from_bytes(head[:4], "big")
    brands = {head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)} | {head[8:12]}
    return "image/avif" if brands & _AVIF_BRANDS else "image/heic"


@cache
def _pillow():  # -> the PIL.Image module, with the HEIC opener registered
    from PIL import Image

    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # AVIF still reads; HEIC is reported when it is met
        pass
    return Image


def _open(path: Path | io.BytesIO):  # -> PIL.Image.Image, lazily decoded
    image_module = _pillow()
    try:
        return image_module.open(path)
    except (OSError, ValueError, SyntaxError, RuntimeError,  # AVIF: "Missing ... image item"
            image_module.DecompressionBombError) as exc:
        name = "the data" if isinstance(path, io.BytesIO) else str(path)
        raise MediaError(f"{name} cannot be read as a HEIF image: it is truncated, corrupt or "
                         f"uses a feature this decoder lacks ({_one_line(exc)})",
                         hint="convert it to JPEG or PNG and try again") from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


#: EXIF orientations that turn the picture a quarter turn (its width and height swap).
_QUARTER_TURNS = (5, 6, 7, 8)


def _unapplied_orientation(image) -> int:
    """The rotation and mirroring (as an EXIF orientation, 1-8) that the decoder reports
    but has not applied: an AVIF's ``irot``/``imir`` (Pillow), never a HEIC's (libheif
    applies them and reports 1)."""
    if image.format != "AVIF":
        return 1
    try:
        orientation = int(image.getexif().get(0x0112, 1))
    except (OSError, ValueError, SyntaxError, TypeError):
        return 1
    return orientation if 1 <= orientation <= 8 else 1


#: The largest ``moov`` box read for an AVIF sequence's timing (a few KB per thousand frames),
#: and the most frames its table may list (more: taken as damaged, the file as a still).
_MAX_MOOV_BYTES = 64 << 20
_MAX_SEQUENCE_FRAMES = 1_000_000


def avif_frame_durations(path: Path) -> list[int] | None:
    """An animated AVIF's (an image sequence's) frame durations in milliseconds, from its
    picture track's sample table (``moov/trak/mdia``: ``mdhd`` timescale, ``stbl/stts``
    durations), read without decoding; None for a still AVIF (no ``moov``) or a damaged
    table. FFmpeg reads such a file as its one still picture, Pillow as the sequence."""
    from provenant.boxes import iter_boxes, top_level_boxes

    moov = next((b for b in top_level_boxes(path)[0] if b.kind == b"moov"), None)
    if moov is None or moov.size > _MAX_MOOV_BYTES:
        return None
    with open(path, "rb") as fh:
        fh.seek(moov.start)
        data = fh.read(moov.size)

    def child(kind: bytes, start: int, end: int) -> tuple[int, int] | None:
        return next(((s, e) for k, s, e in iter_boxes(data, start, end) if k == kind), None)

    try:
        for kind, start, end in iter_boxes(data, moov.header, len(data)):
            mdia = child(b"mdia", start, end) if kind == b"trak" else None
            hdlr = child(b"hdlr", *mdia) if mdia else None
            if hdlr is None or data[hdlr[0] + 8:hdlr[0] + 12] != b"pict":  # not the pictures
                continue
            mdhd = child(b"mdhd", *mdia)
            stts = (child(b"stts", *stbl) if (minf := child(b"minf", *mdia))
                    and (stbl := child(b"stbl", *minf)) else None)
            if mdhd is None or stts is None:
                return None
            scale_at = mdhd[0] + (20 if data[mdhd[0]] == 1 else 12)  # version 1: 64-bit times
            timescale = struct.unpack(">I", data[scale_at:scale_at + 4])[0]
            entries = struct.unpack(">I", data[stts[0] + 4:stts[0] + 8])[0]
            durations: list[int] = []
            for i in range(min(entries, (stts[1] - stts[0] - 8) // 8)):
                count, delta = struct.unpack(">II", data[stts[0] + 8 + 8 * i:stts[0] + 16 + 8 * i])
                if len(durations) + count > _MAX_SEQUENCE_FRAMES:
                    return None
                durations += [round(1000 * delta / timescale)] * count if timescale else []
            return durations or None
    except struct.error:
        return None
    return None


def heif_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` as displayed, from the container alone (no pixels decoded)."""
    with _open(path) as image:
        width, height = image.size
        turned = _unapplied_orientation(image) in _QUARTER_TURNS
    return (height, width) if turned else (width, height)


def read_heif(path: Path | bytes, *, keep_alpha: bool = False) -> np.ndarray:
    """The picture of a file (or of its bytes) as ``H×W×3`` RGB ``uint8`` (``H×W×4`` RGBA
    when ``keep_alpha`` and it has transparency)."""
    name = "the HEIF data" if isinstance(path, bytes) else str(path)
    if isinstance(path, bytes):
        path = io.BytesIO(path)
    with _open(path) as image:
        mode = "RGBA" if keep_alpha and ("A" in image.mode or "transparency" in image.info) \
            else "RGB"
        try:
            picture = np.array(image.convert(mode))  # writable, owned
            return exif_upright(picture, _unapplied_orientation(image))
        # Pillow's AVIF decoder reports damaged data as SyntaxError ("Truncated data") or
        # RuntimeError ("Decoding of color planes failed"), and a damaged sequence header (a
        # timescale of 0) as ZeroDivisionError
        except (OSError, ValueError, SyntaxError, RuntimeError, ArithmeticError) as exc:
            raise MediaError(f"{name} cannot be decoded: it is truncated or corrupt "
                             f"({_one_line(exc)})",
                             hint="convert it to JPEG or PNG and try again") from None


def heif_icc(path: Path) -> bytes | None:
    """The ICC profile stored with the picture, or None."""
    return _stored(path, "icc_profile")


def heif_exif(path: Path) -> bytes | None:
    """The EXIF data stored with the picture, or None."""
    return _stored(path, "exif")


def heif_xmp(path: Path) -> bytes | None:
    """The XMP packet stored with the picture, or None."""
    return _stored(path, "xmp")


def _stored(path: Path, key: str) -> bytes | None:
    try:
        with _open(path) as image:
            value = image.info.get(key)
    except MediaError:
        return None
    return bytes(value) if value else None


def encode_heif(image: np.ndarray, ext: str, quality: int, icc: bytes | None,
                exif: bytes | None = None, xmp: bytes | None = None) -> bytes:
    """``image`` (``H×W``, ``H×W×3`` or ``H×W×4`` ``uint8``) encoded as HEIC (``.heic``,
    ``.heif``) or AVIF (``.avif``) at ``quality`` (1-100), with ``icc`` as its profile,
    ``exif`` (TIFF-structured) as its EXIF data and ``xmp`` as its XMP packet."""
    image_module = _pillow()
    fmt = "AVIF" if ext == ".avif" else "HEIF"
    if fmt == "HEIF" and "HEIF" not in image_module.SAVE:
        raise MediaError("writing HEIC needs the pillow-heif package",
                         hint="pip install pillow-heif, or name the output .jpg or .png")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    picture = image_module.fromarray(np.ascontiguousarray(image))  # L, RGB or RGBA by shape
    extra = {"icc_profile": icc} if icc else {}
    if exif:
        extra["exif"] = b"Exif\x00\x00" + exif
    if xmp:
        extra["xmp"] = xmp
    out = io.BytesIO()
    picture.save(out, format=fmt, quality=quality, **extra)
    return out.getvalue()
