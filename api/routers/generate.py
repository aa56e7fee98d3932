"""``POST /v1/generate`` (``generate`` scope): a generation job (202).

Answers 501 ``capability_unavailable`` until the generator component exposes its
generate-and-stamp function (see :mod:`api.services`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.deps import jobs_of
from api.keys import Principal, require_scope
from api.routers.jobs import job_view
from api.schemas import ERROR_RESPONSES, GenerateIn, JobOut
from api import services

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["generate"])


@router.post("/generate", status_code=202, response_model=JobOut,
             responses={**ERROR_RESPONSES["upload"]}, summary="Generate a signed clip (job)")
def generate(body: GenerateIn, request: Request,
             principal: Principal = Depends(require_scope("generate"))) -> JSONResponse:
    """Generate a clip from ``prompt``; it is watermarked, signed and registered by
    construction. Poll the job; its result is the MP4."""
    services.require_generator()
    services.check_prompt(body.prompt)
    job = jobs_of(request).submit("generate", body.model_dump(), principal.key_id)
    view = job_view(job, request)
    return JSONResponse(view.model_dump(), status_code=202, headers={"Location": view.status_url})
