"""``POST /v1/sign`` (``sign`` scope): sign (or watermark + sign) an upload and register it.

Also :func:`file_or_job`, shared with ``/v1/watermark/embed``: ``mode=sync`` runs the work on
the request pool and answers with the file; ``mode=job`` answers 202 with a job.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from api.deps import jobs_of, pool_of
from api.errors import ApiError
from api.jobs import JobContext
from api.keys import Principal, require_scope
from api.routers.jobs import job_view
from api.schemas import ERROR_RESPONSES, JobOut
from api.services import JOB_RUNNERS, SUFFIXES, download_name
from api.settings import ApiSettings, get_api_settings
from api.uploads import Upload, multipart_body, receive_upload
from provenant.errors import CapabilityUnavailableError
from provenant.manifest import SOURCE_TYPES, SignOptions

__all__ = ["router", "file_or_job", "keeps_animation", "KEEP_ANIMATION", "TempFileResponse"]

router = APIRouter(prefix="/v1", tags=["sign"])

_TITLE_MAX = 200
_FIELDS = {
    "source_type": {"type": "string", "enum": list(SOURCE_TYPES), "default": "digitalCapture",
                    "description": "IPTC digitalSourceType of the content (not sent: "
                                   "digitalCapture, or for an upload that carries a manifest, "
                                   "which becomes the parent, that manifest's own)"},
    "title": {"type": "string", "maxLength": _TITLE_MAX, "description": "manifest title"},
    "watermark": {"type": "boolean", "default": False,
                  "description": "also embed the invisible watermark (soft binding) first"},
}
#: The form field that keeps a watermarked animation one (``/v1/sign`` with ``watermark``,
#: ``/v1/watermark/embed``).
KEEP_ANIMATION = {"keep_animation": {
    "type": "boolean", "default": False,
    "description": "a watermarked animated GIF, PNG, WebP or AVIF comes back as one of its "
                   "kind, its frames' durations and transparency kept (default: as an MP4)"}}
_FIELDS.update(KEEP_ANIMATION)
_TRUE = ("1", "true", "yes", "on")


def keeps_animation(upload: Upload) -> bool:
    """Whether the form asks for a watermarked animation to stay one (``keep_animation``)."""
    return upload.fields.get("keep_animation", "").strip().lower() in _TRUE


class TempFileResponse(FileResponse):
    """A file answer whose folder is deleted once it is sent (or the client goes away)."""

    def __init__(self, path: Path, *, cleanup_dir: Path, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.cleanup_dir = cleanup_dir

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            shutil.rmtree(self.cleanup_dir, ignore_errors=True)


def _sign_params(upload: Upload) -> dict[str, Any]:
    fields = upload.fields
    source_type = fields.get("source_type") or None  # None: the library's default
    title = fields.get("title") or None
    if title is not None and len(title) > _TITLE_MAX:
        raise ApiError(422, "validation_error",
                       f"title: {len(title)} characters is too long; allowed: at most {_TITLE_MAX}")
    SignOptions(source_type=source_type, title=title)  # InputError (422) before any work
    watermark = fields.get("watermark", "").strip().lower() in _TRUE
    if watermark:
        from provenant.plugins import stampers

        if "watermark" not in stampers():
            raise CapabilityUnavailableError("watermark=true needs the watermark stamper, "
                                             "which is not installed")
    return {"source_type": source_type, "title": title, "watermark": watermark,
            "keep_animation": keeps_animation(upload)}


def _download_name(upload: Upload, stem: str, suffix: str) -> str:
    return download_name(upload.filename, stem, suffix)


async def file_or_job(request: Request, settings: ApiSettings, principal: Principal, kind: str,
                      mode: str, params_of: Callable[[Upload], dict[str, Any]],
                      stem: str) -> Any:
    """Upload, validate the form with ``params_of``, then run ``kind`` now or as a job."""
    if mode == "job":
        return await _as_job(request, settings, principal, kind, params_of)
    return await _now(request, settings, kind, params_of, stem)


async def _as_job(request: Request, settings: ApiSettings, principal: Principal, kind: str,
                  params_of: Callable[[Upload], dict[str, Any]]) -> JSONResponse:
    jobs = jobs_of(request)
    jobs.check_capacity()  # before the upload is read
    async with pool_of(request).admit(), receive_upload(request, settings) as upload:
        suffix = SUFFIXES[upload.info.mime] if upload.info else ""
        params = {**params_of(upload), "suffix": suffix, "filename": upload.filename}
        job = jobs.submit(kind, params, principal.key_id, upload.path, suffix)
    view = job_view(job, request)
    return JSONResponse(view.model_dump(), status_code=202, headers={"Location": view.status_url})


async def _now(request: Request, settings: ApiSettings, kind: str,
               params_of: Callable[[Upload], dict[str, Any]], stem: str) -> Any:
    pool = pool_of(request)
    async with pool.admit() as ticket, receive_upload(request, settings) as upload:
        suffix = SUFFIXES[upload.info.mime] if upload.info else ""
        params = {**params_of(upload), "suffix": suffix, "filename": upload.filename}
        workdir = Path(tempfile.mkdtemp(dir=settings.resolved_upload_dir(), prefix="work-"))

        def abandon() -> None:
            upload.cleanup()
            shutil.rmtree(workdir, ignore_errors=True)

        try:
            out = await pool.run(ticket, JOB_RUNNERS[kind],
                                 JobContext("sync", params, upload.path, workdir),
                                 timeout_s=settings.request_timeout_s, on_abandon=abandon)
        except BaseException as exc:
            if isinstance(exc, ApiError) and exc.code == "timeout":
                upload.deferred = True  # abandon() runs when the worker is done
            else:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
    if out.file is None:
        shutil.rmtree(workdir, ignore_errors=True)
        return JSONResponse(out.result)
    return TempFileResponse(out.file, cleanup_dir=workdir, headers=_result_headers(out.result),
                            filename=_download_name(upload, stem, out.file.suffix))


def _result_headers(result: dict[str, Any]) -> dict[str, str]:
    headers = {}
    for key in ("manifest_id", "signer", "payload", "algorithm"):
        value = result.get(key)
        if isinstance(value, str) and value.isascii() and "\n" not in value:
            headers["X-Provenant-" + key.replace("_", "-").title()] = value
    warnings = [w for w in result.get("warnings", ()) if w.isascii() and "\n" not in w]
    if warnings:  # something the output lacks (a job's result lists them as "warnings")
        headers["X-Provenant-Warning"] = "; ".join(warnings)
    return headers


@router.post("/sign", responses={200: {"content": {"video/mp4": {}, "video/quicktime": {},
                                                    "image/png": {}, "image/jpeg": {},
                                                    "image/webp": {}, "image/heic": {},
                                                    "image/avif": {}, "image/gif": {}},
                                       "description": "the signed file"},
                                  202: {"model": JobOut, "description": "mode=job: the job"},
                                  **ERROR_RESPONSES["upload"]},
             response_class=Response, openapi_extra=multipart_body(_FIELDS),
             summary="Sign a file with a C2PA manifest")
async def sign(request: Request, mode: Literal["sync", "job"] = Query("sync"),
               settings: ApiSettings = Depends(get_api_settings),
               principal: Principal = Depends(require_scope("sign"))) -> Any:
    """Sign the upload (MP4, MOV, JPEG, PNG, WebP) with the server's credentials, register the
    manifest in the store, and answer with the signed file (headers
    ``X-Provenant-Manifest-Id`` and ``X-Provenant-Signer``) or, with ``mode=job``, a job.
    With ``watermark=true`` the clip is first watermarked (soft binding), as in
    ``provenant stamp``."""
    return await file_or_job(request, settings, principal, "sign", mode, _sign_params, "signed")
