"""Overload beyond the queue answers 503 with Retry-After; slow work answers 504; the bound
holds and uploads are removed in both cases."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api.routers.verify as verify_route
from api.app import create_app
from tests.api.conftest import leftovers, small_settings, upload


def test_requests_beyond_the_queue_get_503(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate, started = threading.Event(), threading.Event()

    def slow(*args: object, **kwargs: object) -> dict:
        started.set()
        gate.wait(30)
        raise RuntimeError("released")

    monkeypatch.setattr(verify_route, "verify_file", slow)
    settings = small_settings(workers=1, queue_size=0, retry_after_s=7)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        first = threading.Thread(target=c.post, args=("/v1/verify",),
                                 kwargs={"files": upload(clip)})
        first.start()
        assert started.wait(10)
        r = c.post("/v1/verify", files=upload(clip))
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "overloaded"
        assert r.headers["Retry-After"] == "7"
        assert "provenant_rejected_total{reason=\"overloaded\"} 1.0" in c.get("/metrics").text
        gate.set()
        first.join(10)
        assert c.get("/healthz").json()["inflight"] == 0
    assert leftovers(settings) == []


def test_slow_work_times_out_with_504_and_still_cleans_up(clip: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    done = threading.Event()

    def slow(*args: object, **kwargs: object) -> dict:
        time.sleep(1.0)
        done.set()
        return {}

    monkeypatch.setattr(verify_route, "verify_file", slow)
    settings = small_settings(workers=1, queue_size=0, request_timeout_s=0.2)
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/verify", files=upload(clip))
        assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
        # The worker still runs: its slot stays taken, so the bound holds.
        assert c.post("/v1/verify", files=upload(clip)).status_code == 503
        assert done.wait(10)
        deadline = time.monotonic() + 5
        while c.get("/healthz").json()["inflight"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert c.get("/healthz").json()["inflight"] == 0
    assert leftovers(settings) == []


def test_a_sign_that_times_out_leaves_no_files(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.services
    from api.jobs import JobOutput
    from tests.api.conftest import bearer

    done = threading.Event()

    def slow(ctx) -> JobOutput:
        (ctx.workdir / "partial.mp4").write_bytes(b"half")
        time.sleep(1.0)
        done.set()
        return JobOutput({}, ctx.workdir / "partial.mp4")

    monkeypatch.setitem(api.services.JOB_RUNNERS, "sign", slow)
    settings = small_settings(request_timeout_s=0.2)
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/sign", files=upload(clip), headers=bearer("sign"))
        assert r.status_code == 504
        assert done.wait(10)
        deadline = time.monotonic() + 5
        while leftovers(settings) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert leftovers(settings) == []
