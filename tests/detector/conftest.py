"""Detector fixtures: a tiny model trained in seconds on constructed patches."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from detector.classifier import VideoDetector
from detector.config import DetectorConfig

TINY = DetectorConfig(backbone="test_resnet", patch_size=16, patches_per_frame=4,
                      frames_per_clip=3, epochs=4, batch_size=8, learning_rate=3e-3,
                      device="cpu", calibration_fraction=0.4)


@pytest.fixture(autouse=True)
def _generated_clips_in_tmp(monkeypatch, tmp_path) -> None:
    """Sampled generator clips go to a per-test folder, not the working tree's cache."""
    import detector.families as fams

    monkeypatch.setattr(fams, "GENERATED_CACHE", tmp_path / "generated")


def toy_clips(n: int, k: int = 2, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real = noisy patches (sensor-like residual), AI = flat patches; n clips, half each."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    base = rng.integers(60, 200, size=(n, 1, 1, 3, 1, 1))
    noise = rng.normal(0, 12, size=(n, k, 3, 3, size, size))
    noise *= (y == 0)[:, None, None, None, None, None]
    X = np.clip(base + noise, 0, 255).astype(np.uint8)  # (n, k, 3, 3, P, P)
    groups = np.array([f"src{i // 4}" for i in range(n)])
    return X, y, groups


@pytest.fixture(scope="session")
def toy_data():
    return toy_clips(64)


@pytest.fixture(scope="session")
def tiny_model(toy_data) -> VideoDetector:
    X, y, groups = toy_data
    return VideoDetector(TINY, progress=False).fit(X, y, groups=groups)


@pytest.fixture(scope="session")
def tiny_dir(tiny_model: VideoDetector, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model.save_pretrained(tmp_path_factory.mktemp("tiny-detector"))


def with_threshold(model_dir: Path, out: Path, threshold: float) -> Path:
    """A copy of a saved model whose decision threshold is replaced (a constructed case)."""
    import json
    import shutil

    shutil.copytree(model_dir, out)
    meta = json.loads((out / "calibration.json").read_text())
    meta["threshold"] = threshold
    (out / "calibration.json").write_text(json.dumps(meta))
    return out


class PixelMeanDetector:
    """Scores a clip by its mean pixel value: enough for ``evaluate`` without training."""

    threshold_ = 0.5
    _cfg = SimpleNamespace(model_id="stub", epochs=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = X.reshape(len(X), -1).mean(axis=1) / 255.0
        return np.stack([1 - p, p], axis=1)

    def score_parts(self, X: np.ndarray) -> dict[str, np.ndarray]:
        p = self.predict_proba(X)[:, 1]
        return {"network": p - 0.5, "logit": p - 0.5, "probability": p}
