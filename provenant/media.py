"""Media I/O: probe, read (decord, PyAV fallback), sample, and write (PyAV H.264, HEVC).

Frames are ``H×W×3`` ``uint8`` RGB arrays; for luma-only processing, :func:`iter_yuv420`
and ``write_video(..., pixel_format="yuv420p")`` pass planar ``(H*3/2)×W`` YUV 4:2:0 arrays
through without any colour conversion (``"yuv420p10le"``: at 10 bits, in ``uint16``).
Images (PNG/JPEG/WebP/HEIC/AVIF, and a still GIF) are 1-frame media; an animated GIF, PNG
(APNG) or WebP is a video (``provenant.demux``), as are MP4/MOV, WebM/MKV, AVI and MPEG
transport and program streams. Every reader checks the configured
:class:`MediaLimits` from headers alone, before any large allocation, and keeps counting while
it decodes in case a header lied. Writing lives in :mod:`provenant.media_write` and is
re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from provenant.captions import Captions
from provenant.colour import ColourTags, frame_colour
from provenant.demux import decord_reader, decord_upright, load_decord, open_container
from provenant.errors import (AudioOnlyError, InputError, MediaError, MediaLimitError,
                              UnsupportedMediaError)
from provenant.heif import HEIF_MIMES, read_heif
from provenant.imageheaders import animation, image_size
from provenant.mediainfo import (MediaInfo, MediaLimits, frame_field_order, pixel_aspect,
                                 plausible_fps)
from provenant.imagemeta import exif_orientation
from provenant.orientation import exif_upright, first_frame, frame_turns, upright, upright_size
from provenant.sniff import sniff_mime
from provenant.tiff import read_tiff_pillow, tiff_kind
from provenant.media_write import (IMAGE_KINDS, IMAGE_SUFFIXES, MP4_SUFFIXES, PLANAR_FORMATS,
                                   PixelFormat, check_not_the_input, check_output_path,
                                   check_output_suffix, sibling_temp, to_uint8, write_image,
                                   write_video)

__all__ = ["MediaLimits", "MediaInfo", "sniff_mime", "checked_mime", "probe", "iter_frames",
           "iter_keyed_frames", "iter_yuv420", "iter_timed_frames", "load_decord", "sample_frames",
           "read_frames", "poster_frame", "read_image", "read_image_exact", "write_video",
           "write_image", "check_output_path", "check_output_suffix", "check_not_the_input",
           "sibling_temp", "to_uint8", "IMAGE_SUFFIXES", "IMAGE_KINDS", "MP4_SUFFIXES",
           "VIDEO_MIMES",
           "IMAGE_MIMES"]

VIDEO_MIMES = ("video/mp4", "video/quicktime", "video/webm", "video/x-matroska",
               "video/x-msvideo", "video/mp2t", "video/mpeg", "application/mxf",
               "video/x-flv", "video/x-ms-asf", "image/gif")
IMAGE_MIMES = ("image/jpeg", "image/png", "image/webp", "image/tiff", *HEIF_MIMES)


def _check_file(path: Path, limits: MediaLimits) -> int:
    if not path.exists():
        raise MediaError(f"{path} does not exist", hint="check the path")
    if not path.is_file():
        raise MediaError(f"{path} is not a regular file", hint="check the path")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise MediaLimitError(f"{path} is {size} bytes, over the limit of {limits.max_file_bytes}")
    return size


def _check_dims(path: Path, width: int, height: int, limits: MediaLimits,
                still: bool = False) -> None:
    if width <= 0 or height <= 0:
        raise MediaError(f"{path} declares an invalid frame size {width}x{height}")
    most = limits.max_image_pixels if still else limits.max_pixels
    if width * height > most:
        raise MediaLimitError(f"{path} has {width}x{height} {'pixels' if still else 'frames'}, "
                              f"over the limit of {most} pixels for "
                              f"{'an image' if still else 'a video frame'}")


def checked_mime(path: str | os.PathLike[str], limits: MediaLimits | None = None) -> str:
    """The media type of ``path`` by content, after :func:`probe`'s file checks (it exists,
    is a regular file, is within the size limit), without parsing the container or the image
    header: for readers of metadata, which must still work when the pictures are damaged."""
    path, limits = Path(path), limits or MediaLimits.from_settings()
    _check_file(path, limits)
    return sniff_mime(path)


def probe(path: str | os.PathLike[str], limits: MediaLimits | None = None) -> MediaInfo:
    """Read a file's facts from its headers, refusing it if it breaks ``limits``."""
    path, limits = Path(path), limits or MediaLimits.from_settings()
    _check_file(path, limits)
    mime = sniff_mime(path)
    anim = animation(path, mime)  # an animated PNG or WebP: read as a video
    if mime in IMAGE_MIMES:
        width, height = image_size(path, mime)  # an animation's canvas: checked before decoding
        _check_dims(path, width, height, limits, still=anim is None)
        if anim is None:
            return MediaInfo(path, mime, "image", width, height, 0.0, 1, 0.0, False,
                             mime.split("/")[1])
    info = _probe_video(path, mime, limits, anim)
    if mime.startswith("image/") and info.frame_count <= 1:  # a still GIF is an image
        _check_dims(path, info.width, info.height, limits, still=True)
        return MediaInfo(path, mime, "image", info.width, info.height, 0.0, 1, 0.0, False,
                         mime.split("/")[1])
    return info


def _probe_video(path: Path, mime: str, limits: MediaLimits,
                 declared: tuple[int, float] | None = None) -> MediaInfo:
    """``declared``: ``(frames, seconds)`` from the file's own chunks, where the container
    gives none (an APNG's, an animated WebP's)."""
    with open_container(path) as container:
        if not container.streams.video and not container.streams.audio:
            # e.g. cut inside its index (moov), which comes first
            raise MediaError(f"{path} cannot be read: it is truncated or corrupt (it holds "
                             "no video or audio stream)")
        if not container.streams.video:
            raise AudioOnlyError(f"{path} is a sound recording: it has audio but no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        if ctx is None:  # no decoder for what the header names (a damaged sample entry, as a rule)
            raise MediaError(f"{path} cannot be read: its video stream names no codec this "
                             "installation can decode (the file is corrupt, or uses an unusual "
                             "codec)", hint="re-encode it to H.264 or HEVC")
        _check_dims(path, ctx.width, ctx.height, limits)
        duration = float(container.duration / 1e6) if container.duration else 0.0
        if stream.duration and stream.time_base:
            duration = max(duration, float(stream.duration * stream.time_base))
        frames = int(stream.frames)
        if declared and not frames:
            frames, duration = declared
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        fps = plausible_fps(float(rate), frames, duration)
        frames = frames or int(round(duration * fps))
        if frames <= 0:
            raise MediaError(f"{path} has a video stream with no frames: it is truncated or corrupt")
        if frames > limits.max_frames:
            raise MediaLimitError(f"{path} has {frames} frames, over the limit of {limits.max_frames}")
        if duration > limits.max_duration_s:
            raise MediaLimitError(
                f"{path} lasts {duration:.0f} s, over the limit of {limits.max_duration_s:.0f} s"
            )
        has_audio = bool(container.streams.audio)
        first = first_frame(container, stream)
        turns = frame_turns(first) if first is not None else 0
        width, height = upright_size(ctx.width, ctx.height, turns)
        colour = frame_colour(first) if first is not None else ColourTags()
        return MediaInfo(path, mime, "video", width, height, fps, frames, duration,
                         has_audio, ctx.name, turns * 90, colour, frame_field_order(first, ctx),
                         pixel_aspect(stream, turns))


def read_image(path: str | os.PathLike[str], limits: MediaLimits | None = None) -> np.ndarray:
    """An image file as one ``H×W×3`` ``uint8`` RGB frame (any transparency dropped, 16-bit
    samples reduced to 8): what analysis reads. :func:`read_image_exact` keeps everything."""
    import cv2

    info = probe(path, limits)
    if info.kind != "image":
        raise UnsupportedMediaError(f"{path} is a video, not an image")
    if info.mime in HEIF_MIMES:
        return read_heif(info.path)
    if info.mime == "image/tiff" and tiff_kind(info.path) == "alpha":
        return read_tiff_pillow(info.path, "RGB")
    bgr = _imdecode(info.path, cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_image_exact(path: str | os.PathLike[str],
                     limits: MediaLimits | None = None) -> np.ndarray:
    """An image file with the samples it stores: ``H×W`` grey, ``H×W×3`` RGB or ``H×W×4``
    RGBA, ``uint8`` or ``uint16``, turned as its EXIF orientation says (as :func:`read_image`
    reads it). What a rewrite of the image (a watermark) starts from, so that transparency,
    grey and 16-bit precision survive it."""
    import cv2

    info = probe(path, limits)
    if info.kind != "image":
        raise UnsupportedMediaError(f"{path} is a video, not an image")
    if info.mime == "image/jpeg":
        return read_image(info.path, limits)
    if info.mime in HEIF_MIMES:  # 8-bit, turned upright by the decoder
        return read_heif(info.path, keep_alpha=True)
    kind = tiff_kind(info.path) if info.mime == "image/tiff" else "exact"
    if kind == "alpha":
        return read_tiff_pillow(info.path, "RGBA")
    if kind == "converted":  # CMYK, palette...
        return read_image(info.path, limits)
    # which applies no EXIF orientation (a TIFF's own orientation, OpenCV's TIFF reader does)
    image = _imdecode(info.path, cv2.IMREAD_UNCHANGED)
    image = exif_upright(image, exif_orientation(info.path, info.mime))
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image.reshape(image.shape[:2]) if image.ndim == 3 else image


def _imdecode(path: Path, flags: int) -> np.ndarray:
    import cv2

    image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), flags)
    if image is None or image.ndim not in (2, 3) or image.size == 0:
        raise MediaError(f"{path} cannot be decoded: it is truncated or corrupt")
    return image


def _check_frame(path: Path, index: int, limits: MediaLimits) -> None:
    if index >= limits.max_frames:
        raise MediaLimitError(f"{path} decodes to more than {limits.max_frames} frames")


def iter_frames(
    path: str | os.PathLike[str], limits: MediaLimits | None = None
) -> Iterator[np.ndarray]:
    """Yield every frame in order, one at a time (constant memory)."""
    limits = limits or MediaLimits.from_settings()
    info = probe(path, limits)
    if info.kind == "image":
        yield read_image(info.path, limits)
        return
    reader = decord_reader(info)
    if reader is None:
        yield from _iter_frames_pyav(info.path, limits)
        return
    for i in range(len(reader)):
        _check_frame(info.path, i, limits)
        try:
            frame = reader[i].asnumpy()
        except Exception as exc:  # decord's DECORDError on damaged data mid-stream
            raise MediaError(f"{info.path} cannot be decoded past frame {i}: it is truncated "
                             f"or corrupt ({str(exc).splitlines()[0][:120]})") from None
        yield decord_upright(frame, info)


def _iter_frames_pyav(path: Path, limits: MediaLimits,
                      pixel_format: str = "rgb24") -> Iterator[np.ndarray]:
    """Decode every frame with PyAV as ``pixel_format`` arrays (``rgb24``: H×W×3)."""
    return (array for array, _, _ in _decode_pyav(path, limits, pixel_format))


def _decode_pyav(path: Path, limits: MediaLimits, pixel_format: str = "rgb24",
                 captions: Captions | None = None
                 ) -> Iterator[tuple[np.ndarray, bool, float | None]]:
    """Decode every frame with PyAV: ``(array, whether the codec coded it as a key frame,
    its presentation time in seconds from the stream's start, or None when it has none)``,
    recording each frame's closed captions in ``captions``."""
    import av

    with open_container(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = stream.start_time or 0
        try:
            for i, frame in enumerate(container.decode(stream)):
                _check_frame(path, i, limits)
                if captions is not None:
                    captions.record(i, frame)
                seconds = (float((frame.pts - start) * frame.time_base)
                           if frame.pts is not None and frame.time_base else None)
                yield (upright(frame.to_ndarray(format=pixel_format),
                               frame_turns(frame), pixel_format),
                       bool(frame.key_frame), seconds)
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path} cannot be decoded: it is truncated or corrupt ({exc})") from None


def iter_keyed_frames(
    path: str | os.PathLike[str], limits: MediaLimits | None = None
) -> Iterator[tuple[np.ndarray, bool]]:
    """Yield every frame of a video as ``(H×W×3 RGB, is_key_frame)``, in order (PyAV, which
    reports the codec's intra-coded frames; constant memory)."""
    limits = limits or MediaLimits.from_settings()
    info = probe(path, limits)
    if info.kind != "video":
        raise UnsupportedMediaError(f"{info.path} is an image; iter_keyed_frames reads videos "
                                    "only")
    yield from ((array, key) for array, key, _ in _decode_pyav(info.path, limits))


def iter_timed_frames(path: str | os.PathLike[str], pixel_format: PixelFormat = "rgb24",
                      limits: MediaLimits | None = None, captions: Captions | None = None
                      ) -> Iterator[tuple[np.ndarray, float | None]]:
    """Yield every frame of a video with its presentation time: ``(frame, seconds from the
    stream's start)`` (its first frame, as a rule; None where the file gives no time),
    decoded by PyAV as ``rgb24`` (H×W×3), planar ``yuv420p`` (as :func:`iter_yuv420`) or
    planar ``yuv420p10le`` (the same in ``uint16``, 0-1023: what keeps a 10-bit source's
    samples; an 8-bit source comes scaled up by 4). What a re-encode passes to
    :func:`write_video`, so that a variable-frame-rate video (a phone's, as a rule) keeps
    its timing and its sound stays in sync. ``captions``: where each frame's closed captions
    are recorded, for :func:`write_video` to put back (:mod:`provenant.captions`)."""
    limits = limits or MediaLimits.from_settings()
    info = probe(path, limits)
    if info.kind != "video":
        raise UnsupportedMediaError(f"{info.path} is an image; only videos are read frame by "
                                    "frame")
    if pixel_format not in ("rgb24", *PLANAR_FORMATS):
        raise InputError(f"pixel_format={pixel_format!r} is invalid; allowed: rgb24, "
                         f"{', '.join(PLANAR_FORMATS)}")
    if pixel_format != "rgb24" and (info.width % 2 or info.height % 2):
        raise MediaError(f"{info.path} is {info.width}x{info.height}; planar 4:2:0 frames need "
                         "even sides", hint="read it as RGB (iter_frames) instead")
    yield from ((array, t) for array, _, t
                in _decode_pyav(info.path, limits, pixel_format, captions))


def iter_yuv420(
    path: str | os.PathLike[str], limits: MediaLimits | None = None
) -> Iterator[np.ndarray]:
    """Yield every frame of a video as a planar YUV 4:2:0 ``(H*3/2, W)`` uint8 array (Y plane
    first, then U and V), decoded by PyAV without a round trip through RGB.

    Sources in another pixel format are converted to yuv420p by the decoder. Frames must
    have even sides (4:2:0 chroma): a video with an odd side is refused with a MediaError;
    use :func:`iter_frames` for it. :func:`iter_timed_frames` adds each frame's time."""
    yield from (array for array, _ in iter_timed_frames(path, "yuv420p", limits))


def sample_frames(
    path: str | os.PathLike[str], n: int, limits: MediaLimits | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``n`` frames spread evenly over the video (fewer if it is shorter), by seeking.

    Returns ``(indices, frames)``. Only the sampled frames are kept in memory.
    """
    if n < 1:
        raise InputError(f"n={n!r} is invalid; allowed: an integer >= 1")
    limits = limits or MediaLimits.from_settings()
    info = probe(path, limits)
    if info.kind == "image":
        return np.zeros(1, dtype=np.int64), [read_image(info.path, limits)]
    reader = decord_reader(info)
    total = len(reader) if reader is not None else info.frame_count
    indices = np.unique(np.linspace(0, max(total - 1, 0), num=min(n, total)).round().astype(np.int64))
    if reader is not None:
        try:
            batch = reader.get_batch(indices.tolist()).asnumpy()  # (k, H, W, 3)
            return indices, [decord_upright(f, info) for f in batch]
        except Exception:  # decord seek failures on odd files: decode sequentially instead
            pass
    wanted, frames = set(indices.tolist()), []
    for i, frame in enumerate(_iter_frames_pyav(info.path, limits)):
        if i in wanted:
            frames.append(frame)
        if i >= indices[-1]:
            break
    return indices[: len(frames)], frames


_POSTER_MAX_DECODE = 12


def poster_frame(
    path: str | os.PathLike[str], limits: MediaLimits | None = None, *, info: MediaInfo | None = None
) -> np.ndarray:
    """One representative frame (near the middle) without indexing the whole file.

    Seeks to the keyframe before the midpoint with PyAV and decodes towards the midpoint, at
    most ``_POSTER_MAX_DECODE`` frames, so the cost does not grow with the file's length or
    its keyframe interval (decord would index every frame first). Pass ``info`` from an
    earlier :func:`probe` of the same file to skip probing it again.
    """
    import av

    limits = limits or MediaLimits.from_settings()
    info = info or probe(path, limits)
    if info.kind == "image":
        return read_image(info.path, limits)
    with open_container(info.path) as container:
        stream = container.streams.video[0]
        span = stream.duration or (int(info.duration / stream.time_base) if stream.time_base
                                   else 0)  # an APNG's stream has none: its chunks' sum
        target = (stream.start_time or 0) + int(span) // 2
        try:
            if span and stream.time_base:
                container.seek(target, stream=stream, backward=True)
            frame = None
            for n, frame in enumerate(container.decode(stream)):  # keyframe → midpoint
                if frame.pts is None or frame.pts >= target or n >= _POSTER_MAX_DECODE:
                    break
            if frame is not None:
                return upright(frame.to_ndarray(format="rgb24"), frame_turns(frame))
        except av.error.FFmpegError:
            pass
    _, frames = sample_frames(info.path, 1, limits)  # seek failed: decode from the start
    if not frames:
        raise MediaError(f"{info.path} has no decodable video frames: it is truncated or corrupt")
    return frames[0]


def read_frames(path: str | os.PathLike[str], limits: MediaLimits | None = None) -> np.ndarray:
    """All frames as one ``T×H×W×3`` array. For short clips; prefer :func:`iter_frames`."""
    frames = list(iter_frames(path, limits))
    return np.stack(frames)
