"""A motion photo's video: the few seconds around the shot that Android cameras (Google's
Motion Photo format, and its older ``MicroVideo`` form) append to the JPEG as an MP4,
named by the photo's XMP (a ``Container:Directory`` item of semantic ``MotionPhoto`` and
its length, or ``GCamera:MicroVideoOffset``: the video is that many bytes at the end).

A watermarked or stamped copy dropped the video, so the copy was a still. The video is now
watermarked with the photo's payload (:func:`watermark.embed_file`, sound kept) and appended
to the JPEG copy, its XMP saying the new length (:func:`provenant.xmpmeta.read_xmp`). A
video that cannot be read is left out with a warning, never a reason to refuse the photo.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from provenant.errors import ProvenanceError, notice
from provenant.xmpmeta import source_xmp

__all__ = ["MAX_MOTION_VIDEO_BYTES", "read_motion_video", "marked_motion_video",
           "with_motion_video"]

#: Larger "motion videos" are not carried (a phone's are a few MB).
MAX_MOTION_VIDEO_BYTES = 256 * 1024 * 1024
_ITEM_LENGTH = re.compile(rb"Item:Semantic=[\"']MotionPhoto[\"'][^>]*?Item:Length=[\"'](\d+)"
                          rb"|Item:Length=[\"'](\d+)[\"'][^>]*?Item:Semantic=[\"']MotionPhoto")
_MICRO_VIDEO_OFFSET = re.compile(rb"GCamera:MicroVideoOffset=[\"'](\d+)")


def read_motion_video(path: Path, mime: str) -> bytes | None:
    """The MP4 appended to ``path``, a motion photo JPEG, as its XMP names it; None for any
    other picture, or when what the XMP names is not an MP4."""
    if mime != "image/jpeg":
        return None
    xmp = source_xmp(path, mime)
    if xmp is None or (b"MotionPhoto" not in xmp and b"MicroVideo" not in xmp):
        return None
    found = _ITEM_LENGTH.search(xmp) or _MICRO_VIDEO_OFFSET.search(xmp)
    if found is None:
        return None
    length = int(next(g for g in found.groups() if g is not None))
    size = path.stat().st_size
    if not 8 < length <= min(size - 4, MAX_MOTION_VIDEO_BYTES):
        return None
    with open(path, "rb") as fh:
        fh.seek(size - length)
        video = fh.read(length)
    return video if video[4:8] == b"ftyp" else None


def marked_motion_video(path: Path, mime: str,
                        mark: Callable[[Path, Path], object]) -> bytes | None:
    """``path``'s motion video put through ``mark(src, dst)`` (a watermark embed into an
    MP4); None when it has none, or with a :func:`~provenant.errors.notice` when it cannot
    be read."""
    video = read_motion_video(path, mime)
    if video is None:
        return None
    with tempfile.TemporaryDirectory(prefix="provenant-motion-") as tmp:
        src, dst = Path(tmp) / "motion.mp4", Path(tmp) / "marked.mp4"
        src.write_bytes(video)
        try:
            mark(src, dst)
        except ProvenanceError as exc:
            notice(f"{path}: the motion photo's video is not kept, since it cannot be "
                   f"watermarked ({exc}); the copy is a still")
            return None
        return dst.read_bytes()


def with_motion_video(data: bytes, ext: str, video: bytes | None) -> bytes:
    """JPEG ``data`` (its gain map appended, if any) with ``video`` appended last."""
    if video is None or ext not in (".jpg", ".jpeg"):
        return data
    return data + video
