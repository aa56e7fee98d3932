"""Writing an animation back as an animation: an animated GIF, PNG (APNG), WebP or AVIF, as
Pillow writes them, with each frame's own duration, its transparency and the source's loop
count (Pillow keeps none for an AVIF).

A meme or a sticker that is marked should stay what it was: the same kind of file, playing
in the same places (chat apps, image boards, browsers' ``<img>``), not an MP4 that needs a
video player. The GIF's palettes (256 colours per frame, Pillow's adaptive palette) and the
WebP's lossy coding are what the watermark benchmark's ``gif`` and ``webp_anim_75`` attacks
measure; an APNG is lossless, and so is a WebP whose source was; an AVIF is coded at
quality 90.

A sticker is transparent around its subject. :func:`iter_rgba_frames` reads the source's
frames through Pillow as RGBA canvases (composed as a viewer shows them), so the alpha can be
written back; the frames every other reader gives are RGB, transparency dropped.

Pillow keeps every frame of the animation while it writes one (it compares them to store
only what changes), so the frames are held in memory: :func:`check_animation_size` refuses
one larger than :data:`MAX_ANIMATION_PIXELS` before any work, with the MP4 to write instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from provenant.errors import MediaError, MediaLimitError
from provenant.media_write import check_output_path, sibling_temp
from provenant.pillowanim import PILLOW_DAMAGE
from provenant.tempnames import naming

__all__ = ["ANIMATION_FORMATS", "ANIMATION_SUFFIXES", "MAX_ANIMATION_PIXELS",
           "check_animation_size", "iter_rgba_frames", "loop_count", "write_animation"]

#: Output suffix -> Pillow's format for an animation written as an animation.
ANIMATION_FORMATS = {".gif": "GIF", ".png": "PNG", ".apng": "PNG", ".webp": "WEBP",
                     ".avif": "AVIF"}
#: The usual names of those files, which the signer and the HTTP service take (``.apng`` is
#: written, but the C2PA SDK names PNGs ``.png``).
ANIMATION_SUFFIXES = (".gif", ".png", ".webp", ".avif")
#: Pixels (frames × width × height) an animation written as one may hold: 3 bytes each in
#: memory while it is written (1.2 GB at the limit).
MAX_ANIMATION_PIXELS = 400_000_000
#: The longest frame each format stores (ms): a GIF's delay is 16 bits of 1/100 s; a WebP's
#: frame duration 24 bits of milliseconds, and libwebp's running timestamps stop short of that
#: (a 1000 s GIF frame was an OverflowError, a 20000 s WebP one a RuntimeError).
_LONGEST_MS = {"GIF": 655_350, "WEBP": 1_000_000, "PNG": 65_535_000, "AVIF": 1_000_000}
#: A transparent GIF's clear colour: the last of its 256 (the others are its picture's).
_CLEAR = 255


def check_animation_size(frames: int, width: int, height: int, path: str | os.PathLike[str]
                         ) -> None:
    """Refuse (MediaLimitError) an animation too large to be written as one."""
    if frames * width * height > MAX_ANIMATION_PIXELS:
        raise MediaLimitError(
            f"{frames} frames of {width}x{height} are too many to write as an animated "
            f"{Path(path).suffix.lstrip('.').upper()} ({frames * width * height:,} pixels; "
            f"the limit is {MAX_ANIMATION_PIXELS:,})",
            hint="write it as a video instead: name the output .mp4")


def loop_count(path: str | os.PathLike[str]) -> int:
    """How many times an animated GIF, PNG or WebP asks to be played (0: forever, the
    default when the file does not say; Pillow reads no count from an AVIF: 0)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            loop = image.info.get("loop", 0)
    except PILLOW_DAMAGE:
        return 0
    return int(loop) if isinstance(loop, int) and 0 <= loop <= 65535 else 0


def iter_rgba_frames(path: str | os.PathLike[str]) -> Iterator[tuple[np.ndarray, float]]:
    """An animated GIF's, PNG's, WebP's or AVIF's frames as ``H×W×4`` RGBA canvases, each with
    the time it starts (seconds), through Pillow; a damaged file raises MediaError."""
    from PIL import Image, ImageSequence

    start = 0.0
    try:
        with Image.open(path) as image:
            for frame in ImageSequence.Iterator(image):
                rgba = np.asarray(frame.convert("RGBA"))  # loads it: its duration is now known
                yield rgba, start
                start += float(frame.info.get("duration") or 0) / 1000
    except PILLOW_DAMAGE as exc:
        raise MediaError(f"{path} cannot be read: it is a truncated or corrupt animation "
                         f"({exc})") from None


def _paletted(rgba: np.ndarray):  # -> PIL.Image.Image
    """An RGBA frame as a GIF frame: 255 colours from its own median cut (Pillow's GIF writer
    gives an RGBA frame a fast-octree palette, which snapped the marked colours back: the mark
    was lost) and index :data:`_CLEAR` where it is transparent (alpha below half)."""
    from PIL import Image

    colours = Image.fromarray(np.ascontiguousarray(rgba[..., :3])).quantize(
        _CLEAR, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    index = np.asarray(colours).copy()
    index[rgba[..., 3] < 128] = _CLEAR
    frame = Image.fromarray(index, "P")
    palette = colours.getpalette()[: 3 * _CLEAR]
    frame.putpalette(palette + [0] * (768 - len(palette)))
    frame.info["transparency"] = _CLEAR
    return frame


def _durations(times: list[float | None], fps: float, end: float | None) -> list[int]:
    """Each frame's duration in milliseconds: to the next frame's time, the last one's to
    ``end``; one frame period where a time is missing."""
    period = 1000.0 / fps if fps > 0 else 100.0
    out = []
    for i, t in enumerate(times):
        nxt = times[i + 1] if i + 1 < len(times) else end
        out.append(round((nxt - t) * 1000) if t is not None and nxt is not None else round(period))
    return [max(0, d) for d in out]


def write_animation(frames: Iterable[tuple[np.ndarray, float | None]],
                    path: str | os.PathLike[str], fps: float, *, end: float | None = None,
                    loop: int = 0, lossless: bool = False, quality: int = 90) -> Path:
    """Write RGB (or RGBA) frames with their times in seconds (as :func:`provenant.media.
    iter_timed_frames` yields them) to ``path`` as the animation its suffix names
    (:data:`ANIMATION_FORMATS`). ``end``: when the last frame ends (the source's duration;
    None: one frame period after it starts). ``loop``: plays (0: forever). ``lossless``: a
    WebP coded losslessly (else, and an AVIF, at ``quality``); GIF and PNG take no quality.
    The file appears whole or not at all."""
    from PIL import Image

    path = check_output_path(path)
    fmt = ANIMATION_FORMATS[path.suffix.lower()]
    arrays, times, pixels = [], [], 0
    for frame, seconds in frames:
        pixels += frame.shape[0] * frame.shape[1]
        if pixels > MAX_ANIMATION_PIXELS:  # a file whose header undercounted its frames
            check_animation_size(len(arrays) + 1, frame.shape[1], frame.shape[0], path)
        arrays.append(np.ascontiguousarray(frame, dtype=np.uint8))
        times.append(seconds)
    if not arrays:
        raise MediaError("no frames to write", hint="the input yielded no frames")
    opaque = all(a.ndim == 3 and (a.shape[2] == 3 or a[..., 3].min() == 255) for a in arrays)
    if opaque:
        images = [Image.fromarray(a[..., :3]) for a in arrays]
    elif fmt == "GIF":
        images = [_paletted(a) for a in arrays]
    else:
        images = [Image.fromarray(a) for a in arrays]
    durations = [min(d, _LONGEST_MS[fmt]) for d in _durations(times, fps, end)]
    if fmt == "GIF":  # whole 1/100 s (0 stays 0: browsers play it as they played the source)
        durations = [round(d / 10) * 10 for d in durations]
    options: dict[str, object] = {"lossless": True} if fmt == "WEBP" and lossless else \
        {"quality": quality} if fmt in ("WEBP", "AVIF") else {}
    if fmt == "GIF" and not opaque:  # each frame a whole canvas: clear it before the next
        options.update(transparency=_CLEAR, disposal=2)
    tmp = sibling_temp(path, path.suffix)
    try:
        images[0].save(tmp, format=fmt, save_all=len(images) > 1, append_images=images[1:],
                       duration=durations if len(images) > 1 else durations[0], loop=loop,
                       **options)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise naming(exc, path, tmp) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
