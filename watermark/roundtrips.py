"""Clips held in memory, and the real encoders' round trips that the attacks apply to them
(:mod:`watermark.attacks`): video codecs through PyAV (libx264, libx265, libvpx-vp9), still
codecs (JPEG, WebP, HEIC, AVIF) and animated images (GIF, WebP), all in memory."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from provenant.errors import ConfigurationError
from provenant.media_write import check_encodable

__all__ = ["Clip", "codec_roundtrip", "still_codec_roundtrip", "animated_roundtrip"]


@dataclass(frozen=True)
class Clip:
    """A short clip held in memory: ``frames`` are ``H×W×3`` uint8 RGB; ``keyframes`` are
    the indices a codec coded as intra frames (``None`` when no codec has touched it)."""

    frames: list[np.ndarray]
    fps: float
    keyframes: tuple[int, ...] | None = None

    def with_frames(self, frames: list[np.ndarray]) -> Clip:
        """The same clip (fps, key frames) with per-frame processed ``frames``."""
        return Clip(frames, self.fps, self.keyframes)

    def select(self, indices: list[int], fps: float) -> Clip:
        """A temporal re-sampling: frames ``indices`` at ``fps`` (key frames remapped)."""
        keys = None
        if self.keyframes is not None:
            ks = set(self.keyframes)
            keys = tuple(j for j, i in enumerate(indices) if i in ks)
        return Clip([self.frames[i] for i in indices], fps, keys)

    @property
    def shape(self) -> tuple[int, int]:
        return self.frames[0].shape[:2]


_CONTAINER = {"libx264": "mp4", "libx265": "mp4", "libvpx-vp9": "webm"}


def codec_roundtrip(clip: Clip, codec: str, crf: int, preset: str = "veryfast") -> Clip:
    """Encode ``clip`` with a real encoder at ``crf`` (in memory) and decode it back,
    noting which frames came out as key (intra) frames. Encoder defaults otherwise."""
    import av

    buf = io.BytesIO()
    h, w = clip.shape
    check_encodable(codec, w - w % 2, h - h % 2)
    even = [np.ascontiguousarray(f[: h - h % 2, : w - w % 2]) for f in clip.frames]
    with av.open(buf, "w", format=_CONTAINER[codec]) as out:
        stream = out.add_stream(codec, rate=Fraction(clip.fps).limit_denominator(1001))
        stream.height, stream.width = even[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        opts = {"crf": str(crf)}
        if codec in ("libx264", "libx265"):
            opts["preset"] = preset
        if codec == "libx265":
            opts["x265-params"] = "log-level=error"
        if codec == "libvpx-vp9":
            opts.update({"b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"})
        stream.options = opts
        for f in even:
            for pkt in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    buf.seek(0)
    frames, keys = [], []
    with av.open(buf, "r") as inp:
        for i, fr in enumerate(inp.decode(video=0)):
            frames.append(fr.to_ndarray(format="rgb24"))
            if fr.key_frame:
                keys.append(i)
    return Clip(frames, clip.fps, tuple(keys))


def still_codec_roundtrip(clip: Clip, fmt: str, quality: int) -> Clip:
    """Encode every frame as a ``fmt`` (``"jpeg"``, ``"webp"``, ``"heic"`` or ``"avif"``)
    still at ``quality`` (1-100, as libjpeg, libwebp, x265 and libavif read it) and decode it
    back: an image platform's (or a phone's) re-encode."""
    if fmt in ("heic", "avif"):
        from provenant.heif import encode_heif, read_heif

        return clip.with_frames([read_heif(encode_heif(f, f".{fmt}", quality, None))
                                 for f in clip.frames])
    flag = {"jpeg": cv2.IMWRITE_JPEG_QUALITY, "webp": cv2.IMWRITE_WEBP_QUALITY}[fmt]
    out = []
    for f in clip.frames:
        ok, buf = cv2.imencode(f".{fmt.replace('jpeg', 'jpg')}",
                               cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [flag, quality])
        if not ok:
            raise ConfigurationError(f"OpenCV cannot encode {fmt} here")
        out.append(cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    return clip.with_frames(out)


def animated_roundtrip(clip: Clip, fmt: str, step_ms: int, least_ms: int,
                       **options: Any) -> Clip:
    """``clip`` as an animated ``fmt`` as Pillow writes one (a meme maker's GIF: 256-colour
    palettes; a sticker's WebP), frame delays in whole ``step_ms`` (at least ``least_ms``),
    read back as RGB at the rate those delays give."""
    from PIL import Image, ImageSequence

    delay = max(least_ms, round(1000 / clip.fps / step_ms) * step_ms)
    buf, images = io.BytesIO(), [Image.fromarray(f) for f in clip.frames]
    images[0].save(buf, format=fmt, save_all=len(images) > 1, append_images=images[1:],
                   duration=delay, loop=0, **options)
    with Image.open(buf) as animation:
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(animation)]
    return Clip(frames, 1000 / delay)
