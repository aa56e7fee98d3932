"""Real footage as *sources*: one group id per original file (or photo), for honest splits.

* ``video:<name>``: the registry's sample MP4s (``carphone_pristine`` and
  ``carphone_distorted`` are one source: the same scene), and user videos (``user:<path>``);
* ``photo:<name>``: scikit-image photos given synthetic camera motion: integer-pixel pans, and
  zooms that only ever *downscale* (INTER_AREA), so real pixels are never interpolated upwards.

``segments(source, n, frames, size, rng)`` yields ``(T, S, S, 3)`` uint8 clips cut at native
resolution (a spatial crop and a time window; never a resize of video frames).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import islice
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from provenant.demux import decord_rgb
from provenant.errors import InputError, MediaError, ProvenanceError, notice
from provenant.filelist import VIDEO_SUFFIXES
from provenant.media import iter_frames, load_decord, probe, read_image
from provenant.samples import sample_footage, sample_photos

__all__ = ["Source", "real_sources", "segments", "source_group", "VIDEO_SUFFIXES"]



@dataclass(frozen=True)
class Source:
    id: str  # the group id used for splitting
    kind: Literal["video", "photo"]
    paths: tuple[Path, ...]


def real_sources(user_dirs: Iterable[str | Path] = (), *, samples: bool = True) -> list[Source]:
    """The registry's sample footage and photos, plus every video under ``user_dirs``."""
    out: list[Source] = []
    if samples:
        videos: dict[str, list[Path]] = {}
        for name, path in sample_footage().items():
            videos.setdefault(name.split("_")[0], []).append(path)
        out += [Source(f"video:{k}", "video", tuple(v)) for k, v in sorted(videos.items())]
        out += [Source(f"photo:{_photo_group(k)}:{k}", "photo", (p,))
                for k, p in sorted(sample_photos().items())]
    for folder in user_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise InputError(f"real-footage folder {folder} does not exist or is not a folder")
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
        out += [Source(f"user:{p.relative_to(folder)}", "video", (p,)) for p in files]
    return out


def _photo_group(name: str) -> str:
    """Views of one scene share a group (``motorcycle_left``/``_right``, ``chessboard_GRAY``/``_RGB``)."""
    return re.sub(r"_(left|right|GRAY|RGB)$", "", name)


def source_group(source_id: str) -> str:
    """The split group of a source id: ``photo:motorcycle:motorcycle_left`` → ``photo:motorcycle``."""
    parts = source_id.split(":")
    return ":".join(parts[:2]) if parts[0] == "photo" else source_id


def _even(n: int) -> int:
    return n - n % 2


def _video_segments(src: Source, n: int, frames: int, size: int,
                    rng: np.random.Generator) -> Iterator[np.ndarray]:
    decord = load_decord()
    readers: dict[Path, Any] = {}  # None: read through PyAV (provenant.media)
    for path in src.paths:
        try:
            readers[path] = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)
        except Exception:  # noqa: BLE001 - decord's own errors, on a file it cannot read
            readers[path] = None
    for _ in range(n):
        if not readers:  # a user's folder can hold a damaged file: training goes on without it
            return
        path = list(readers)[rng.integers(len(readers))]
        state = rng.bit_generator.state
        try:
            if readers[path] is not None:
                try:
                    yield _video_segment(readers[path], frames, size, rng)
                    continue
                except Exception:  # noqa: BLE001 - decord cannot seek a transport stream
                    readers[path], rng.bit_generator.state = None, state
            yield _pyav_segment(path, frames, size, rng)
        except ProvenanceError as exc:  # damaged, or of a kind no reader here takes
            notice(f"{path}: skipped, its frames cannot be read ({exc.message})")
            del readers[path]


def _pyav_segment(path: Path, frames: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`_video_segment` for a file decord cannot read (MPEG transport and program
    streams, damaged files): decoded in order from the start, one frame held at a time."""
    info = probe(path)
    s = _even(min(size, info.height, info.width))
    start = int(rng.integers(0, max(info.frame_count - frames, 0) + 1))
    y = _even(int(rng.integers(0, info.height - s + 1)))
    x = _even(int(rng.integers(0, info.width - s + 1)))
    clip = [f[y:y + s, x:x + s] for f in islice(iter_frames(path), start, start + frames)]
    if not clip and start:  # the count was estimated from a duration the sound made longer
        clip = [f[y:y + s, x:x + s] for f in islice(iter_frames(path), frames)]
    if not clip:
        raise MediaError(f"{path} has no frames that decode")
    clip += [clip[-1]] * (frames - len(clip))  # the count was an estimate from the duration
    return np.ascontiguousarray(np.stack(clip))


def _video_segment(reader: Any, frames: int, size: int, rng: np.random.Generator) -> np.ndarray:
    total = len(reader)
    h, w = reader[0].shape[:2]
    s = _even(min(size, h, w))
    start = int(rng.integers(0, max(total - frames, 0) + 1))
    idx = [min(start + i, total - 1) for i in range(frames)]
    y, x = _even(int(rng.integers(0, h - s + 1))), _even(int(rng.integers(0, w - s + 1)))
    try:
        clip = reader.get_batch(idx).asnumpy()  # (T, H, W, 3)
    except Exception:  # decord's batch refuses the widths whose rows it pads (72 px)
        clip = np.stack([decord_rgb(reader[i].asnumpy()) for i in idx])
    return np.ascontiguousarray(clip[:, y:y + s, x:x + s])


def _photo_rgb(path: Path) -> np.ndarray:
    img = read_image(path)
    return img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)


def _camera_motion(img: np.ndarray, frames: int, size: int,
                   rng: np.random.Generator) -> np.ndarray:
    """A pan (integer steps) or a zoom-out/in (area downscaling only) over a still photo."""
    h, w = img.shape[:2]
    zoom = rng.random() < 0.4
    z_end = float(rng.uniform(1.1, 1.5)) if zoom else 1.0
    s = _even(min(size, int(min(h, w) / (z_end * 1.15))))
    step = rng.integers(-5, 6, size=2)
    if not step.any():
        step[0] = 1
    span_w = int(s * z_end)
    travel = np.abs(step) * (frames - 1)
    y0 = int(rng.integers(0, max(h - span_w - travel[0], 0) + 1)) + (travel[0] if step[0] < 0 else 0)
    x0 = int(rng.integers(0, max(w - span_w - travel[1], 0) + 1)) + (travel[1] if step[1] < 0 else 0)
    scales = np.linspace(1.0, z_end, frames)
    if rng.random() < 0.5:
        scales = scales[::-1]
    out = []
    for t in range(frames):
        win = int(round(s * scales[t]))
        y = int(np.clip(y0 + step[0] * t, 0, h - win))
        x = int(np.clip(x0 + step[1] * t, 0, w - win))
        crop = img[y:y + win, x:x + win]
        if win != s:
            crop = cv2.resize(crop, (s, s), interpolation=cv2.INTER_AREA)
        out.append(crop)
    return np.stack(out)  # (T, s, s, 3)


def segments(src: Source, n: int, frames: int, size: int,
             rng: np.random.Generator) -> Iterator[np.ndarray]:
    """``n`` real clips ``(T, S, S, 3)`` from one source (``S <= size``, even)."""
    if src.kind == "video":
        yield from _video_segments(src, n, frames, size, rng)
        return
    img = _photo_rgb(src.paths[0])
    for _ in range(n):
        yield _camera_motion(img, frames, size, rng)
