"""Training data from a folder of the user's own videos, honouring C2PA training opt-outs.

Every video's active C2PA manifest is read; a ``c2pa.training-mining`` or
``cawg.training-mining`` assertion whose AI-training entries (``*.ai_training``,
``*.ai_generative_training``) say ``use: notAllowed`` (or ``constrained``, whose constraints
we cannot check) excludes the file. What was used and what was skipped, with the reason,
is written to a JSON manifest. Used videos give random clips and crops, resized to the
model's size; they train the unconditional (null-prompt) branch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from provenant.errors import InputError, ProvenanceError
from provenant.filelist import VIDEO_SUFFIXES

__all__ = ["TRAINING_MINING_LABELS", "AI_TRAINING_KEYS", "TrainingPermission",
           "training_permission", "training_mining_assertion", "UserVideoClips"]

TRAINING_MINING_LABELS = ("c2pa.training-mining", "cawg.training-mining")
AI_TRAINING_KEYS = ("c2pa.ai_training", "c2pa.ai_generative_training",
                    "cawg.ai_training", "cawg.ai_generative_training")
_FORBIDDING = {"notallowed", "constrained"}


@dataclass(frozen=True)
class TrainingPermission:
    allowed: bool
    reason: str
    c2pa_state: str | None = None


def training_mining_assertion(use: str = "notAllowed", *, namespace: str = "cawg") -> dict[str, Any]:
    """A training-and-data-mining assertion setting every AI-training/mining entry to ``use``."""
    if use not in ("allowed", "notAllowed", "constrained"):
        raise InputError(f"use={use!r} is not one of: allowed, notAllowed, constrained")
    keys = ("ai_generative_training", "ai_training", "ai_inference", "data_mining")
    return {"label": f"{namespace}.training-mining",
            "data": {"entries": {f"{namespace}.{k}": {"use": use} for k in keys}}}


def _active_assertions(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The active manifest's assertions (raw) and the validation state; ``([], None)`` if none."""
    import c2pa

    from provenant.manifest import _SIGNABLE, validation_context
    from provenant.media import probe

    info = probe(path)
    if info.mime not in _SIGNABLE:
        return [], None
    try:
        with open(info.path, "rb") as fh:
            reader = c2pa.Reader(info.mime, fh, context=validation_context())
            store, state = json.loads(reader.json()), reader.get_validation_state()
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "ManifestNotFound" in str(exc):
            return [], None
        raise
    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    return manifest.get("assertions", []), state


def training_permission(path: str | os.PathLike[str]) -> TrainingPermission:
    """May ``path`` be used to train a generative model, according to its C2PA manifest?

    A manifest that cannot be read at all is treated as a refusal (we cannot tell).
    """
    try:
        assertions, state = _active_assertions(Path(path))
    except ProvenanceError as exc:
        return TrainingPermission(False, f"unreadable media: {exc.message}")
    except Exception as exc:  # the SDK failed on a damaged manifest store
        return TrainingPermission(False, f"C2PA manifest unreadable ({type(exc).__name__}); "
                                         "training permission unknown")
    for a in assertions:
        label = str(a.get("label", ""))
        if not any(label == l or label.startswith(l + ".") for l in TRAINING_MINING_LABELS):
            continue
        entries = (a.get("data") or {}).get("entries") or {}
        for key in AI_TRAINING_KEYS:
            use = str((entries.get(key) or {}).get("use", "")).lower()
            if use in _FORBIDDING:
                return TrainingPermission(False, f"{label}: {key} use={entries[key]['use']}", state)
    if state is None:
        return TrainingPermission(True, "no C2PA manifest", None)
    return TrainingPermission(True, "C2PA manifest does not forbid AI training", state)


def _load_frames(path: Path, short_side: int, max_frames: int) -> np.ndarray:
    """Up to ``max_frames`` frames, resized so the short side is ``short_side``: (N, h, w, 3)."""
    from provenant.media import iter_frames

    frames = []
    for frame in iter_frames(path):
        h, w = frame.shape[:2]
        s = short_side / min(h, w)
        frames.append(cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))),
                                 interpolation=cv2.INTER_AREA))
        if len(frames) >= max_frames:
            break
    return np.stack(frames)


class UserVideoClips:
    """Random clips and crops from the allowed videos under ``data_dir``."""

    def __init__(self, data_dir: str | os.PathLike[str], *, frames: int = 8, size: int = 32,
                 manifest_path: str | os.PathLike[str] | None = None, max_frames: int = 240) -> None:
        self.data_dir, self.frames, self.size = Path(data_dir), frames, size
        if not self.data_dir.is_dir():
            raise InputError(f"data_dir={str(self.data_dir)!r} is not a folder")
        self.videos: list[np.ndarray] = []
        self.used: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        for path in sorted(p for p in self.data_dir.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES):
            self._add(path, max_frames)
        self.record = {"data_dir": str(self.data_dir), "used": self.used, "skipped": self.skipped}
        if manifest_path is not None:
            Path(manifest_path).write_text(json.dumps(self.record, indent=2) + "\n")

    def _add(self, path: Path, max_frames: int) -> None:
        perm = training_permission(path)
        if not perm.allowed:
            self.skipped.append({"path": str(path), "reason": perm.reason, "c2pa_state": perm.c2pa_state})
            return
        try:
            clip = _load_frames(path, 2 * self.size, max_frames)
        except ProvenanceError as exc:
            self.skipped.append({"path": str(path), "reason": f"unreadable: {exc.message}",
                                 "c2pa_state": perm.c2pa_state})
            return
        if len(clip) < self.frames:
            self.skipped.append({"path": str(path), "reason": f"only {len(clip)} frames, "
                                 f"need {self.frames}", "c2pa_state": perm.c2pa_state})
            return
        self.videos.append(clip)
        self.used.append({"path": str(path), "frames": int(len(clip)), "reason": perm.reason,
                          "c2pa_state": perm.c2pa_state})

    def __len__(self) -> int:
        return len(self.videos)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random clips: ``(n, 3, T, size, size)`` float32 in [-1, 1]."""
        out = np.empty((n, 3, self.frames, self.size, self.size), np.float32)
        for i in range(n):
            video = self.videos[rng.integers(len(self.videos))]
            stride = int(rng.integers(1, 3)) if len(video) >= 2 * self.frames else 1
            start = int(rng.integers(0, len(video) - stride * (self.frames - 1)))
            clip = video[start: start + stride * self.frames: stride]  # (T, h, w, 3)
            h, w = clip.shape[1:3]
            side = int(rng.integers(min(h, w) // 2, min(h, w) + 1))
            y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            crops = [cv2.resize(f[y:y + side, x:x + side], (self.size, self.size),
                                interpolation=cv2.INTER_AREA) for f in clip]
            out[i] = np.stack(crops).transpose(3, 0, 1, 2).astype(np.float32) / 127.5 - 1.0
        return out
