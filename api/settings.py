"""Settings of the HTTP service: environment variables ``PROVENANT_API_*``.

``get_api_settings()`` is cached. Tests and embedding applications either pass an
:class:`ApiSettings` to :func:`api.app.create_app` (which installs it as a FastAPI dependency
override) or change the environment and call ``get_api_settings.cache_clear()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ApiSettings", "get_api_settings", "SCOPES"]

#: What an API key may be allowed to do (``provenant keys create --scope``; ``api.keys``).
SCOPES = ("verify", "sign", "generate")

_MIB = 1024 * 1024


class ApiSettings(BaseSettings):
    """Every knob of the service. Each field can be set as ``PROVENANT_API_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PROVENANT_API_", frozen=True, extra="ignore")

    #: Refuse request bodies larger than this (counted while streaming): 413.
    max_upload_bytes: int = Field(default=512 * _MIB, gt=0)
    #: Media limits checked from the upload's headers before any decoding: 422.
    max_pixels: int = Field(default=3840 * 2160, gt=0)
    #: Still images (a 12 MP phone photo is more than a 4K frame; 48-50 MP modes exist).
    max_image_pixels: int = Field(default=50_000_000, gt=0)
    max_frames: int = Field(default=18_000, gt=0)
    max_duration_s: float = Field(default=600.0, gt=0)
    #: Seconds a synchronous request may spend on library work before it answers 504.
    request_timeout_s: float = Field(default=60.0, gt=0)
    #: Seconds a client may take to send its upload before it gets 408.
    upload_timeout_s: float = Field(default=300.0, gt=0)
    #: Threads running synchronous library work (verify, detect) in each server process.
    workers: int = Field(default=2, ge=1, le=64)
    #: Requests admitted beyond ``workers`` (waiting for a thread); more get 503 + Retry-After.
    queue_size: int = Field(default=8, ge=0, le=1024)
    #: Threads running jobs (sign, embed, audit, generate) and jobs allowed to wait for them.
    job_workers: int = Field(default=1, ge=1, le=16)
    job_queue_size: int = Field(default=16, ge=0, le=4096)
    #: Finished jobs and their result files are deleted after this many seconds.
    job_ttl_s: float = Field(default=24 * 3600.0, gt=0)
    #: Value of the Retry-After header on 503 answers.
    retry_after_s: int = Field(default=2, ge=1, le=3600)
    #: The path prefix a reverse proxy serves the API under (e.g. ``/provenant``), given to
    #: the ASGI server by ``provenant serve``. Job URLs and the OpenAPI page carry it.
    root_path: str = Field(default="", pattern=r"^(/[^/\s?#]+)*$")
    #: Web origins whose pages may call the API from a browser (CORS), comma-separated, e.g.
    #: ``https://desk.example.org``; none by default.
    cors_origins: str = Field(default="", pattern=r"^[^\s]*$")
    #: Whether verify/detect/watermark-detect and the soft-binding lookups work without a key.
    #: When false they need a key with the ``verify`` scope.
    allow_anonymous_read: bool = True
    #: Where uploads are spooled (default: ``<data dir>/api/uploads``) and jobs keep files
    #: (default: ``<data dir>/api/jobs``).
    upload_dir: Path | None = None
    jobs_dir: Path | None = None
    #: Defaults of ``provenant serve``.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    def resolved_upload_dir(self) -> Path:
        return self.upload_dir or _data_dir() / "api" / "uploads"

    def resolved_jobs_dir(self) -> Path:
        return self.jobs_dir or _data_dir() / "api" / "jobs"


def _data_dir() -> Path:
    from provenant.config import get_settings

    return get_settings().data_dir


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    """The process-wide service settings, read once from the environment."""
    from provenant.config import load_settings

    return load_settings(ApiSettings)
