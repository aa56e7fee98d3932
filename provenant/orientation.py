"""Display orientation of video frames: the rotation flag that phones write.

A phone filming in portrait usually stores landscape frames and a display matrix (MP4/MOV
``tkhd``) that tells players to turn them. decord applies it; PyAV hands over the frames as
coded. Every reader in :mod:`provenant.media` yields frames *upright*, as a viewer sees
them, and :func:`provenant.media.probe` reports the upright size, so a frame never changes
shape between readers. Writers store frames upright with no rotation flag (as platforms do
when they transcode), so a watermarked or stamped phone video plays the right way up
everywhere. Rotations other than quarter turns, and the display matrix's mirror flags, are
not applied (players rarely honour them either).
"""

from __future__ import annotations

import numpy as np

__all__ = ["first_frame", "frame_turns", "quarter_turns", "upright", "upright_size"]


def quarter_turns(rotation: float | None) -> int:
    """A display rotation in degrees anticlockwise (PyAV's ``VideoFrame.rotation``) as
    anticlockwise quarter turns in 0-3; 0 for no flag or an angle that is not a quarter turn."""
    if not rotation:
        return 0
    rest = float(rotation) % 90.0
    if min(rest, 90.0 - rest) > 1.0:
        return 0
    return int(round(float(rotation) / 90.0)) % 4


def frame_turns(frame: object) -> int:
    """The quarter turns a decoded PyAV ``VideoFrame`` asks for (0 on a PyAV too old to say)."""
    return quarter_turns(getattr(frame, "rotation", 0))


def upright_size(width: int, height: int, turns: int) -> tuple[int, int]:
    """``(width, height)`` of a coded frame once turned ``turns`` quarter turns."""
    return (height, width) if turns % 2 else (width, height)


def upright(array: np.ndarray, turns: int, pixel_format: str = "rgb24") -> np.ndarray:
    """A decoded frame turned ``turns`` quarter turns anticlockwise (contiguous).

    ``array`` is what PyAV's ``to_ndarray`` gives for ``pixel_format``: ``H×W×3`` (rgb24),
    ``H×W`` (gray) or planar ``(H*3/2)×W`` (yuv420p, or yuv420p10le at 16 bits a sample: Y,
    then U and V at half size each way, one after the other in memory)."""
    turns %= 4
    if turns == 0:
        return array
    if pixel_format not in ("yuv420p", "yuv420p10le"):
        return np.ascontiguousarray(np.rot90(array, turns))
    rows, w = array.shape
    h = rows * 2 // 3
    flat = array.reshape(-1)
    y = flat[: h * w].reshape(h, w)
    u = flat[h * w: h * w * 5 // 4].reshape(h // 2, w // 2)
    v = flat[h * w * 5 // 4:].reshape(h // 2, w // 2)
    planes = [np.rot90(p, turns).reshape(-1) for p in (y, u, v)]
    out_w = h if turns % 2 else w
    return np.ascontiguousarray(np.concatenate(planes).reshape(-1, out_w))


def exif_upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """An image stored with EXIF ``orientation`` (1-8: upright, mirrored, turned 180°,
    flipped, transposed, turned 90° clockwise, transversed, turned 90° anticlockwise) as it
    is meant to be seen (contiguous; other values: as it is)."""
    turned = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
              5: lambda a: np.rot90(a[:, ::-1], 1), 6: lambda a: np.rot90(a, -1),
              7: lambda a: np.rot90(a[:, ::-1], -1), 8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(turned[orientation](image)) if orientation in turned else image


def first_frame(container, stream):  # av InputContainer, VideoStream -> VideoFrame | None
    """The first decodable frame, whose display rotation and colour tags ``probe`` reports
    (None when none decodes: the readers then report the damage)."""
    import av

    try:
        for frame in container.decode(stream):
            return frame
    except (av.error.FFmpegError, ValueError):
        pass
    return None
