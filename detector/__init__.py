"""Provenant's AI-video detector: forensic residuals + a timm backbone, calibrated.

Public API::

    from detector import VideoDetector, DetectorConfig, detect_file
    det = VideoDetector(DetectorConfig()).fit(X, y, groups=groups)   # X: (n, k, T, 3, P, P) uint8 tubes
    det.predict_proba(X)          # (n, 2) calibrated
    det.save_pretrained("out/"); VideoDetector.from_pretrained("out/")
    detect_file("clip.mp4")       # ClassifierEvidence(score, threshold, frame_scores, model)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "VideoDetector",
    "DetectorConfig",
    "Calibrator",
    "expected_calibration_error",
    "threshold_at_fpr",
    "FAMILIES",
    "Family",
    "available_families",
    "get_family",
    "register_family",
    "DEFAULT_WEIGHTS",
    "MediaTooSmallError",
    "detect_file",
    "load_detector",
]

# Public names are imported lazily, so that registering the CLI (which every `provenant`
# command does) does not import torch and timm.
_HOME = {
    "VideoDetector": "classifier", "DetectorConfig": "config", "Calibrator": "calibration",
    "expected_calibration_error": "calibration", "threshold_at_fpr": "calibration",
    "FAMILIES": "families", "Family": "families", "available_families": "families",
    "get_family": "families", "register_family": "families", "DEFAULT_WEIGHTS": "inference",
    "MediaTooSmallError": "inference", "detect_file": "inference", "load_detector": "inference",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"detector.{_HOME[name]}"), name)
    raise AttributeError(f"module 'detector' has no attribute {name!r}")
