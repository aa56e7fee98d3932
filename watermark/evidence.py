"""Plug-ins for the core: the ``watermark`` evidence provider and stamper (entry points)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provenant.report import VerificationReport, WatermarkEvidence
from watermark.api import detect_file, embed_file
from watermark.config import ALGORITHM, WatermarkConfig

__all__ = ["WatermarkProvider", "WatermarkStamper", "provider", "stamper"]


class WatermarkProvider:
    """Fills ``report.watermark`` (``options`` may carry ``key`` and ``fpr``)."""

    name = "watermark"
    order = 10

    def __call__(self, path: Path, report: VerificationReport, options: dict[str, Any]) -> None:
        cfg = WatermarkConfig(fpr=float(options["fpr"])) if options.get("fpr") else WatermarkConfig()
        result = detect_file(path, options.get("key"), cfg)
        report.watermark = WatermarkEvidence(
            detected=result.detected, payload=result.payload, p_value=result.p_value,
            frames_used=result.frames_used, algorithm=ALGORITHM, false_positive_rate=cfg.fpr)


class WatermarkStamper:
    """Embeds an 8-byte payload into ``src`` and writes ``dst`` (H.264 CRF 18, audio kept)."""

    name = "watermark"
    soft_binding_alg = ALGORITHM

    def __call__(self, src: Path, dst: Path, payload: bytes,
                 key: str | bytes | None = None) -> dict[str, Any]:
        embed_file(src, dst, payload, key)
        return {"alg": ALGORITHM, "value": bytes(payload).hex()}


provider = WatermarkProvider()
stamper = WatermarkStamper()
