"""Public entry points: ``embed`` and ``detect`` on frames, frame streams, images or files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from provenant.errors import MediaError
from provenant.prefetch import prefetch
from watermark.config import WatermarkConfig, detection_keys, parse_payload, resolve_key
from watermark.detection import WatermarkResult
from watermark.embedding import embed_frame, embed_frames, embed_image, embed_yuv420
from watermark.lookup import Codebook
from watermark.looks import Looks
from watermark.reader import sample_luma

if TYPE_CHECKING:
    from watermark.attacks import Clip

__all__ = ["embed", "detect", "embed_file", "detect_file", "frames_to_sample", "sample_plan",
           "sampled_looks", "detect_looks", "detect_clip", "Looks", "Source", "Keys",
           "Candidates", "as_codebook"]

Source = np.ndarray | Iterable[np.ndarray] | str | os.PathLike[str]
#: The key a detection tests, or several (the current one first, then retired ones); None:
#: the environment's (:func:`watermark.config.detection_keys`).
Keys = str | bytes | Sequence[str | bytes] | None
#: Payloads for the store-aided test: a :class:`Codebook`, or 8-byte / hex / int payloads.
Candidates = Codebook | Iterable[bytes | str | int] | None

_REF_PIXELS = 1280 * 720


def frames_to_sample(height: int, width: int, config: WatermarkConfig | None = None) -> int:
    """Frames a file detection reads: ``sample_frames`` at 720p, more for smaller frames
    (same pixel budget, at most 8×), at least 16 for larger ones (they are downscaled)."""
    cfg = config or WatermarkConfig()
    n = round(cfg.sample_frames * _REF_PIXELS / max(1, height * width))
    return int(min(max(n, min(16, cfg.sample_frames)), 8 * cfg.sample_frames))


def embed(source: Source, payload: bytes | str | int, key: str | bytes | None = None,
          config: WatermarkConfig | None = None) -> np.ndarray | Iterator[np.ndarray]:
    """Watermark ``source`` with the 64-bit ``payload`` under ``key``.

    An image array (marked as a still: :meth:`WatermarkConfig.for_still`) gives an array of
    the same shape and type: ``H×W×3`` RGB, and also ``H×W`` grey or ``H×W×4`` RGBA,
    ``uint8`` or ``uint16`` (alpha and 16-bit precision kept; see
    :func:`watermark.embedding.embed_image`). A ``T×H×W×3`` array gives a ``T×H×W×3`` array;
    any other iterable of frames, or a file path, gives a lazy iterator of frames.
    """
    cfg = config or WatermarkConfig()
    if isinstance(source, np.ndarray):
        bits, kbytes = parse_payload(payload), resolve_key(key)
        if source.ndim in (2, 3):
            return embed_image(source, kbytes, bits, cfg.for_still())
        if source.ndim == 4:
            return np.stack([embed_frame(f, kbytes, bits, cfg) for f in source])
        raise MediaError(f"array of shape {source.shape} is invalid; allowed: an image (H×W, "
                         "H×W×3 or H×W×4) or T×H×W×3 frames")
    if isinstance(source, (str, os.PathLike)):
        from provenant.media import iter_frames

        parse_payload(payload), resolve_key(key)  # validate before opening the file
        return embed_frames(iter_frames(Path(source)), payload, key, cfg)
    return embed_frames(source, payload, key, cfg)


def detect(source: Source, key: Keys = None,
           config: WatermarkConfig | None = None,
           keyframes: Sequence[int] | None = None,
           candidates: Candidates = None) -> WatermarkResult:
    """Test ``source`` for a watermark under ``key`` at false-positive rate ``config.fpr``.
    Several keys (a deployment's current one first, then the ones it retired; by default
    ``$PROVENANT_WATERMARK_KEY`` and ``$PROVENANT_WATERMARK_RETIRED_KEYS``) are each tested
    at ``fpr / len(keys)``, the p-value multiplied back (a union bound), and the result
    names the key that found the mark (``key_id``, ``key_retired``).

    A file path is sampled (see :func:`detect_file`). An ``H×W``, ``H×W×3`` or ``H×W×4``
    array is a still image, as :func:`embed` takes it (:meth:`WatermarkConfig.for_still`;
    alpha is ignored, 16-bit samples are read at the 8-bit scale the embedder used, float
    samples are refused); ``T×H×W×3`` arrays and iterables are used frame
    by frame in full (constant memory); arrays and sequences also get the fine look
    where its pixel budget allows (see :class:`Looks`), iterables of unknown length do not.
    ``keyframes``: indices of the frames a codec coded
    as intra frames; they are also tested on their own (inter-coded frames can carry the
    pattern dragged along by motion compensation), at one extra Bonferroni factor.
    ``candidates``: the payloads a manifest store has issued; they are also tested on their
    own (``watermark.lookup``), which finds far weaker watermarks than a blind decode.
    """
    cfg = config or WatermarkConfig()
    keys = detection_keys(key)
    codebook = as_codebook(candidates)
    if isinstance(source, (str, os.PathLike)):
        return detect_file(source, keys, cfg, codebook)
    if isinstance(source, np.ndarray):
        if not (source.ndim == 2 or (source.ndim in (3, 4) and source.shape[-1] in (3, 4))):
            raise MediaError(f"array of shape {source.shape} is invalid; allowed: an image "
                             "(H×W, H×W×3 or H×W×4) or T×H×W×3 frames")
        if source.ndim in (2, 3):  # a still image: read with the chips it was marked with
            source, cfg = source[None], cfg.for_still()
    keyset = set(keyframes or ())
    looks = Looks(cfg, len(source) if isinstance(source, (np.ndarray, Sequence)) else None)
    for i, frame in enumerate(source):
        looks.add(_samples(np.asarray(frame)), even=True, key=i in keyset, index=i)
    return looks.analyse(keys, codebook)


def _samples(frame: np.ndarray) -> np.ndarray:
    """A caller's frame, refused unless its samples are what :func:`embed` takes and gives:
    the residual filters work at the 8-bit scale, so float frames (often 0-1) would be read
    as near black, silently."""
    if frame.dtype not in (np.uint8, np.uint16):
        raise MediaError(f"frame samples of type {frame.dtype} are invalid; allowed: uint8 "
                         "(or uint16) as embed() takes and gives them; convert float frames "
                         "in [0, 1] with (frames * 255).round().astype(np.uint8)")
    return frame


def as_codebook(candidates: Candidates) -> Codebook | None:
    """``candidates`` as a :class:`Codebook` (None stays None)."""
    if candidates is None or isinstance(candidates, Codebook):
        return candidates
    return Codebook(candidates)


def sample_plan(total: int, keyframes: Iterable[int], n: int) -> tuple[list[int], list[int]]:
    """Frame indices to read: ``n`` evenly spaced ones, and up to ``n/4`` key frames."""
    even = np.unique(np.linspace(0, total - 1, min(n, total)).round().astype(int)).tolist()
    keys = sorted({int(k) for k in keyframes if 0 <= int(k) < total})
    limit = max(1, n // 4)
    if len(keys) > limit:
        keys = [keys[i] for i in np.linspace(0, len(keys) - 1, limit).round().astype(int)]
    return even, keys


def sampled_looks(even: Sequence[np.ndarray], keyed: Iterable[np.ndarray],
                  cfg: WatermarkConfig, indices: Sequence[int] | None = None) -> Looks:
    """The :class:`Looks` of evenly sampled frames (``indices``: their frame numbers; None:
    consecutive) and key frames."""
    looks = Looks(cfg, len(even))
    for i, frame in enumerate(even):
        looks.add(frame, even=True, key=False, index=None if indices is None else indices[i])
    for frame in keyed:
        looks.add(frame, even=False, key=True)
    return looks


def detect_looks(even: Sequence[np.ndarray], keyed: Iterable[np.ndarray],
                 key: Keys, cfg: WatermarkConfig,
                 candidates: Candidates = None,
                 indices: Sequence[int] | None = None) -> WatermarkResult:
    """Decide on the :func:`sampled_looks` of evenly sampled frames and key frames."""
    return sampled_looks(even, keyed, cfg, indices).analyse(detection_keys(key),
                                                            as_codebook(candidates))


def detect_clip(clip: Clip, key: Keys = None,
                config: WatermarkConfig | None = None,
                candidates: Candidates = None) -> WatermarkResult:
    """Detect on an in-memory clip exactly as :func:`watermark.detect_file` samples a file:
    ``frames_to_sample`` evenly spaced frames plus (up to a quarter as many) key frames."""
    cfg = config or WatermarkConfig()
    h, w = clip.shape
    even, keys = sample_plan(len(clip.frames), clip.keyframes or (), frames_to_sample(h, w, cfg))
    return detect_looks([clip.frames[i] for i in even], (clip.frames[i] for i in keys), key, cfg,
                        candidates, even)


def detect_file(path: str | os.PathLike[str], key: Keys = None,
                config: WatermarkConfig | None = None,
                candidates: Candidates = None) -> WatermarkResult:
    """Detect in a video or image file: evenly sampled frames plus the key frames
    (``candidates``: see :func:`detect`)."""
    from provenant.media import probe, read_image

    cfg = config or WatermarkConfig()
    keys = detection_keys(key)
    codebook = as_codebook(candidates)
    info = probe(Path(path))
    if info.kind == "image":
        return detect(read_image(info.path), keys, cfg, candidates=codebook)
    n = frames_to_sample(info.height, info.width, cfg)
    looks = Looks(cfg, min(n, max(info.frame_count, 1)))
    # Decoding (PyAV) runs a few frames ahead of the residuals (OpenCV): both release the GIL.
    for sample in prefetch(sample_luma(info.path, info.frame_count, n, max(1, n // 4))):
        looks.add(sample.luma, even=sample.even, key=sample.key, index=sample.index)
    if looks.every.frames == 0:
        raise MediaError(f"{path} has no decodable video frames")
    return looks.analyse(keys, codebook)


def embed_file(src: str | os.PathLike[str], dst: str | os.PathLike[str],
               payload: bytes | str | int, key: str | bytes | None = None,
               config: WatermarkConfig | None = None, crf: int = 18,
               preset: str = "medium", progress: bool | None = None) -> Path:
    """Watermark a video (H.264; its sound, subtitles, closed captions, chapters, file-level
    tags and 360° projection kept; a 10-bit source as 10-bit HEVC) or an image file into
    ``dst``.

    An image is written as ``dst``'s suffix says (PNG, JPEG, WebP, HEIC or AVIF), with its
    transparency, grey and 16-bit samples kept where that format holds them (a lossless WebP
    stays lossless; an image with transparency is refused as a JPEG rather than flattened);
    a JPEG copy of an Android JPEG keeps its Ultra HDR gain map and its motion photo video,
    the video watermarked with the same ``payload``.

    An animation (GIF, PNG, WebP, AVIF) is written as an H.264 video, or as an animated
    GIF, PNG or WebP, its transparency kept, when ``dst`` is named so
    (:mod:`provenant.animwrite`).

    Videos with even sides are decoded to planar YUV 4:2:0 and marked on the Y plane, so no
    colour conversion is added to the decode + encode; others, and animations (GIF, PNG,
    WebP), go through RGB frames. A source of more than 8 bits (an HDR phone clip, as a
    rule) keeps 10 bits: written at 8, a smooth sky's gradient would show bands 4 codes
    apart. It is written as HEVC Main 10, which plays where such sources play (H.264 High
    10 does not play in browsers or on Apple devices).
    ``progress``: a progress bar on stderr (default: on a terminal, once the work has taken
    more than 2 s)."""
    from provenant.animwrite import (ANIMATION_FORMATS, check_animation_size, iter_rgba_frames,
                                     loop_count, write_animation)
    from provenant.captions import Captions
    from provenant.framesize import one_size
    from provenant.gainmap import read_gain_map
    from provenant.imageheaders import webp_is_lossless
    from provenant.imagemeta import read_exif, read_icc
    from provenant.media import (check_not_the_input, iter_timed_frames, probe,
                                 read_image_exact, write_image, write_video)
    from provenant.motionphoto import marked_motion_video
    from provenant.xmpmeta import read_iptc, read_xmp

    cfg = config or WatermarkConfig()
    bits, kbytes = parse_payload(payload), resolve_key(key)
    info = probe(Path(src))
    check_not_the_input(info.path, dst, "watermarking")
    if info.kind == "image":
        lossless = info.mime == "image/webp" and webp_is_lossless(info.path)
        marked = embed_image(read_image_exact(info.path), kbytes, bits, cfg.for_still())
        # a JPEG copy keeps what Android appends to a JPEG: an Ultra HDR gain map, and a
        # motion photo's video (watermarked too), with the fields that name them
        jpeg = Path(dst).suffix.lower() in (".jpg", ".jpeg")
        gain_map = read_gain_map(info.path, info.mime) if jpeg else None
        video = marked_motion_video(info.path, info.mime, lambda s, d: embed_file(
            s, d, payload, key, config, crf, preset, progress=False)) if jpeg else None
        return write_image(marked, dst, lossless=lossless,
                           icc_profile=read_icc(info.path, info.mime),
                           exif=read_exif(info.path, info.mime),
                           xmp=read_xmp(info.path, info.mime, gain_map=gain_map is not None,
                                        motion_video=len(video) if video else None),
                           iptc=read_iptc(info.path, info.mime), gain_map=gain_map,
                           motion_video=video)
    if info.animation and Path(dst).suffix.lower() in ANIMATION_FORMATS:  # stays an animation
        check_animation_size(info.frame_count, info.width, info.height, dst)
        frames = ((np.dstack([embed_frame(np.ascontiguousarray(f[..., :3]), kbytes, bits, cfg),
                              f[..., 3]]), t) for f, t in iter_rgba_frames(info.path))
        return write_animation(_counted(frames, info.frame_count, progress), dst,
                               info.fps or 25.0, end=info.duration or None,
                               loop=loop_count(info.path),
                               lossless=info.mime == "image/webp" and webp_is_lossless(info.path))
    captions = Captions()  # closed captions ride in the pictures: carried frame by frame
    # Each frame keeps its time, so a variable-frame-rate video stays in sync with its sound,
    # and is marked at the size it is written at: the first frame's (a stream that switches
    # renditions mid-way has the others scaled to it before they are marked).
    # An animation's frames are RGB: they go the RGB path, converted and tagged as BT.709.
    if info.width % 2 == 0 and info.height % 2 == 0 and not info.animation:
        deep = info.colour is not None and info.colour.bit_depth > 8
        planar = "yuv420p10le" if deep else "yuv420p"
        # Decode + mark in a background thread, so it overlaps with the encoder's work.
        planes = prefetch((embed_yuv420(f, kbytes, bits, cfg), t)
                          for f, t in one_size(iter_timed_frames(info.path, planar,
                                                                 captions=captions), True))
        return write_video(_counted(planes, info.frame_count, progress), dst, info.fps or 25.0,
                           crf=crf, preset=preset, codec="libx265" if deep else "libx264",
                           audio_from=info.path, pixel_format=planar, colour=info.colour,
                           metadata_from=info.path, field_order=info.field_order,
                           captions=captions, pixel_aspect=info.pixel_aspect)
    frames = ((embed_frame(f, kbytes, bits, cfg), t)
              for f, t in one_size(iter_timed_frames(info.path, captions=captions)))
    tracks = None if info.animation else info.path  # an animated image has no sound
    return write_video(_counted(frames, info.frame_count, progress), dst, info.fps or 25.0,
                       crf=crf, preset=preset, audio_from=tracks, colour=info.colour,
                       metadata_from=info.path, captions=captions,
                       pixel_aspect=info.pixel_aspect)


def _counted(frames: Iterator[np.ndarray], total: int,
             progress: bool | None) -> Iterator[np.ndarray]:
    """``frames`` behind a progress bar (``progress`` None: only on a terminal, after 2 s)."""
    from tqdm.auto import tqdm

    auto = progress is None
    return iter(tqdm(frames, total=total or None, unit="frame", desc="watermark",
                     delay=2.0 if auto else 0.0, leave=False,
                     disable=None if auto else not progress))
