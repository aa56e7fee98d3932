"""Plug-ins for the core: the ``watermark`` evidence provider and stamper (entry points)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from provenant.errors import StoreError, notice
from provenant.report import VerificationReport, WatermarkEvidence
from watermark.api import detect_file, embed_file
from watermark.config import ALGORITHM, WatermarkConfig, key_id, resolve_key
from watermark.lookup import MAX_CANDIDATES, Codebook

__all__ = ["WatermarkProvider", "WatermarkStamper", "provider", "stamper", "store_candidates"]


class WatermarkProvider:
    """Fills ``report.watermark`` (``options`` may carry ``key``, ``fpr`` and ``store``: a
    manifest store whose issued payloads are also tested, see ``watermark.lookup``)."""

    name = "watermark"
    order = 10

    def __call__(self, path: Path, report: VerificationReport, options: dict[str, Any]) -> None:
        cfg = WatermarkConfig(fpr=float(options["fpr"])) if options.get("fpr") else WatermarkConfig()
        store = options.get("store")
        candidates = None
        if store is not None:
            try:
                candidates = store_candidates(store)
            except StoreError as exc:  # the blind test still runs; the report says why
                notice(f"the watermark was read without the store's payloads: {exc}")
        result = detect_file(path, options.get("key"), cfg, candidates)
        report.watermark = WatermarkEvidence(
            detected=result.detected, payload=result.payload, p_value=result.p_value,
            frames_used=result.frames_used, algorithm=ALGORITHM, false_positive_rate=cfg.fpr,
            method=result.method, candidates=result.candidates, transform=result.transform,
            key_id=result.key_id, key_retired=result.key_retired)


def store_candidates(store: Any, limit: int = MAX_CANDIDATES) -> Codebook | None:
    """The payloads ``store`` (a :class:`provenant.store.ManifestStore`) has issued under
    our algorithm, newest first and at most ``limit``, as a codebook (None if there are none)."""
    values = tuple(store.binding_values(ALGORITHM, limit))
    return _codebook(values) if values else None


@lru_cache(maxsize=2)
def _codebook(values: tuple[str, ...]) -> Codebook:
    """One codebook per distinct list (a service verifying many files against an unchanged
    store builds it once: about 0.3 s per 100,000 payloads)."""
    return Codebook(values)


class WatermarkStamper:
    """Embeds an 8-byte payload into ``src`` and writes ``dst`` (H.264 CRF 18, audio kept;
    10-bit HEVC for a 10-bit source)."""

    name = "watermark"
    soft_binding_alg = ALGORITHM

    def __call__(self, src: Path, dst: Path, payload: bytes,
                 key: str | bytes | None = None) -> dict[str, Any]:
        embed_file(src, dst, payload, key)
        return {"alg": ALGORITHM, "value": bytes(payload).hex(),
                "key_id": key_id(resolve_key(key))}


provider = WatermarkProvider()
stamper = WatermarkStamper()
