"""``GET /healthz``: liveness, version, capabilities and load."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.schemas import HealthOut
from api.services import capabilities
from provenant import __version__

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, summary="Liveness and capabilities")
def healthz(request: Request) -> HealthOut:
    pool, jobs = request.app.state.pool, request.app.state.jobs
    return HealthOut(status="ok", version=__version__, capabilities=capabilities(),
                     inflight=pool.inflight, capacity=pool.capacity, jobs_pending=jobs.pending)
