"""Media output: encode frames to video (PyAV: H.264, H.265, VP9; 8 or 10 bits) or write
one image (PNG, JPEG, WebP, HEIC or AVIF).

Part of :mod:`provenant.media`, which re-exports everything public here. Outputs appear
atomically: a file is written beside its destination and renamed when complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from itertools import chain, islice
from pathlib import Path
from typing import Literal

import numpy as np

from provenant.captions import Captions
from provenant.colour import ColourTags, output_tags, rgb_to_yuv420, tag, x265_hdr_params
from provenant.dolbyvision import check_dolby_vision
from provenant.errors import InputError, MediaError, UnsupportedMediaError, notice
from provenant.filelevel import carry_file_level
from provenant.frameclock import FrameClock
from provenant.gainmap import GainMap, with_gain_map
from provenant.heif import HEIF_SUFFIXES, encode_heif
from provenant.imagemeta import icc_fits, with_exif, with_icc
from provenant.mediainfo import FieldOrder
from provenant.motionphoto import with_motion_video
from provenant.spherical import carry_projection
from provenant.tempnames import naming, sibling_temp
from provenant.trackcopy import TrackCopy
from provenant.xmpmeta import with_iptc, with_xmp

__all__ = ["write_video", "write_image", "check_output_path", "check_output_suffix",
           "check_encodable", "HEVC_MIN_SIDE",
           "sibling_temp", "to_uint8", "IMAGE_SUFFIXES", "IMAGE_KINDS", "MP4_SUFFIXES",
           "PLANAR_FORMATS", "PixelFormat"]

#: What :func:`write_video` takes: RGB frames, or planar YUV 4:2:0 at 8 bits (``uint8``) or
#: at 10 bits (``uint16`` samples of 0-1023, as PyAV's ``yuv420p10le`` arrays hold them).
PixelFormat = Literal["rgb24", "yuv420p", "yuv420p10le"]
PLANAR_FORMATS = ("yuv420p", "yuv420p10le")
#: The smallest side given to libx265. HEVC codes the picture in blocks of up to 64 pixels,
#: and the build PyAV bundles corrupts its own memory on pictures 36-48 pixels wide (glibc
#: then aborts the process at a later allocation); Provenant's pipeline reads nothing
#: smaller than 64 pixels anyway.
HEVC_MIN_SIDE = 64

#: Names an image output may have; :func:`write_image` picks the format by the suffix.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", *HEIF_SUFFIXES)
#: What an image output is, for messages ("the output is ...").
IMAGE_KINDS = "an image (PNG, JPEG, WebP, HEIC or AVIF), since the input is an image"
#: Names of ISO BMFF (MP4/MOV) outputs, the video containers C2PA signing supports here.
MP4_SUFFIXES = (".mp4", ".mov", ".m4v")


def _even(frame: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: pad one edge row/column by replication when odd."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return frame


def check_output_path(path: str | os.PathLike[str]) -> Path:
    """Refuse an output path whose folder is missing, or that names a folder."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"output {path} is a folder", hint="give a file name, e.g. out.mp4")
    if not path.parent.is_dir():
        raise InputError(f"output folder {path.parent} does not exist", hint="create it first")
    return path


def to_uint8(samples: np.ndarray) -> np.ndarray:
    """16-bit samples rounded to 8 bits (x / 257, to nearest); 8-bit samples as they are."""
    if samples.dtype == np.uint8:
        return samples
    return ((samples.astype(np.uint32) + 128) // 257).astype(np.uint8)


def check_not_the_input(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                        doing: str) -> None:
    """Refuse (InputError) an output that is the input file itself (by path, link or hard
    link): ``doing`` (e.g. "watermarking") re-encodes it, and the original would be lost."""
    same = Path(dst).resolve() == Path(src).resolve() or (
        Path(dst).exists() and Path(src).exists() and os.path.samefile(src, dst))
    if same:
        raise InputError(f"output {dst} is the input file: {doing} re-encodes it, and the "
                         "original would be lost", hint="give a different output path")


def check_output_suffix(path: str | os.PathLike[str], allowed: tuple[str, ...],
                        what: str) -> Path:
    """Refuse an output name whose suffix does not say what the file will hold.

    ``what`` completes "the output is ...", e.g. ``"a PNG, JPEG or WebP image"``."""
    path = check_output_path(path)
    if path.suffix.lower() not in allowed:
        given = f"the suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise InputError(f"output {path} has {given}, but the output is {what}",
                         hint=f"name it with one of {', '.join(allowed)}")
    return path


def write_video(
    frames: Iterable[np.ndarray | tuple[np.ndarray, float | None]],
    path: str | os.PathLike[str],
    fps: float,
    *,
    crf: int = 18,
    preset: str = "medium",
    codec: str = "libx264",
    audio_from: str | os.PathLike[str] | None = None,
    pixel_format: PixelFormat = "rgb24",
    colour: ColourTags | None = None,
    metadata_from: str | os.PathLike[str] | None = None,
    field_order: FieldOrder = "progressive",
    captions: Captions | None = None,
    pixel_aspect: Fraction | None = None,
) -> Path:
    """Encode frames to ``path`` (4:2:0), copying ``audio_from``'s audio and subtitle tracks
    (:mod:`provenant.trackcopy`), and ``metadata_from``'s file-level tags (creation time,
    title, location: what the output format holds, as ffmpeg keeps them; not the encoder's
    and brand fields), start timecode and chapters (:mod:`provenant.filelevel`), and a 360°
    video's projection (:mod:`provenant.spherical`). A Dolby Vision source is written as its
    base layer, with a notice, or refused where that has no colours of its own
    (:mod:`provenant.dolbyvision`).

    ``frames`` are ``H×W×3`` RGB arrays, or with ``pixel_format="yuv420p"`` planar
    ``(H*3/2)×W`` arrays as :func:`iter_yuv420` yields them (encoded without conversion);
    ``"yuv420p10le"``: the same at 10 bits (``uint16``), which the stream keeps (H.264
    High 10, or HEVC Main 10 with ``codec="libx265"``, tagged ``hvc1`` in MP4/MOV as Apple
    players require).
    A frame may come as ``(frame, seconds)``, its presentation time (as
    :func:`iter_timed_frames` yields them), so that a variable-frame-rate source keeps its
    timing and its copied sound stays in sync; frames without one follow the previous one
    by ``1/fps``.

    ``field_order``: the source's scan (``MediaInfo.field_order``). Interlaced frames
    (``"tff"``, ``"bff"``) are coded as interlaced H.264 with that field order, so players
    and broadcast playout deinterlace them as they did the source; written as progressive,
    a moving picture showed the comb of its two fields. (HEVC is written progressive.)

    ``pixel_aspect``: the source's pixel shape (``MediaInfo.pixel_aspect``), written into
    the stream, so an anamorphic picture (16:9 PAL stored 720x576, HDV 1440x1080) is shown
    stretched as its source was; without it, it played squeezed.

    ``captions``: the source's closed captions, recorded as its frames were read
    (:func:`iter_timed_frames`), put back into the same frames of the new stream
    (:mod:`provenant.captions`; H.264 and HEVC).

    ``colour``: the source's colour tags (``MediaInfo.colour``). YUV frames keep them as
    they are (a full-range or HDR source still plays as it did); RGB frames are converted
    with its matrix (BT.709 when none is given) at limited range and tagged so
    (:mod:`provenant.colour`).

    The file appears atomically: it is written beside ``path`` and renamed when complete,
    so a failure never leaves a half-written output or clobbers an existing file.
    """
    import av

    path = check_output_path(path)
    if not 0 <= crf <= 63:
        raise InputError(f"crf={crf!r} is invalid; allowed: 0 to 63 (lower is better quality)")
    if pixel_format not in ("rgb24", *PLANAR_FORMATS):
        raise InputError(f"pixel_format={pixel_format!r} is invalid; allowed: rgb24, "
                         f"{', '.join(PLANAR_FORMATS)}")
    if metadata_from is not None:
        check_dolby_vision(metadata_from)  # before decoding: a copy in wrong colours is refused
    if colour is not None and colour.dynamic_metadata:
        notice(f"{metadata_from or 'the source'}: its {colour.dynamic_metadata} metadata "
               "(tone mapping scene by scene) is not carried: the copy keeps the static "
               "HDR10 metadata, which a display tone-maps the whole video by")
    tmp = sibling_temp(path, path.suffix or ".mp4")
    try:
        # MP4/MOV: the index (moov) goes first, so a player can start before the file has
        # fully arrived (a second pass when the file is closed).
        bmff = Path(tmp).suffix.lower() in MP4_SUFFIXES
        with av.open(tmp, "w", options={"movflags": "+faststart"} if bmff else None) as out:
            if metadata_from is not None:
                carry_file_level(metadata_from, out)
            _encode(out, frames, fps, crf, preset, codec, audio_from, pixel_format,
                    output_tags(colour, pixel_format), field_order, captions, pixel_aspect)
        if metadata_from is not None:
            carry_projection(metadata_from, tmp, shown_as=path)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise naming(exc, path, tmp) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def check_encodable(codec: str, width: int, height: int) -> None:
    """Refuse a picture size that ``codec``'s encoder cannot take safely (MediaError)."""
    if codec == "libx265" and min(width, height) < HEVC_MIN_SIDE:
        raise MediaError(f"a {width}x{height} picture is too small for HEVC (libx265); "
                         f"allowed: both sides >= {HEVC_MIN_SIDE}",
                         hint="write it as H.264 (libx264), or scale it up first")


def _video_frame(frame: np.ndarray, pixel_format: str,
                 colour: ColourTags):  # -> av.VideoFrame, 4:2:0
    import av

    if pixel_format in PLANAR_FORMATS:
        dtype = np.uint8 if pixel_format == "yuv420p" else np.uint16
        if frame.dtype != dtype:
            raise MediaError(f"a {pixel_format} frame of dtype {frame.dtype} is invalid; "
                             f"allowed: {np.dtype(dtype).name}")
        frame = np.ascontiguousarray(frame)
        if frame.ndim != 2 or frame.shape[0] % 3 or frame.shape[1] % 2:
            raise MediaError(f"a {pixel_format} frame of shape {frame.shape} is invalid; "
                             "allowed: (H*3/2, W) with even H and W")
        out = av.VideoFrame.from_ndarray(frame, format=pixel_format)
        tag(out, colour)
        return out
    rgb = av.VideoFrame.from_ndarray(_even(np.ascontiguousarray(frame, dtype=np.uint8)),
                                     format="rgb24")
    return rgb_to_yuv420(rgb, colour)


def _encode(out, frames, fps, crf, preset, codec, audio_from, pixel_format,
            colour: ColourTags, field_order: FieldOrder = "progressive",
            captions: Captions | None = None, pixel_aspect: Fraction | None = None) -> None:
    rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise InputError(f"fps={fps!r} is invalid; allowed: a positive frame rate")
    clock = FrameClock(rate)
    frames = iter(frames)
    head = list(islice(frames, 3))
    frames, short = chain(head, frames), len(head) < 3
    stream = None
    audio: TrackCopy | None = None

    def mux(packets) -> None:
        for packet in packets:
            out.mux(packet if captions is None else captions.attach(packet, codec))

    try:
        for index, item in enumerate(frames):
            array, seconds = item if isinstance(item, tuple) else (item, None)
            frame = _video_frame(array, pixel_format, colour)
            frame.pts, frame.time_base = clock.pts(seconds), clock.time_base
            if captions is not None:
                captions.timed(index, frame.pts)
            if stream is None:
                check_encodable(codec, frame.width, frame.height)
                stream = out.add_stream(codec, rate=rate)
                stream.height, stream.width = frame.height, frame.width
                stream.pix_fmt = frame.format.name
                stream.codec_context.time_base = clock.time_base
                if pixel_aspect is not None:
                    stream.codec_context.sample_aspect_ratio = pixel_aspect
                tag(stream.codec_context, colour)
                _set_options(stream, codec, crf, preset, out, short, colour, field_order)
                if audio_from is not None:  # after the video, so the video is track 1
                    audio = TrackCopy(out, audio_from)
            mux(stream.encode(frame))
            if audio is not None:
                audio.copy_until(float(frame.pts * clock.time_base))
        if stream is None:
            raise MediaError("no frames to write", hint="the input yielded no frames")
        mux(stream.encode())
        if audio is not None:
            audio.copy_until(None)
    finally:
        if audio is not None:
            audio.close()


def _set_options(stream, codec: str, crf: int, preset: str, out, short: bool,
                 colour: ColourTags, field_order: FieldOrder = "progressive") -> None:
    opts = {"crf": str(crf)}
    if codec in ("libx264", "libx265"):
        opts["preset"] = preset
    if codec == "libx264" and field_order != "progressive":
        # interlaced (field-adaptive: x264's MBAFF), with the source's field order
        from av.codec.context import Flags

        stream.codec_context.flags |= Flags.interlaced_dct | Flags.interlaced_me
        opts["x264-params"] = f"{field_order}=1"
    if codec == "libx265":
        # x265's B-frames on a clip of 1-2 frames leave timestamps the MP4 muxer refuses
        # ("not yet implemented"), in some runs and not others. HDR10 sources keep their
        # mastering display and light levels.
        params = ["log-level=error", *(["bframes=0"] if short else []),
                  *x265_hdr_params(colour)]
        opts["x265-params"] = ":".join(params)
        if Path(str(out.name)).suffix.lower() in MP4_SUFFIXES:
            # FFmpeg's default 'hev1' sample entry is one QuickTime and iOS refuse to play.
            stream.codec_context.codec_tag = "hvc1"
    stream.options = opts


def write_image(image: np.ndarray, path: str | os.PathLike[str], *, quality: int = 95,
                lossless: bool = False, icc_profile: bytes | None = None,
                exif: bytes | None = None, xmp: bytes | None = None,
                iptc: bytes | None = None, gain_map: GainMap | None = None,
                motion_video: bytes | None = None) -> Path:
    """Write one image as PNG, JPEG, WebP, HEIC (``.heic``, ``.heif``) or AVIF, by ``path``'s
    suffix (no suffix: PNG).

    ``image``: ``H×W`` grey, ``H×W×3`` RGB or ``H×W×4`` RGBA, ``uint8`` or ``uint16``. PNG
    keeps all of it; the others hold 8 bits (16-bit samples are rounded to 8), and JPEG
    refuses transparency rather than drop it. ``quality`` (1-100) sets the lossy formats;
    ``lossless`` makes a WebP lossless; ``icc_profile`` (the source's colour profile) and
    ``exif`` (its EXIF data, orientation upright), see :mod:`provenant.imagemeta`, and
    ``xmp`` (its XMP packet) and ``iptc`` (a JPEG's IPTC block, JPEG only), see
    :mod:`provenant.xmpmeta`, are stored with the picture, and a JPEG gets ``gain_map``
    (an Ultra HDR source's, :mod:`provenant.gainmap`) and ``motion_video`` (a motion
    photo's MP4, :mod:`provenant.motionphoto`) appended. The file appears atomically."""
    import cv2

    path = check_output_path(path)
    ext = path.suffix.lower() or ".png"
    if ext not in IMAGE_SUFFIXES:
        raise UnsupportedMediaError(f"cannot write an image with suffix {ext!r}",
                                    hint="name the output .png, .jpg, .webp, .heic or .avif")
    image = np.asarray(image)
    channels = 1 if image.ndim == 2 else (image.shape[2] if image.ndim == 3 else 0)
    if channels not in (1, 3, 4) or image.dtype not in (np.uint8, np.uint16) or image.size == 0:
        raise InputError(f"cannot write an image of shape {image.shape} and type {image.dtype}",
                         hint="give H×W, H×W×3 (RGB) or H×W×4 (RGBA) uint8 or uint16 samples")
    if not icc_fits(icc_profile, channels):  # a CMYK print JPEG's profile on RGB samples
        icc_profile = None
    if channels == 4 and ext in (".jpg", ".jpeg"):
        raise InputError("the image has transparency, which a JPEG cannot hold",
                         hint="name the output .png or .webp to keep it")
    if ext != ".png":
        image = to_uint8(image)
    if ext in HEIF_SUFFIXES:
        return _write_bytes(path, ext, encode_heif(image, ext, quality, icc_profile, exif, xmp))
    if channels > 1:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR if channels == 3 else cv2.COLOR_RGBA2BGRA)
    if ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101 if lossless else quality]
    else:
        params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(image), params)
    if not ok:
        raise UnsupportedMediaError(f"the image could not be encoded as {ext}")
    # each goes in ahead of the last (after a JPEG's APP0): EXIF, XMP, ICC, IPTC in the end
    encoded = with_icc(with_iptc(buf.tobytes(), ext, iptc), ext, icc_profile)
    encoded = with_exif(with_xmp(encoded, ext, xmp), ext, exif)
    encoded = with_gain_map(encoded, ext, gain_map)
    return _write_bytes(path, ext, with_motion_video(encoded, ext, motion_video))


def _write_bytes(path: Path, ext: str, data: bytes) -> Path:
    """``data`` to ``path``, atomically (written beside it, then renamed)."""
    tmp = sibling_temp(path, ext)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise naming(exc, path, tmp) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
