"""Opening a media file with PyAV, with the demuxer chosen by content where FFmpeg's own
guess goes wrong.

FFmpeg tells an animated PNG (APNG) from a still one by finding its ``acTL`` chunk in the
first 2 KiB it probes. A signed APNG carries its C2PA manifest in a ``caBX`` chunk ahead of
``acTL`` (about 10 KiB), so FFmpeg took it for a still and decoded one frame. A PNG opened
here as a container is an APNG (stills are read as images), so it is opened as one.
An animated WebP, which FFmpeg cannot decode, is opened through Pillow
(:mod:`provenant.webpanim`).
"""

from __future__ import annotations

from pathlib import Path

from provenant.errors import MediaError

__all__ = ["open_container"]

_PNG = b"\x89PNG\r\n\x1a\n"


def open_container(path: Path):  # -> av.container.InputContainer (or a WebpAnimation)
    """``path`` opened for reading, or :class:`MediaError` when it cannot be."""
    import av

    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head[:4] == b"RIFF" and head[8:16] == b"WEBPVP8X":
            from provenant.webpanim import WebpAnimation

            return WebpAnimation(path)
        forced = "apng" if head[:8] == _PNG else None
        return av.open(str(path), "r", format=forced, metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise MediaError(f"{path} cannot be read: it is truncated or corrupt ({exc})") from None
