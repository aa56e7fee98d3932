"""Fixtures of the HTTP API tests: an app with small limits, a TestClient, keys, and a real
uvicorn server on loopback (in a thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.db import open_database
from api.keys import create_key
from api.settings import ApiSettings
from tests.conftest import make_clip

#: Small limits so the hostile-input tests stay fast.
LIMIT_BYTES = 2 * 1024 * 1024


def small_settings(**overrides: object) -> ApiSettings:
    values: dict[str, object] = {"max_upload_bytes": LIMIT_BYTES, "workers": 2, "queue_size": 2,
                                 "job_workers": 1, "job_queue_size": 4, "request_timeout_s": 30}
    values.update(overrides)
    return ApiSettings(**values)  # type: ignore[arg-type]


@pytest.fixture()
def settings() -> ApiSettings:
    return small_settings()


@pytest.fixture()
def client(settings: ApiSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def bearer(*scopes: str) -> dict[str, str]:
    secret, _ = create_key(open_database(), scopes, name="test")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture()
def sign_headers() -> dict[str, str]:
    return bearer("sign")


@pytest.fixture(scope="session")
def clip2s(media_dir: Path) -> Path:
    """A 2 s 256×256 clip (48 frames at 24 fps)."""
    return make_clip(media_dir / "clip2s.mp4", frames=48, h=256, w=256)


def upload(path: Path, name: str | None = None) -> dict[str, tuple[str, bytes]]:
    return {"file": (name or path.name, path.read_bytes())}


def leftovers(settings: ApiSettings) -> list[str]:
    """Files left in the upload folder (there must be none after a request)."""
    folder = settings.resolved_upload_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(data_dir: Path) -> Iterator[str]:
    """A real uvicorn server on loopback running the app, in a thread; yields its base URL."""
    import os

    import uvicorn

    from provenant.config import get_settings

    os.environ["PROVENANT_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    port = free_port()
    config = uvicorn.Config(create_app(small_settings()), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
