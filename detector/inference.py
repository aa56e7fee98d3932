"""Scoring a media file: frame-triplet patches at native resolution, then the clip rule.

Aggregation rule (documented contract): every sampled frame contributes a grid of
non-overlapping ``P x P`` patches (at even offsets, at most ``patches_per_frame``, spread
evenly); a frame's logit is the mean of its patch logits, the clip logit is the mean of all
patch logits, and both go through the model's calibrator. ``frame_scores`` are therefore
indicative (the calibrator was fitted on clip logits).

Images are scored as one frame repeated three times (temporal channels are zero).
Face mode (``face_mode="on"``) takes patches only inside faces found by OpenCV's Haar
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


def _triplet_frames(path: Path, n: int) -> tuple[list[int], list[np.ndarray]]:
    """``n`` evenly spread centre indices and the frames around them (t-1, t, t+1)."""
    info = probe(path)
    if info.kind == "image":
        frame = next(iter_frames(path))
        return [0], [np.stack([frame] * 3)]
    total = max(info.frame_count, 3)
    centres = sorted(set(np.linspace(1, total - 2, num=n).round().astype(int).tolist()))
    wanted = {c + d for c in centres for d in (-1, 0, 1)}
    got: dict[int, np.ndarray] = {}
    for i, frame in enumerate(iter_frames(path)):
        if i in wanted:
            got[i] = frame
        if i >= max(wanted):
            break
    if not got:
        raise MediaError(f"{path} decoded to no frames")
    last = max(got)
    out, used = [], []
    for c in centres:
        idx = [min(c + d, last) for d in (-1, 0, 1)]
        if all(i in got for i in idx):
            out.append(np.stack([got[i] for i in idx]))
            used.append(c)
    if not out:  # fewer frames than the header said: use what was decoded
        frames = [got[i] for i in sorted(got)]
        frames = (frames * 3)[:3] if len(frames) < 3 else frames[:3]
        return [0], [np.stack(frames)]
    return used, out


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
    """Frame indices and patches ``(n_frames, m, 3, 3, P, P)`` uint8 from a media file."""
    path, size = Path(path), config.patch_size
    indices, triplets = _triplet_frames(path, config.frames_per_clip)
    h, w = triplets[0].shape[1:3]
    if h < size or w < size:
        raise MediaTooSmallError(f"{path} has {w}x{h} frames; the detector needs at least "
                                 f"{size}x{size} (it never upsamples)")
    region = None
    if config.face_mode == "on":
        faces = face_boxes(triplets[len(triplets) // 2][1])
        if faces:
            region = max(faces, key=lambda b: b[2] * b[3])
    tiles = _tile_offsets(h, w, size, config.patches_per_frame, region)
    patches = np.stack([
        np.stack([t[:, y:y + size, x:x + size].transpose(0, 3, 1, 2) for y, x in tiles])
        for t in triplets])  # (n_frames, m, 3, 3, P, P)
    return indices, patches


def score_file(detector: VideoDetector, path: str | os.PathLike[str]) -> ClassifierEvidence:
    """Classifier evidence for one file (see the module docstring for the rule)."""
    cfg = detector._cfg
    _, patches = extract_patches(path, cfg)
    n, m = patches.shape[:2]
    logits = detector.patch_logits(patches.reshape(n * m, *patches.shape[2:])).reshape(n, m)
    frame_scores = detector.calibrator_.transform(logits.mean(axis=1))
    score = float(detector.calibrator_.transform(np.array([logits.mean()]))[0])
    return ClassifierEvidence(score=score, threshold=float(detector.threshold_),
                              frame_scores=[round(float(s), 6) for s in frame_scores],
                              model=cfg.model_id)


def detect_file(path: str | os.PathLike[str],
                weights: str | os.PathLike[str] | None = None) -> ClassifierEvidence:
    """Score ``path`` with the detector in ``weights`` (default: the shipped model)."""
    return score_file(load_detector(weights), path)
