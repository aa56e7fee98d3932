"""``POST /v1/watermark/detect`` (read), ``POST /v1/watermark/embed`` (``sign`` scope) and
``POST /v1/watermark/audit`` (``verify`` scope, always a job).

Both use the server's watermark key (``PROVENANT_WATERMARK_KEY``); clients never send keys.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import run_on_upload
from api.errors import ApiError
from api.keys import Principal, optional_read, require_scope
from api.routers.sign import KEEP_ANIMATION, file_or_job, keeps_animation
from api.schemas import ERROR_RESPONSES, JobOut, WatermarkDetectOut
from api.services import require_watermark, watermark_detect_file
from api.settings import ApiSettings, get_api_settings
from api.uploads import Upload, multipart_body

__all__ = ["router"]

router = APIRouter(prefix="/v1/watermark", tags=["watermark"])

_PAYLOAD = {"payload": {"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{16}$",
                        "description": "64-bit payload as 16 hex digits", "x-required": True},
            **KEEP_ANIMATION}


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
                                                     "image/gif": {},
                                                     "image/jpeg": {}, "image/webp": {},
                                                     "image/heic": {}, "image/avif": {}},
                                        "description": "the watermarked file"},
                                   202: {"model": JobOut, "description": "mode=job: the job"},
                                   **ERROR_RESPONSES["upload"]},
             response_class=Response, openapi_extra=multipart_body(_PAYLOAD),
             summary="Embed the invisible watermark")
async def embed(request: Request, mode: Literal["sync", "job"] = Query("sync"),
                settings: ApiSettings = Depends(get_api_settings),
                principal: Principal = Depends(require_scope("sign"))) -> Any:
    """Watermark a video (H.264 out, 10-bit HEVC for a 10-bit source; audio kept) or an
    image with the ``payload`` form field. An animated GIF, PNG, WebP or AVIF comes back as
    an MP4, or with ``keep_animation=true`` as an animation of its kind.

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
    return {"payload": payload, "keep_animation": keeps_animation(upload)}


#: The most of a video an HTTP audit reads (seconds); the CLI and library take more.
AUDIT_MAX_SECONDS = 10.0
_AUDIT_FIELDS = {
    "attacks": {"type": "string", "description": "comma-separated attack names (default: all "
                "of the suite for the upload's kind, video or image; see watermark/README.md)"},
    "payload": {"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{16}$",
                "description": "the payload the file should carry (default: the one detected)"},
    "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0,
             "description": "seed of the attacks' random draws"},
    "seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": AUDIT_MAX_SECONDS,
                "default": AUDIT_MAX_SECONDS, "description": "seconds of the video to read"},
}


@router.post("/audit", status_code=202,
             responses={202: {"model": JobOut, "description": "the job; its result is the audit"},
                        **ERROR_RESPONSES["upload"]},
             openapi_extra=multipart_body(_AUDIT_FIELDS),
             summary="Audit the watermark of a video or image against the attack suite")
async def audit(request: Request, settings: ApiSettings = Depends(get_api_settings),
                principal: Principal = Depends(require_scope("verify"))) -> Any:
    """Apply the named attacks (re-encodes, resizes, crops, colour, noise, time; for an
    image, JPEG and WebP re-encodes and no time attacks) to the upload and detect the
    watermark after each, with the server's key (and the payloads its
    manifest store has issued: an outcome's ``method`` is ``lookup`` when only that test
    found the payload).

    Always a job (tens of seconds to minutes): 202, then ``GET /v1/jobs/{id}`` holds the
    audit (``outcomes``, one per attack, and ``summary``)."""
    require_watermark()
    return await file_or_job(request, settings, principal, "watermark_audit", "job",
                             _audit_params, "audit")


def _audit_params(upload: Upload) -> dict[str, Any]:
    from watermark import parse_payload
    from watermark.audit import attacks_for

    fields = {k: v.strip() for k, v in upload.fields.items()}
    attacks = [n.strip() for n in fields.get("attacks", "").split(",") if n.strip()] or None
    kind = upload.info.kind if upload.info is not None else "video"
    suite = attacks_for(kind)
    unknown = [n for n in attacks or () if n not in suite]
    if unknown:
        raise ApiError(422, "validation_error", f"attacks: {', '.join(unknown)} unknown for "
                       f"this {kind}; allowed: {', '.join(suite)}")
    payload = fields.get("payload") or None
    if payload is not None:
        parse_payload(payload)  # PayloadError (422) before any work
    seed = _number(fields, "seed", int, 0, 0, 2**31 - 1)
    seconds = _number(fields, "seconds", float, AUDIT_MAX_SECONDS, 1e-3, AUDIT_MAX_SECONDS)
    return {"attacks": attacks, "payload": payload, "seed": seed, "seconds": seconds}


def _number(fields: dict[str, str], name: str, kind: type, default: float, low: float,
            high: float) -> Any:
    text = fields.get(name)
    if not text:
        return kind(default)
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ApiError(422, "validation_error",
                       f"{name}: {text[:40]!r} is invalid; allowed: {low:g} to {high:g}")
    return value
