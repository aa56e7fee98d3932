"""Embedding: add the masked keyed pattern to the luma of each frame, one frame at a time.

The change is the same on R, G and B, so it is a pure luma change: in YUV it moves Y only
(by 219/255 of the RGB amount in limited range) and leaves chroma alone. That is why a
planar YUV 4:2:0 frame can be watermarked in place on its Y plane (``embed_yuv420``) with
the same result as the RGB path, without converting colours.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from provenant.errors import MediaError
from provenant.media import to_uint8
from watermark.config import WatermarkConfig, parse_payload, resolve_key
from watermark.pattern import frame_pattern

__all__ = ["perceptual_mask", "embed_frame", "embed_frames", "embed_yuv420", "embed_image"]

_MIN_SIDE = 64
#: Limited-range (BT.601/709 "TV") luma: Y = 16 + 219/255 · gray.
_Y_OFFSET, _Y_SCALE = 16.0, 219.0 / 255.0


def perceptual_mask(frame: np.ndarray, cfg: WatermarkConfig) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB -> ``(H, W)`` float32 amplitude: local texture × mid-tones × gain.

    Computed on a ~2-4× smaller copy for speed: local standard deviation of luma over a
    window, saturating at ``cfg.mask_tau``; zero in flat areas and near black/white.
    """
    return _mask_from_luma(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), cfg)


def _mask_from_luma(luma: np.ndarray, cfg: WatermarkConfig, offset: float = 0.0,
                    scale: float = 1.0) -> np.ndarray:
    """The mask of a ``(H, W)`` luma plane (uint8 or uint16) whose value is
    ``offset + scale · gray``."""
    h, w = luma.shape
    down = max(1, min(h, w) // 240)
    small = luma if down == 1 else cv2.resize(luma, (w // down, h // down),
                                              interpolation=cv2.INTER_AREA)
    small = small.astype(np.float32)  # (h', w')
    if offset or scale != 1.0:
        small = (small - offset) * (1.0 / scale)  # back to gray levels
    ksize = (5, 5)
    mean = cv2.blur(small, ksize)
    var = cv2.blur(small * small, ksize) - mean * mean
    texture = np.sqrt(np.maximum(var, 0.0)) * (1.0 / cfg.mask_tau)
    tones = np.minimum(mean, 255.0 - mean) * (1.0 / 24.0)
    mask = np.minimum(np.minimum(texture, tones), 1.0)
    np.maximum(mask, 0.0, out=mask)
    # Gain: frame RMS of the change ~ the target PSNR's, capped at alpha (pattern is unit RMS).
    target_rms = 255.0 * 10.0 ** (-cfg.target_psnr / 20.0)
    gain = min(cfg.alpha, target_rms / (float(np.sqrt(np.mean(mask * mask))) + 1e-6))
    mask *= gain
    if down > 1:
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    return mask  # (H, W) float32, amplitude in luma levels


def embed_frame(frame: np.ndarray, key: bytes, bits: np.ndarray,
                cfg: WatermarkConfig) -> np.ndarray:
    """Watermark one ``(H, W, 3)`` uint8 RGB frame; returns a new uint8 frame."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise MediaError(f"frame of shape {frame.shape} and dtype {frame.dtype} is invalid; "
                         "allowed: H×W×3 uint8 RGB")
    h, w = frame.shape[:2]
    if min(h, w) < _MIN_SIDE:
        raise MediaError(f"frame size {w}x{h} is too small; allowed: both sides >= {_MIN_SIDE}")
    delta = _change(frame, key, bits, cfg)
    return cv2.add(frame, cv2.merge([delta, delta, delta]), dtype=cv2.CV_8U)


def _change(rgb: np.ndarray, key: bytes, bits: np.ndarray, cfg: WatermarkConfig) -> np.ndarray:
    """The luma change for an ``(H, W, 3)`` uint8 RGB frame: its mask times the keyed pattern
    (``(H, W)`` float32, in levels)."""
    h, w = rgb.shape[:2]
    delta = perceptual_mask(rgb, cfg)
    delta *= frame_pattern(key, bits, h, w, cfg)  # unit-RMS pattern
    return delta


def embed_image(image: np.ndarray, key: bytes, bits: np.ndarray,
                cfg: WatermarkConfig) -> np.ndarray:
    """Watermark one image with the samples it stores, and return the same shape and type:
    ``(H, W)`` grey, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA, ``uint8`` or ``uint16``.

    The mark is :func:`embed_frame`'s, computed on the 8-bit RGB view of the image: grey
    stays grey (the change is the same on R, G and B), the alpha channel is kept as it is,
    and 16-bit samples get the change scaled to their range (× 257) instead of being cut to
    8 bits."""
    img = np.asarray(image)
    if img.dtype not in (np.uint8, np.uint16) or not (
            img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise MediaError(f"image of shape {img.shape} and dtype {img.dtype} is invalid; "
                         "allowed: H×W, H×W×3 or H×W×4 uint8 or uint16")
    if img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3:
        return embed_frame(np.ascontiguousarray(img), key, bits, cfg)
    h, w = img.shape[:2]
    if min(h, w) < _MIN_SIDE:
        raise MediaError(f"image size {w}x{h} is too small; allowed: both sides >= {_MIN_SIDE}")
    colour = np.ascontiguousarray(img if img.ndim == 2 else img[..., :3])
    wide = img.dtype == np.uint16
    view = to_uint8(colour)
    delta = _change(cv2.merge([view, view, view]) if view.ndim == 2 else view, key, bits, cfg)
    if wide:
        delta *= 257.0
    if colour.ndim == 3:
        delta = cv2.merge([delta, delta, delta])
    marked = cv2.add(colour, delta, dtype=cv2.CV_16U if wide else cv2.CV_8U)
    if img.ndim == 3 and img.shape[2] == 4:
        return np.dstack([marked, img[..., 3]])
    return marked


def embed_yuv420(frame: np.ndarray, key: bytes, bits: np.ndarray,
                 cfg: WatermarkConfig) -> np.ndarray:
    """Watermark one planar YUV 4:2:0 ``(H*3/2, W)`` frame (limited range) in place on its
    Y plane and return it: the same change as :func:`embed_frame` on the RGB frame.

    ``uint8`` frames are 8-bit (``yuv420p``); ``uint16`` ones are 10-bit (``yuv420p10le``,
    0-1023), where the change is kept at 10-bit precision instead of being rounded to 8."""
    if frame.ndim != 2 or frame.dtype not in (np.uint8, np.uint16) or frame.shape[0] % 3:
        raise MediaError(f"frame of shape {frame.shape} and dtype {frame.dtype} is invalid; "
                         "allowed: (H*3/2)×W planar YUV 4:2:0, uint8 (8-bit) or uint16 "
                         "(10-bit)")
    h, w = frame.shape[0] * 2 // 3, frame.shape[1]
    if min(h, w) < _MIN_SIDE:
        raise MediaError(f"frame size {w}x{h} is too small; allowed: both sides >= {_MIN_SIDE}")
    y = frame[:h]
    if frame.dtype == np.uint8:
        delta = _mask_from_luma(y, cfg, _Y_OFFSET, _Y_SCALE)
        delta *= frame_pattern(key, bits, h, w, cfg)
        delta *= _Y_SCALE
        y[:] = cv2.add(y, delta, dtype=cv2.CV_8U)
        return frame
    # 10-bit: the same change, 4 times the 8-bit code values.
    delta = _mask_from_luma(y, cfg, 4.0 * _Y_OFFSET, 4.0 * _Y_SCALE)
    delta *= frame_pattern(key, bits, h, w, cfg)
    delta *= 4.0 * _Y_SCALE
    delta += y
    np.rint(delta, out=delta)
    y[:] = np.clip(delta, 0.0, 1023.0)
    return frame


def embed_frames(frames: Iterable[np.ndarray], payload: bytes | str | int,
                 key: str | bytes | None = None,
                 config: WatermarkConfig | None = None) -> Iterator[np.ndarray]:
    """Lazily watermark a stream of RGB frames (constant memory)."""
    cfg = config or WatermarkConfig()
    bits, kbytes = parse_payload(payload), resolve_key(key)
    for frame in frames:
        yield embed_frame(np.ascontiguousarray(frame), kbytes, bits, cfg)
