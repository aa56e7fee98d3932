"""``GET /healthz``: liveness, version, capabilities and load. Cheap: the capabilities are
found once, in the background, when the server starts (empty until then)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.schemas import HealthOut
from provenant import __version__

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, summary="Liveness and capabilities")
def healthz(request: Request) -> HealthOut:
    pool, jobs = request.app.state.pool, request.app.state.jobs
    return HealthOut(status="ok", version=__version__,
                     capabilities=request.app.state.capabilities,
                     inflight=pool.inflight, capacity=pool.capacity, jobs_pending=jobs.pending)
