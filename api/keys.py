"""API keys: random secrets shown once, stored as SHA-256 hashes with their scopes.

A key reads ``pvk_<id>_<secret>``: the id finds the row, the secret's hash is compared in
constant time. Scopes are independent:

``verify``    read endpoints (verify, detect, watermark detect, soft-binding lookups) when
              ``PROVENANT_API_ALLOW_ANONYMOUS_READ`` is false; by default they are open
``sign``      ``POST /v1/sign`` and ``POST /v1/watermark/embed``
``generate``  ``POST /v1/generate``

Keys never appear in logs or error messages; only their public id does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.db import Database, KeyRecord
from api.errors import ApiError
from api.settings import SCOPES, ApiSettings, get_api_settings
from provenant.errors import InputError

__all__ = ["SCOPES", "Principal", "create_key", "authenticate", "require_scope", "require_key",
           "optional_read",
           "hash_secret"]

_PREFIX = "pvk"
_bearer = HTTPBearer(auto_error=False, description="API key from `provenant keys create`")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's public id and scopes (``None`` id for anonymous reads)."""

    key_id: str | None
    scopes: tuple[str, ...]


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(db: Database, scopes: Iterable[str], name: str | None = None) -> tuple[str, KeyRecord]:
    """Create a key; return the full secret (shown once, never stored) and its record."""
    wanted = tuple(dict.fromkeys(scopes))
    bad = [s for s in wanted if s not in SCOPES]
    if not wanted or bad:
        raise InputError(f"scope={bad or list(wanted)!r} is invalid; allowed: {', '.join(SCOPES)}",
                         hint="e.g. provenant keys create --scope verify --scope sign")
    key_id = secrets.token_hex(6)
    secret = f"{_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    record = KeyRecord(key_id, name, hash_secret(secret), wanted, time.time())
    db.insert_key(record)
    return secret, record


def authenticate(db: Database, secret: str) -> Principal | None:
    """The principal of ``secret``, or ``None`` if it is unknown, malformed or revoked."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[1].isalnum() or len(parts[1]) > 32:
        return None
    record = db.get_key(parts[1])
    digest = hash_secret(secret)
    if record is None:
        hmac.compare_digest(digest, digest)  # same work whether or not the id exists
        return None
    if not hmac.compare_digest(record.secret_hash, digest) or record.revoked_at is not None:
        return None
    return Principal(record.key_id, record.scopes)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"},
                    hint="send Authorization: Bearer <key>; create one with `provenant keys create`")


def _principal(request: Request, creds: HTTPAuthorizationCredentials | None) -> Principal | None:
    if creds is None:
        if request.headers.get("authorization"):
            raise _unauthorized("the Authorization header must read 'Bearer <key>'")
        return None
    principal = authenticate(request.app.state.db, creds.credentials)
    if principal is None:
        raise _unauthorized("the API key is unknown or revoked")
    return principal


def require_scope(scope: str) -> Callable[..., Principal]:
    """Dependency: a valid key with ``scope`` (401 without a valid key, 403 without the scope)."""

    def dependency(request: Request,
                   creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
        principal = _principal(request, creds)
        if principal is None:
            raise _unauthorized(f"this endpoint needs an API key with the {scope!r} scope")
        if scope not in principal.scopes:
            raise ApiError(403, "forbidden", f"the API key lacks the {scope!r} scope "
                           f"(it has: {', '.join(principal.scopes)})")
        return principal

    return dependency


def optional_read(request: Request,
                  creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
                  settings: ApiSettings = Depends(get_api_settings)) -> Principal:
    """Dependency of read endpoints: anonymous when allowed, else the ``verify`` scope.

    A key that is sent must be valid even where anonymous reads are allowed.
    """
    principal = _principal(request, creds)
    if principal is None:
        if settings.allow_anonymous_read:
            return Principal(None, ("verify",))
        raise _unauthorized("this server needs an API key with the 'verify' scope for reads")
    if "verify" not in principal.scopes and not settings.allow_anonymous_read:
        raise ApiError(403, "forbidden", "the API key lacks the 'verify' scope "
                       f"(it has: {', '.join(principal.scopes)})")
    return principal


def require_key(request: Request,
                creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    """Dependency: any valid key (401 otherwise); used where ownership decides access."""
    principal = _principal(request, creds)
    if principal is None:
        raise _unauthorized("this endpoint needs an API key")
    return principal
