"""Start the API in its own uvicorn process on loopback and wait until it answers.

Used where a real separate server process is needed: the load benchmark and the
kill-and-restart test (``provenant serve`` itself runs uvicorn in-process).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

import httpx

__all__ = ["start_local_server"]


def start_local_server(
    port: int,
    env: Mapping[str, str],
    *,
    timeout_s: float = 60.0,
    extra_args: Sequence[str] = (),
    quiet: bool = False,
) -> subprocess.Popen:
    """``uvicorn api.app:create_app --factory`` on 127.0.0.1:``port``; returns once
    ``/healthz`` answers 200, or kills it and raises ``RuntimeError`` after ``timeout_s``."""
    out = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", *extra_args],
        env=dict(env), stdout=out, stderr=out,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the API server on port {port} did not start within {timeout_s:.0f} s")
