"""``GET /v1/jobs/{job_id}`` and ``GET /v1/jobs/{job_id}/result``.

A job is visible only to the API key that created it (others get 404, as for an unknown id).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from api.db import JobRecord
from api.errors import ApiError
from api.keys import Principal, require_key
from api.schemas import ERROR_RESPONSES, JobErrorOut, JobOut

__all__ = ["router", "job_view"]

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_NAMES = {"sign": "signed", "watermark_embed": "watermarked", "generate": "generated"}


def job_view(job: JobRecord, request: Request) -> JobOut:
    """The job as answered, its URLs under the prefix a reverse proxy serves the API at."""
    status_url = f"{request.scope.get('root_path', '')}/v1/jobs/{job.job_id}"
    error = JobErrorOut(code=job.error_code or "failed", message=job.error_message or "") \
        if job.state == "failed" else None
    return JobOut(id=job.job_id, kind=job.kind, state=job.state,  # type: ignore[arg-type]
                  created_at=job.created_at, started_at=job.started_at,
                  finished_at=job.finished_at, error=error, result=job.result,
                  status_url=status_url,
                  result_url=f"{status_url}/result" if job.state == "succeeded" else None)


def _owned(request: Request, job_id: str, principal: Principal) -> JobRecord:
    if len(job_id) > 64 or not job_id.isalnum():
        raise ApiError(404, "not_found", f"no job {job_id[:64]!r}")
    job = request.app.state.db.get_job(job_id)  # NotFoundError: 404
    if job.owner_key != principal.key_id:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    return job


@router.get("/{job_id}", response_model=JobOut, responses=ERROR_RESPONSES["job"],
            summary="A job's state")
def get_job(job_id: str, request: Request, principal: Principal = Depends(require_key)) -> JobOut:
    return job_view(_owned(request, job_id, principal), request)


@router.get("/{job_id}/result", responses={200: {"content": {"video/mp4": {}, "image/png": {},
                                                              "image/jpeg": {}, "image/webp": {},
                                                              "image/heic": {}, "image/avif": {},
                                                              "image/gif": {},
                                                              "application/json": {}},
                                                 "description": "the job's result file"},
                                           **ERROR_RESPONSES["job"]},
            response_class=Response, summary="A finished job's result")
def get_result(job_id: str, request: Request,
               principal: Principal = Depends(require_key)) -> Any:
    """The result file of a succeeded job (409 while it is queued or running, or if it
    failed: the error says why)."""
    job = _owned(request, job_id, principal)
    if job.state == "failed":
        raise ApiError(409, "job_failed",
                       f"job {job_id} failed: {job.error_message or job.error_code}")
    if job.state != "succeeded":
        raise ApiError(409, "job_not_finished", f"job {job_id} is {job.state}; poll "
                       f"/v1/jobs/{job_id} until it has succeeded")
    if not job.result_path:
        return JSONResponse(job.result or {})
    path = Path(job.result_path)
    if not path.is_file():
        raise ApiError(404, "not_found", f"the result of job {job_id} has expired")
    stem = Path(job.params.get("filename") or "output").stem[:100] or "output"
    return FileResponse(path, filename=f"{stem}-{_NAMES.get(job.kind, 'result')}{path.suffix}")
