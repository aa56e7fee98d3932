"""The ``classifier`` evidence provider (entry point ``provenant.evidence``).

It fills ``report.classifier`` with :func:`detector.inference.score_file`; the verdict is
decided afterwards by the core's :func:`provenant.report.decide_verdict`.

Options (from ``verify(..., options=...)``): ``detector_weights`` (a model folder) and
``classifier`` (``False`` skips it). When no trained model is installed, or frames are
smaller than one patch, the classifier part stays ``None`` and verification goes on.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from provenant.errors import NotFittedError
from provenant.report import VerificationReport

__all__ = ["ClassifierProvider", "provider"]


class ClassifierProvider:
    name = "classifier"
    order = 30

    def __call__(self, path: Path, report: VerificationReport, options: dict[str, Any]) -> None:
        if options.get("classifier") is False:
            return
        # torch and timm load here, not when the providers are listed: a file the earlier
        # steps already refused (unreadable, truncated) costs no model import (about 3 s).
        from detector.inference import MediaTooSmallError, load_detector, score_file

        try:
            detector = load_detector(options.get("detector_weights"))
        except NotFittedError as exc:
            warnings.warn(f"provenant: no classifier evidence: {exc}", RuntimeWarning, stacklevel=2)
            return
        try:
            report.classifier = score_file(detector, path)
        except MediaTooSmallError:
            return  # nothing to score at native resolution; the report says classifier: null


provider = ClassifierProvider()
