"""Scoring a media file: windows of consecutive frames, cut into tubes at native resolution.

Aggregation rule (documented contract): ``frames_per_clip`` windows of ``window_frames``
consecutive frames are spread evenly over the video. Each window is cut into a grid of
non-overlapping ``tube_size`` tubes (at even offsets, at most ``patches_per_frame``, spread
evenly), which is what a training clip looks like; its logit is the model's clip logit for
those tubes (network and clip statistics fused, see :mod:`detector.classifier`). The video's
logit is the mean of its window logits, and both go through the model's calibrator:
``frame_scores`` holds one score per window (indexed by the window's first frame).

Only the tubes are kept while decoding, so memory does not grow with the frame size. A
stream whose frame size changes mid-way (an adaptive-bitrate capture switching renditions)
has each frame cut at its own size, never resized, and is scored on the windows of the size
most of its windows have (ties: the larger); a window across a switch is left out.
Videos shorter than a window use all their frames (at least 3); images are scored as one
frame repeated three times (temporal channels and parity cues are zero).
Face mode (``face_mode="on"``) takes tubes only inside faces found by OpenCV's Haar
cascade on the middle frame, and falls back to the whole frame when none is found.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from provenant.errors import CapabilityUnavailableError, MediaError
from provenant.media import iter_frames, probe
from provenant.report import ClassifierEvidence

from detector.classifier import VideoDetector
from detector.config import DetectorConfig

__all__ = ["MediaTooSmallError", "DEFAULT_WEIGHTS", "load_detector", "extract_patches",
           "score_file", "detect_file", "face_boxes"]

DEFAULT_WEIGHTS = Path(__file__).parent / "weights"


class MediaTooSmallError(MediaError):
    """Frames smaller than the detector's patch: there is nothing to score at native size."""


@lru_cache(maxsize=4)
def _load_cached(folder: str, mtime: float) -> VideoDetector:
    return VideoDetector.from_pretrained(folder)


def load_detector(folder: str | os.PathLike[str] | None = None) -> VideoDetector:
    """The detector saved in ``folder`` (default: the shipped weights), cached per folder."""
    folder = Path(folder) if folder is not None else DEFAULT_WEIGHTS
    cal = folder / "calibration.json"
    return _load_cached(str(folder), cal.stat().st_mtime if cal.exists() else 0.0)


def _window_starts(total: int, windows: int, length: int) -> list[int]:
    """First frames of up to ``windows`` windows of ``length`` frames spread over ``total``."""
    last = max(total - length, 0)
    return sorted(set(np.linspace(0, last, num=windows).round().astype(int).tolist()))


def _middle_frame(path: Path, index: int) -> np.ndarray:
    """Frame ``index`` of a video (or its last frame, if it is shorter)."""
    frame = None
    for i, frame in enumerate(iter_frames(path)):
        if i >= index:
            break
    if frame is None:
        raise MediaError(f"{path} decoded to no frames")
    return frame


def face_boxes(frame: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Faces ``(x, y, w, h)`` found by OpenCV's frontal-face Haar cascade in an RGB frame."""
    import cv2

    xml = Path(getattr(getattr(cv2, "data", None), "haarcascades", "")) / \
        "haarcascade_frontalface_default.xml"
    if not hasattr(cv2, "CascadeClassifier") or not xml.exists():
        raise CapabilityUnavailableError(
            f"face mode needs OpenCV's Haar cascades; this OpenCV ({cv2.__version__}) ships none",
            hint="install opencv-python-headless<5 (4.x ships cv2.data.haarcascades), "
                 "or use face_mode='off'")
    cascade = cv2.CascadeClassifier(str(xml))
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(32, 32))
    return [tuple(int(v) for v in box) for box in found]


def _face_region(frame: np.ndarray, config: DetectorConfig) -> tuple[int, int, int, int] | None:
    """The largest face in ``frame`` in face mode (None when off, or when there is none)."""
    if config.face_mode != "on":
        return None
    faces = face_boxes(frame)
    return max(faces, key=lambda b: b[2] * b[3]) if faces else None


def _tile_offsets(h: int, w: int, size: int, limit: int,
                  region: tuple[int, int, int, int] | None = None) -> list[tuple[int, int]]:
    x0, y0, rw, rh = region if region else (0, 0, w, h)
    x0, y0 = max(0, min(x0, w - size)) & ~1, max(0, min(y0, h - size)) & ~1
    rw, rh = max(rw, size), max(rh, size)
    ys = list(range(y0, min(y0 + rh, h) - size + 1, size))
    xs = list(range(x0, min(x0 + rw, w) - size + 1, size))
    tiles = [(y, x) for y in ys for x in xs]
    if len(tiles) > limit:
        tiles = [tiles[i] for i in np.linspace(0, len(tiles) - 1, num=limit).round().astype(int)]
    return tiles


def extract_patches(path: str | os.PathLike[str],
                    config: DetectorConfig) -> tuple[list[int], np.ndarray]:
    """First frames of the windows, and their tubes ``(windows, m, T, 3, S, S)`` uint8."""
    path, size = Path(path), config.tube_size
    info = probe(path)
    h, w = info.height, info.width
    if h < config.patch_size or w < config.patch_size:
        raise MediaTooSmallError(f"{path} has {w}x{h} frames; the detector needs at least "
                                 f"{config.patch_size}x{config.patch_size} (it never upsamples)")
    size = min(size, h, w) & ~1
    if info.kind == "image":
        frame = next(iter_frames(path))
        tiles = _tile_offsets(h, w, size, config.patches_per_frame, _face_region(frame, config))
        tube = np.stack([frame] * 3)
        return [0], np.stack([[tube[:, y:y + size, x:x + size].transpose(0, 3, 1, 2)
                               for y, x in tiles]])
    length = config.window_frames
    starts = _window_starts(max(info.frame_count, length), config.frames_per_clip, length)
    region = None
    if config.face_mode == "on":
        region = _face_region(_middle_frame(path, starts[len(starts) // 2] + length // 2), config)
    # A stream may change size mid-way (an adaptive-bitrate capture): each frame is cut at
    # its own size, never resized, and the windows of the size most of them have are scored.
    tiles = {(h, w): _tile_offsets(h, w, size, config.patches_per_frame, region)}
    wanted = {s + d: [] for s in starts for d in range(length)}  # frame -> tiles, filled below
    shapes: dict[int, tuple[int, int]] = {}
    stop = max(wanted)
    for i, frame in enumerate(iter_frames(path)):
        shape = frame.shape[:2]
        if i in wanted and min(shape) >= size:  # a rendition smaller than a tube is left out
            if shape not in tiles:
                tiles[shape] = _tile_offsets(*shape, size, config.patches_per_frame,
                                             _scaled_region(region, (h, w), shape))
            wanted[i] = [frame[y:y + size, x:x + size].transpose(2, 0, 1)
                         for y, x in tiles[shape]]
            shapes[i] = shape
        if i >= stop:
            break
    if not shapes:
        raise MediaError(f"{path} decoded to no frames")
    groups: dict[tuple[int, int], list[int]] = {}
    for s in starts:
        frames = [i for i in range(s, s + length) if wanted.get(i)]
        if len(frames) == length and len({shapes[i] for i in frames}) == 1:
            groups.setdefault(shapes[s], []).append(s)
    if groups:
        used = max(groups.values(), key=lambda g: (len(g), np.prod(shapes[g[0]])))
        return used, np.stack([np.stack([np.stack(wanted[i]) for i in range(s, s + length)],
                                        axis=1) for s in used])  # (windows, m, T, 3, S, S)
    # fewer frames than the header said: one window of what was decoded, at one size
    first = min(shapes)
    frames = [i for i in sorted(shapes) if shapes[i] == shapes[first]][:length]
    frames = (frames * 3)[:3] if len(frames) < 3 else frames
    return [frames[0]], np.stack([np.stack([np.stack(wanted[i]) for i in frames], axis=1)])


def _scaled_region(region: tuple[int, int, int, int] | None, size: tuple[int, int],
                   shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """A face region ``(x, y, w, h)`` found in frames of ``size`` ``(H, W)``, in frames of
    ``shape``."""
    if region is None:
        return None
    fy, fx = shape[0] / size[0], shape[1] / size[1]
    x, y, w, h = region
    return round(x * fx), round(y * fy), round(w * fx), round(h * fy)


def score_file(detector: VideoDetector, path: str | os.PathLike[str]) -> ClassifierEvidence:
    """Classifier evidence for one file (see the module docstring for the rule)."""
    _, windows = extract_patches(path, detector._cfg)
    logits = detector.decision_function(windows)  # one per window
    frame_scores = detector.calibrator_.transform(logits)
    score = float(detector.calibrator_.transform(np.array([logits.mean()]))[0])
    return ClassifierEvidence(score=score, threshold=float(detector.threshold_),
                              frame_scores=[round(float(s), 6) for s in frame_scores],
                              model=detector._cfg.model_id)


def detect_file(path: str | os.PathLike[str],
                weights: str | os.PathLike[str] | None = None) -> ClassifierEvidence:
    """Score ``path`` with the detector in ``weights`` (default: the shipped model)."""
    return score_file(load_detector(weights), path)
