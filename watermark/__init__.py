"""Provenant's invisible video watermark: keyed, self-synchronising tiled spread spectrum.

``embed(frames_or_path, payload, key)`` hides a 64-bit payload in luma; ``detect(...)``
returns a :class:`WatermarkResult` with a p-value from a test at a stated false-positive
rate (default 1e-6 per video). See ``watermark/detect.py`` for the test.
"""

from watermark.api import detect, detect_file, embed, embed_file
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
    "DEFAULT_KEY",
    "KEY_ENV",
    "PAYLOAD_BITS",
    "WatermarkConfig",
    "WatermarkResult",
    "detect",
    "detect_file",
    "embed",
    "embed_file",
    "parse_payload",
    "resolve_key",
]
