"""Provenant's invisible video watermark: keyed, self-synchronising tiled spread spectrum.

``embed(frames_or_path, payload, key)`` hides a 64-bit payload in luma; ``detect(...)``
returns a :class:`WatermarkResult` with a p-value from a test at a stated false-positive
rate (default 1e-6 per video). See ``watermark/detection.py`` for the test, and
``audit_file(path, key)`` for the attack suite applied to one file.
"""

from watermark.api import detect, detect_file, embed, embed_file
from watermark.audit import AuditReport, audit_file
from watermark.config import (
    ALGORITHM,
    DEFAULT_KEY,
    KEY_ENV,
    PAYLOAD_BITS,
    WatermarkConfig,
    parse_payload,
    resolve_key,
)
from watermark.detection import WatermarkResult

__all__ = [
    "ALGORITHM",
    "AuditReport",
    "DEFAULT_KEY",
    "KEY_ENV",
    "PAYLOAD_BITS",
    "WatermarkConfig",
    "WatermarkResult",
    "audit_file",
    "detect",
    "detect_file",
    "embed",
    "embed_file",
    "parse_payload",
    "resolve_key",
]
