"""``POST /v1/verify`` (the full report) and ``POST /v1/detect`` (classifier only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from api.deps import run_on_upload
from api.keys import Principal, optional_read
from api.schemas import ERROR_RESPONSES, DetectOut, ReportOut
from api.services import detect_file, require_classifier, verify_file
from api.settings import ApiSettings, get_api_settings
from api.uploads import MANIFEST_FIELD, Upload, media_limits, multipart_body
from provenant.media import MediaLimits

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["verify"])


def _verify(upload: Upload, store: Any, limits: MediaLimits) -> dict[str, Any]:
    return verify_file(upload.path, upload.filename, store, limits, manifest=upload.manifest)


def _detect(upload: Upload) -> dict[str, Any]:
    return detect_file(upload.path, upload.filename)


@router.post("/verify", response_model=ReportOut, responses=ERROR_RESPONSES["upload"],
             openapi_extra=multipart_body({MANIFEST_FIELD: {
                 "type": "string", "format": "binary",
                 "description": "optional: the file's C2PA manifest kept outside it (a .c2pa "
                                "fetched from the URL the report's c2pa.remote_url gives)"}}),
             summary="Verify a file's provenance")
async def verify(request: Request, settings: ApiSettings = Depends(get_api_settings),
                 principal: Principal = Depends(optional_read)) -> Any:
    """C2PA manifest, watermark, manifest recovery through the store, classifier, verdict.

    Send the file as the multipart part ``file`` (and, for a file whose credentials are kept
    elsewhere, the fetched ``.c2pa`` as ``manifest``). The answer has the schema of
    ``provenant verify --json``; ``file`` is the uploaded file's name. A signed file whose
    pictures no longer decode, or a format whose content credentials alone are read (DNG,
    JPEG XL, WAV, MP3, FLAC, M4A, PDF), still gets a report.
    """
    # verify() probes the file itself, after reading its manifest: a signed file whose
    # pictures no longer decode, or a format read for its credentials alone, gets a report.
    report = await run_on_upload(request, settings, _verify, request.app.state.store,
                                 media_limits(settings), check_media=False)
    verdict = report.get("verdict") or {}
    request.app.state.metrics.verdicts.labels(verdict.get("label", "none")).inc()
    return report


@router.post("/detect", response_model=DetectOut, responses=ERROR_RESPONSES["upload"],
             openapi_extra=multipart_body(), summary="AI-video classifier score")
async def detect(request: Request, settings: ApiSettings = Depends(get_api_settings),
                 principal: Principal = Depends(optional_read)) -> Any:
    """The detector's calibrated score alone. Answers 501 ``capability_unavailable`` while no
    detector (a ``classifier`` evidence provider) is installed."""
    require_classifier()  # 501 before the upload is read
    return await run_on_upload(request, settings, _detect)
