"""Provenant's AI-video detector: forensic residuals + a timm backbone, calibrated.

Public API::

    from detector import VideoDetector, DetectorConfig, detect_file
    det = VideoDetector(DetectorConfig()).fit(X, y, groups=groups)   # X: (n, k, 3, 3, P, P) uint8
    det.predict_proba(X)          # (n, 2) calibrated
    det.save_pretrained("out/"); VideoDetector.from_pretrained("out/")
    detect_file("clip.mp4")       # ClassifierEvidence(score, threshold, frame_scores, model)
"""

from detector.calibration import Calibrator, expected_calibration_error, threshold_at_fpr
from detector.classifier import VideoDetector
from detector.config import DetectorConfig
from detector.families import FAMILIES, Family, available_families, get_family, register_family
from detector.inference import DEFAULT_WEIGHTS, MediaTooSmallError, detect_file, load_detector

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
