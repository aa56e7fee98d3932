"""Opening a media file with PyAV, with the demuxer chosen by content where FFmpeg's own
guess goes wrong.

FFmpeg tells an animated PNG (APNG) from a still one by finding its ``acTL`` chunk in the
first 2 KiB it probes. A signed APNG carries its C2PA manifest in a ``caBX`` chunk ahead of
``acTL`` (about 10 KiB), so FFmpeg took it for a still and decoded one frame. A PNG opened
here as a container is an APNG (stills are read as images), so it is opened as one.
An animated WebP, which FFmpeg cannot decode, and an animated AVIF, which it reads as one
still picture, are opened through Pillow (:mod:`provenant.pillowanim`).

Frames are read with decord where it reads the container well (it indexes the file and
seeks frame-accurately), with PyAV otherwise.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from provenant.errors import MediaError
from provenant.mediainfo import MediaInfo
from provenant.orientation import upright

__all__ = ["open_container", "load_decord", "decord_reader", "decord_upright", "decord_rgb"]

_PNG = b"\x89PNG\r\n\x1a\n"


def open_container(path: Path):  # -> av.container.InputContainer (or a PillowAnimation)
    """``path`` opened for reading, or :class:`MediaError` when it cannot be."""
    import av

    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
        durations = _pillow_animation(path, head)
        if durations is not None:
            from provenant.pillowanim import PillowAnimation

            return PillowAnimation(path, *durations)
        forced = "apng" if head[:8] == _PNG else None
        return av.open(str(path), "r", format=forced, metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise MediaError(f"{path} cannot be read: it is truncated or corrupt ({exc})") from None


def _pillow_animation(path: Path, head: bytes) -> tuple[str, list[int]] | None:
    """``(codec, frame durations)`` of an animation that Pillow reads and FFmpeg does not:
    an animated WebP, or an animated AVIF."""
    from provenant.heif import avif_frame_durations, heif_mime
    from provenant.imageheaders import webp_frame_durations

    if head[:4] == b"RIFF" and head[8:16] == b"WEBPVP8X":
        return "webp", webp_frame_durations(path) or []
    if heif_mime(head) == "image/avif":
        durations = avif_frame_durations(path)
        return ("avif", durations) if durations and len(durations) > 1 else None
    return None


def load_decord():  # -> the decord module
    """decord, loaded as every reader here must load it: after OpenCV (loaded after decord,
    OpenCV's PNG codec binds to the zlib decord bundles and fails on every PNG from then on:
    "bad parameters to zlib") and quiet (its bundled FFmpeg would print decoder complaints
    about damaged data to stderr; damage is reported by our own errors)."""
    importlib.import_module("cv2")
    decord = importlib.import_module("decord")
    decord.logging.set_level(decord.logging.QUIET)
    return decord


#: What decord misreads: containers without an index (MPEG transport and program
#: streams; its frame-accurate seeking failed on an H.264 transport stream past its first
#: frame) and an animated AVIF (read as one picture). PyAV (or Pillow) decodes them.
_NOT_FOR_DECORD = ("video/mp2t", "video/mpeg", "image/avif")
#: Video that an AVI may hold and decord seeks into exactly: each frame coded on its own
#: (a camcorder's DV, MJPEG). AVI stores no presentation times, and in an AVI of H.264 with
#: B-frames decord's seek sometimes gave the frame of the seek before (1 sampling of 20).
_INTRA_ONLY = ("mjpeg", "dvvideo", "rawvideo", "huffyuv", "ffvhuff", "ffv1", "utvideo",
               "magicyuv", "prores", "dnxhd", "png", "v210", "cfhd")


def decord_reader(info: MediaInfo):  # -> decord.VideoReader | None
    """decord's frame-accurate reader of ``info``'s video, or None where PyAV reads it
    (a container it misreads, or a file it cannot open)."""
    if info.mime in _NOT_FOR_DECORD or (info.mime == "video/x-msvideo"
                                        and info.codec not in _INTRA_ONLY):
        return None
    try:
        decord = load_decord()
        return decord.VideoReader(str(info.path), ctx=decord.cpu(0), num_threads=0)
    except Exception:  # decord raises its own DECORDError, or RuntimeError; fall back to PyAV
        return None


def decord_rgb(frame: np.ndarray) -> np.ndarray:
    """A frame as decord should have shaped it, ``(H, W, 3)``. decord pads the rows of some
    widths and then shapes the frame by the padded row: a 72-pixel-wide video's 216-byte
    rows are padded to 288 bytes and come out ``(H, 72, 4)`` (of the even widths up to 998,
    also 2, 4, 6, 8, 12, 16, 24 and 48).
    The first ``3·W`` bytes of each row are the picture (identical to PyAV's decode)."""
    if frame.ndim == 3 and frame.shape[2] > 3:
        h, w = frame.shape[:2]
        return np.ascontiguousarray(frame.reshape(h, -1)[:, : 3 * w].reshape(h, w, 3))
    return frame


def decord_upright(frame: np.ndarray, info: MediaInfo) -> np.ndarray:
    """decord applies the display rotation itself (checked for ±90° and 180°); should a
    build not, a frame of the coded (transposed) size is turned here. Rows decord padded
    are cut first (:func:`decord_rgb`)."""
    frame = decord_rgb(frame)
    if (info.rotation % 180 and info.width != info.height
            and frame.shape[:2] == (info.width, info.height)):
        return upright(frame, info.rotation // 90)
    return frame
