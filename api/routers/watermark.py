"""``POST /v1/watermark/detect`` (read) and ``POST /v1/watermark/embed`` (``sign`` scope).

Both use the server's watermark key (``PROVENANT_WATERMARK_KEY``); clients never send keys.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import run_on_upload
from api.errors import ApiError
from api.keys import Principal, optional_read, require_scope
from api.routers.sign import file_or_job
from api.schemas import ERROR_RESPONSES, JobOut, WatermarkDetectOut
from api.services import require_watermark, watermark_detect_file
from api.settings import ApiSettings, get_api_settings
from api.uploads import Upload, multipart_body

__all__ = ["router"]

router = APIRouter(prefix="/v1/watermark", tags=["watermark"])

_PAYLOAD = {"payload": {"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{16}$",
                        "description": "64-bit payload as 16 hex digits", "x-required": True}}


def _detect(upload: Upload, store: Any) -> dict[str, Any]:
    return watermark_detect_file(upload.path, upload.filename, store)


@router.post("/detect", response_model=WatermarkDetectOut, responses=ERROR_RESPONSES["upload"],
             openapi_extra=multipart_body(), summary="Detect the invisible watermark")
async def detect(request: Request, settings: ApiSettings = Depends(get_api_settings),
                 principal: Principal = Depends(optional_read)) -> Any:
    """Test the upload for Provenant's watermark at a false-positive rate of 1e-6 per file.

    The payloads issued in the server's manifest store are also tested (store-aided:
    ``method`` says which test decided), which finds far weaker watermarks."""
    require_watermark()
    result = await run_on_upload(request, settings, _detect, request.app.state.store)
    request.app.state.metrics.watermarks.labels(str(result["detected"]).lower()).inc()
    return result


@router.post("/embed", responses={200: {"content": {"video/mp4": {}, "image/png": {},
                                                     "image/jpeg": {}},
                                        "description": "the watermarked file"},
                                   202: {"model": JobOut, "description": "mode=job: the job"},
                                   **ERROR_RESPONSES["upload"]},
             response_class=Response, openapi_extra=multipart_body(_PAYLOAD),
             summary="Embed the invisible watermark")
async def embed(request: Request, mode: Literal["sync", "job"] = Query("sync"),
                settings: ApiSettings = Depends(get_api_settings),
                principal: Principal = Depends(require_scope("sign"))) -> Any:
    """Watermark a video (H.264 out, audio kept) or an image with the ``payload`` form field.

    ``mode=sync`` answers with the file; ``mode=job`` answers 202 with a job whose result
    (``GET /v1/jobs/{id}/result``) is the file.
    """
    require_watermark()
    return await file_or_job(request, settings, principal, "watermark_embed", mode,
                             _embed_params, "watermarked")


def _embed_params(upload: Upload) -> dict[str, Any]:
    from watermark import parse_payload

    payload = upload.fields.get("payload", "").strip()
    if not payload:
        raise ApiError(422, "validation_error", "payload: a form field of 16 hex digits is required")
    parse_payload(payload)  # PayloadError (422) before any work
    return {"payload": payload}
