"""A server killed (SIGKILL) during a job and started again reports that job: the running one
failed with the reason, the queued one resumed and done."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.db import open_database
from api.localserver import start_local_server
from api.keys import create_key
from provenant.config import get_settings
from tests.api.conftest import free_port, upload
from tests.conftest import make_clip


def _start(port: int, env: dict[str, str]) -> subprocess.Popen:
    # uvicorn directly, as `provenant serve` runs it (the CLI's own start-up is tested apart).
    return start_local_server(port, env, quiet=True)


@pytest.fixture()
def server_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("PROVENANT_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    env = {**os.environ, "PROVENANT_DATA_DIR": str(tmp_path / "data"),
           "PROVENANT_API_JOB_WORKERS": "1"}
    yield env


def _state(http: httpx.Client, job_id: str, headers: dict[str, str]) -> dict:
    return http.get(f"/v1/jobs/{job_id}", headers=headers).json()


def test_a_killed_server_reports_its_jobs_after_restart(server_env: dict[str, str], clip: Path,
                                                        tmp_path: Path) -> None:
    big = make_clip(tmp_path / "big.mp4", frames=72, h=360, w=480)  # about a second of work
    secret, _ = create_key(open_database(), ["sign"])
    headers = {"Authorization": f"Bearer {secret}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(port, server_env)
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            long = http.post("/v1/watermark/embed?mode=job", files=upload(big), headers=headers,
                             data={"payload": "0123456789abcdef"}).json()
            queued = http.post("/v1/sign?mode=job", files=upload(clip), headers=headers).json()
            deadline = time.monotonic() + 30
            while _state(http, long["id"], headers)["state"] == "queued":
                assert time.monotonic() < deadline
                time.sleep(0.02)
            assert _state(http, long["id"], headers)["state"] == "running"
            assert _state(http, queued["id"], headers)["state"] == "queued"
            os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up
            proc.wait(10)
        proc = _start(port, server_env)
        with httpx.Client(base_url=base, timeout=60) as http:
            failed = _state(http, long["id"], headers)
            assert failed["state"] == "failed"
            assert failed["error"]["code"] == "server_restarted"
            assert "restarted while the job was running" in failed["error"]["message"]
            deadline = time.monotonic() + 60
            while _state(http, queued["id"], headers)["state"] in ("queued", "running"):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert _state(http, queued["id"], headers)["state"] == "succeeded"
            r = http.get(f"/v1/jobs/{queued['id']}/result", headers=headers)
            assert r.status_code == 200 and r.content[4:8] == b"ftyp"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
