"""Provenant's HTTP API (FastAPI): ``create_app()``, settings, and the ``serve``/``keys`` CLI.

Names are imported lazily so that ``provenant`` CLI commands do not pay for FastAPI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiSettings", "create_app", "get_api_settings"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from api.app import create_app

        return create_app
    if name in ("ApiSettings", "get_api_settings"):
        from api import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'api' has no attribute {name!r}")
