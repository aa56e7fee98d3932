"""Every error answer is JSON ``{"error": {"code", "message"}}`` (plus ``hint`` when known).

:class:`ApiError` is raised by the service itself (413, 415, 503 …); the library's
:class:`~provenant.errors.ProvenanceError` tree is mapped to statuses in one table; FastAPI's
validation errors and Starlette's 404/405 get the same shape; anything else becomes a 500
whose body names an incident id and never carries a traceback (the log has it).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from provenant import errors as pe

__all__ = ["ApiError", "install_error_handlers", "error_response", "status_for", "http_hint"]

log = logging.getLogger("provenant.api")

#: Most specific class first; the first match wins.
_STATUS: tuple[tuple[type[pe.ProvenanceError], int], ...] = (
    (pe.UnsupportedMediaError, 415),
    (pe.MediaLimitError, 422),
    (pe.MediaError, 422),
    (pe.PayloadError, 422),
    (pe.InputError, 422),
    (pe.NotFoundError, 404),
    (pe.StoreError, 503),
    (pe.CapabilityUnavailableError, 501),
    (pe.NotFittedError, 501),
    (pe.TimestampError, 502),  # the server's timestamp authority, not the upload
    (pe.SigningError, 422),
    (pe.VerificationError, 422),
    (pe.CredentialError, 500),
)

#: The hints of a few error classes are worded for the command line (flags, ``--help``);
#: when an error carries its class's default hint, an HTTP client gets this one instead.
_HTTP_HINTS: tuple[tuple[type[pe.ProvenanceError], str], ...] = (
    (pe.PayloadError, "give the payload as 16 hexadecimal digits, e.g. 0123456789abcdef"),
    (pe.ConfigurationError, "check the request's fields; /docs describes each endpoint"),
    (pe.InputError, "check the request's fields; /docs describes each endpoint"),
    (pe.SigningError, "check the uploaded file; the server's log has details"),
)

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 406: "not_acceptable", 408: "request_timeout",
               411: "length_required", 413: "upload_too_large",
               415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests",
               500: "internal_error", 501: "not_implemented", 503: "unavailable",
               504: "timeout"}


class ApiError(Exception):
    """An error answer of the service: HTTP ``status``, stable ``code``, plain ``message``."""

    def __init__(self, status: int, code: str, message: str, *,
                 headers: dict[str, str] | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers, self.hint = headers or {}, hint


def http_hint(exc: pe.ProvenanceError) -> str:
    """``exc``'s hint, with a command-line default replaced by its HTTP wording."""
    if exc.hint == type(exc).default_hint:
        for cls, hint in _HTTP_HINTS:
            if isinstance(exc, cls) and cls.default_hint == exc.hint:
                return hint
    return exc.hint


def status_for(exc: pe.ProvenanceError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_response(status: int, code: str, message: str, *, hint: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _scrub(request: Request, text: str) -> str:
    """Replace server-side paths: this request's uploads by the client's file name, the data
    directory by a placeholder."""
    for path, name in getattr(request.state, "upload_names", {}).items():
        text = text.replace(path, repr(name) if name else "the upload")
    from provenant.config import get_settings

    return text.replace(str(get_settings().data_dir), "<data dir>")


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, _scrub(request, exc.message), hint=exc.hint,
                          headers=exc.headers)


async def _provenance_error(request: Request, exc: pe.ProvenanceError) -> JSONResponse:
    status = status_for(exc)
    headers = {"Retry-After": "5"} if status == 503 else None
    if status in (500, 503):
        log.warning("request %s %s failed: %s", request.method, request.url.path, exc)
    return error_response(status, exc.code, _scrub(request, exc.message),
                          hint=_scrub(request, http_hint(exc)) or None, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(422, "validation_error", "; ".join(parts) or "invalid request")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    incident = secrets.token_hex(6)
    log.error("incident %s: unhandled error on %s %s", incident, request.method,
              request.url.path, exc_info=exc)
    return error_response(500, "internal_error",
                          f"internal error (incident {incident}); the server's log has details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(pe.ProvenanceError, _provenance_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
