"""Shared dependencies of the routers: app state, and "upload, then run on the pool"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from api.errors import ApiError
from api.jobs import JobManager
from api.pool import WorkPool
from api.settings import ApiSettings
from api.uploads import Upload, receive_upload

__all__ = ["pool_of", "jobs_of", "run_on_upload"]

T = TypeVar("T")


def pool_of(request: Request) -> WorkPool:
    return request.app.state.pool


def jobs_of(request: Request) -> JobManager:
    return request.app.state.jobs


async def run_on_upload(request: Request, settings: ApiSettings,
                        fn: Callable[..., T], *args: Any,
                        before: Callable[[Upload], None] | None = None,
                        check_media: bool = True) -> T:
    """Admit the request (503 when full), stream its upload, run ``fn(upload, *args)`` on the
    bounded pool with the per-request timeout (504), and always delete the upload.
    ``check_media=False`` leaves probing the upload to ``fn`` (which must apply the limits)."""
    pool = pool_of(request)
    async with pool.admit() as ticket, \
            receive_upload(request, settings, check_media=check_media) as upload:
        if before is not None:
            before(upload)
        try:
            return await pool.run(ticket, fn, upload, *args, timeout_s=settings.request_timeout_s,
                                  on_abandon=upload.cleanup)
        except ApiError as exc:
            if exc.code == "timeout":
                upload.deferred = True  # the worker still reads it; on_abandon deletes it
            raise
