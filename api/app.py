"""The FastAPI application: ``create_app(settings=None)``.

One router per resource (``api/routers``); CPU-bound library work runs on a bounded thread
pool (:mod:`api.pool`) so the event loop stays responsive; jobs persist in SQLite
(:mod:`api.jobs`); every error is JSON (:mod:`api.errors`). OpenAPI UI at ``/docs``.
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.db import open_database
from api.errors import install_error_handlers
from api.jobs import JobManager
from api.metrics import Metrics, MetricsMiddleware
from api.pool import WorkPool
from api.routers import generate, health, jobs, metrics, sign, softbinding, verify, watermark
from api.services import JOB_RUNNERS, capabilities
from api.uploads import BodyLimitMiddleware, sweep_stale_uploads
from api.settings import ApiSettings, get_api_settings
from provenant import __version__
from provenant.store import open_store

__all__ = ["create_app"]

_DESCRIPTION = """\
Provenance for synthetic media over HTTP: verify C2PA content credentials, detect the invisible
watermark, resolve soft bindings to manifests, and (with an API key) sign, watermark and
generate. Errors are JSON `{"error": {"code", "message"}}`. Keys: `provenant keys create`.
"""


# Result files are served with the type their suffix says; the HEIF types are not in every
# system's table.
for _type, _suffix in (("image/heic", ".heic"), ("image/heif", ".heif"), ("image/avif", ".avif")):
    mimetypes.add_type(_type, _suffix)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """A new app. ``settings`` (default: :func:`get_api_settings`) is installed as the
    ``get_api_settings`` dependency override, so every router sees the same object."""
    resolved = settings or get_api_settings()
    app_metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        state.db = open_database()
        state.store = open_store()
        state.pool = WorkPool(resolved.workers, resolved.queue_size,
                              retry_after_s=resolved.retry_after_s)
        state.pool.on_reject = lambda reason: app_metrics.rejected.labels(reason).inc()
        state.jobs = JobManager(state.db, resolved, app_metrics, JOB_RUNNERS)
        state.jobs.start()
        sweep_stale_uploads(resolved)
        state.capabilities = {}
        threading.Thread(target=_warm_up, args=(state,), daemon=True,
                         name="provenant-warm-up").start()
        try:
            yield
        finally:
            state.pool.shutdown()
            state.jobs.shutdown()

    app = FastAPI(title="Provenant", version=__version__, description=_DESCRIPTION,
                  lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.settings = resolved
    app.state.metrics = app_metrics
    if settings is not None:
        app.dependency_overrides[get_api_settings] = lambda: settings
    install_error_handlers(app)
    for module in (health, verify, watermark, sign, generate, jobs, softbinding, metrics):
        app.include_router(module.router)
    app.add_middleware(BodyLimitMiddleware, upload_paths=_upload_paths(app))
    app.add_middleware(MetricsMiddleware, metrics=app_metrics)
    origins = [o for o in resolved.cors_origins.split(",") if o]
    if origins:  # outermost, so that error answers (413, 503) carry the headers too
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"],
                           expose_headers=_EXPOSED_HEADERS, max_age=600)
    return app


#: What a browser page may read of an answer beyond the safelisted headers.
_EXPOSED_HEADERS = ["Location", "Retry-After", "Content-Disposition", "X-Provenant-Manifest-Id",
                    "X-Provenant-Signer", "X-Provenant-Payload", "X-Provenant-Algorithm",
                    "X-Provenant-Warning"]


def _warm_up(state: Any) -> None:
    """Import the components once, off the event loop, so that ``/healthz`` stays cheap and
    the first verification does not pay for them; record what is available."""
    from provenant.plugins import evidence_providers

    try:
        evidence_providers()
    finally:
        state.capabilities = capabilities()


def _upload_paths(app: FastAPI) -> frozenset[str]:
    """Paths whose body is a streamed multipart upload (limited by :mod:`api.uploads`)."""
    return frozenset(path for path, ops in app.openapi()["paths"].items()
                     if any("multipart/form-data" in op.get("requestBody", {}).get("content", {})
                            for op in ops.values()))
