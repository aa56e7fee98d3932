"""Streams whose frame size changes mid-way, as an adaptive-bitrate capture's does (an HLS
stream saved to one file switches between renditions: 1280x720, then 640x360, then back).

Readers yield each frame at the size it was coded at. What needs one size scales the others
to the first frame's, as a player or FFmpeg's scaler shows them: the watermark's detector
(a pattern marked before the renditions were made lines up again once they are scaled back)
and a re-encode, which marks each frame at the size it is written at. The classifier does
not: it reads each frame at its own size (:mod:`detector.inference`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np

__all__ = ["scaled_to", "one_size"]

Item = TypeVar("Item", np.ndarray, tuple)


def scaled_to(frame: np.ndarray, height: int, width: int, planar: bool = False) -> np.ndarray:
    """``frame`` (``H×W`` grey, ``H×W×C``, or with ``planar`` a ``(H*3/2)×W`` YUV 4:2:0
    array) at ``height×width`` (area-averaged when smaller, bilinear when larger); as it is
    when it already has that size."""
    import cv2

    def resize(plane: np.ndarray, h: int, w: int) -> np.ndarray:
        shrinking = h * w < plane.shape[0] * plane.shape[1]
        return cv2.resize(plane, (w, h), interpolation=cv2.INTER_AREA if shrinking
                          else cv2.INTER_LINEAR)

    if not planar:
        return frame if frame.shape[:2] == (height, width) else resize(frame, height, width)
    h, w = frame.shape[0] * 2 // 3, frame.shape[1]
    if (h, w) == (height, width):
        return frame
    flat, area = frame.reshape(-1), h * w  # Y, then U and V at half the height and width
    planes = [flat[:area].reshape(h, w), flat[area:area * 5 // 4].reshape(h // 2, w // 2),
              flat[area * 5 // 4:].reshape(h // 2, w // 2)]
    sizes = [(height, width), (height // 2, width // 2), (height // 2, width // 2)]
    return np.concatenate([resize(p, *size).reshape(-1) for p, size in zip(planes, sizes)]
                          ).reshape(height * 3 // 2, width)


def one_size(items: Iterable[Item], planar: bool = False) -> Iterator[Item]:
    """``items`` (frames, or ``(frame, anything)`` tuples) with every frame at the first
    one's size."""
    size: tuple[int, int] | None = None
    for item in items:
        frame = item[0] if isinstance(item, tuple) else item
        shape = (frame.shape[0] * 2 // 3, frame.shape[1]) if planar else frame.shape[:2]
        size = size or shape
        if shape != size:
            frame = scaled_to(frame, *size, planar=planar)
            item = (frame, *item[1:]) if isinstance(item, tuple) else frame
        yield item
