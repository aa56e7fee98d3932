"""Jobs: ownership, states, a full queue, and recovery after a restart."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api.services
from api.app import create_app
from api.db import JobRecord, open_database
from api.jobs import RESTART_REASON, JobOutput
from tests.api.conftest import bearer, small_settings, upload
from tests.api.test_sign import wait_for


def test_a_job_is_visible_only_to_its_key(client: TestClient, clip: Path,
                                          sign_headers: dict[str, str]) -> None:
    job = client.post("/v1/sign?mode=job", files=upload(clip), headers=sign_headers).json()
    other = bearer("sign")
    assert client.get(f"/v1/jobs/{job['id']}", headers=other).status_code == 404
    assert client.get(f"/v1/jobs/{job['id']}/result", headers=other).status_code == 404
    assert client.get(f"/v1/jobs/{job['id']}").status_code == 401
    assert client.get(f"/v1/jobs/{job['id']}", headers=sign_headers).status_code == 200


def test_unknown_job_is_404(client: TestClient, sign_headers: dict[str, str]) -> None:
    for job_id in ("0" * 32, "../../etc", "x" * 500):
        r = client.get(f"/v1/jobs/{job_id}", headers=sign_headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def _blocking_runner(gate: threading.Event):
    def run(ctx):
        gate.wait(30)
        return JobOutput({"ok": True})
    return run


def test_full_job_queue_is_503_and_results_wait(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    monkeypatch.setitem(api.services.JOB_RUNNERS, "sign", _blocking_runner(gate))
    headers = bearer("sign")
    with TestClient(create_app(small_settings(job_workers=1, job_queue_size=1))) as c:
        first = c.post("/v1/sign?mode=job", files=upload(clip), headers=headers).json()
        second = c.post("/v1/sign?mode=job", files=upload(clip), headers=headers).json()
        r = c.post("/v1/sign?mode=job", files=upload(clip), headers=headers)
        assert r.status_code == 503 and r.json()["error"]["code"] == "overloaded"
        assert int(r.headers["Retry-After"]) > 0
        r = c.get(f"/v1/jobs/{second['id']}/result", headers=headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == "job_not_finished"
        gate.set()
        assert wait_for(c, first["id"], headers)["state"] == "succeeded"
        assert wait_for(c, second["id"], headers)["state"] == "succeeded"
        r = c.get(f"/v1/jobs/{second['id']}/result", headers=headers)
        assert r.status_code == 200 and r.json() == {"ok": True}  # no file: the facts


def test_a_failed_job_says_why(client: TestClient, sign_headers: dict[str, str], clip: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    from provenant.errors import SigningError

    def failing(ctx):
        raise SigningError(f"the SDK refused {ctx.workdir}/x.mp4")

    monkeypatch.setitem(api.services.JOB_RUNNERS, "sign", failing)
    job = client.post("/v1/sign?mode=job", files=upload(clip), headers=sign_headers).json()
    job = wait_for(client, job["id"], sign_headers)
    assert job["state"] == "failed"
    assert job["error"] == {"code": "signing", "message": "the SDK refused x.mp4"}
    r = client.get(f"/v1/jobs/{job['id']}/result", headers=sign_headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "job_failed"


def test_restart_fails_running_jobs_and_resumes_queued_ones(clip: Path) -> None:
    """As if a server died with one job running and one queued: the new server reports the
    first as failed with the reason and runs the second."""
    settings = small_settings()
    db = open_database()
    headers = bearer("sign")
    key_id = headers["Authorization"].split("_")[1]
    jobs_dir = settings.resolved_jobs_dir()
    (jobs_dir / "dead0001").mkdir(parents=True, exist_ok=True)
    (jobs_dir / "dead0002").mkdir(parents=True, exist_ok=True)
    queued_input = str(shutil.copy(clip, jobs_dir / "dead0002" / "input.mp4"))
    params = {"source_type": "digitalCapture", "title": None, "watermark": False,
              "suffix": ".mp4", "filename": "q.mp4"}
    db.insert_job(JobRecord("dead0001", "sign", "queued", key_id, None, params, None))
    assert db.claim_job("dead0001", "nohost.invalid:999999:gone")  # running on a dead server
    db.insert_job(JobRecord("dead0002", "sign", "queued", key_id, None, params, queued_input))
    with TestClient(create_app(settings)) as c:
        dead = c.get("/v1/jobs/dead0001", headers=headers).json()
        assert dead["state"] == "failed"
        assert dead["error"] == {"code": "server_restarted", "message": RESTART_REASON}
        resumed = wait_for(c, "dead0002", headers)
        assert resumed["state"] == "succeeded", resumed
        assert c.get("/v1/jobs/dead0002/result", headers=headers).content[4:8] == b"ftyp"
    assert not Path(queued_input).exists()  # inputs are removed once used


def test_expired_jobs_are_purged(clip: Path, sign_headers: dict[str, str]) -> None:
    settings = small_settings(job_ttl_s=0.01)
    with TestClient(create_app(settings)) as c:
        job = c.post("/v1/sign?mode=job", files=upload(clip), headers=sign_headers).json()
        assert wait_for(c, job["id"], sign_headers)["state"] == "succeeded"
        time.sleep(0.05)
        assert c.app.state.jobs.purge_expired() >= 1
        assert c.get(f"/v1/jobs/{job['id']}", headers=sign_headers).status_code == 404
    assert not (settings.resolved_jobs_dir() / job["id"]).exists()


@pytest.mark.parametrize("prefix_kept", [False, True])
def test_behind_a_reverse_proxy_under_a_path_prefix(prefix_kept: bool, tmp_path: Path,
                                                    sign_headers: dict[str, str]) -> None:
    """Served at https://host/provenant/ (``serve --root-path /provenant``): job URLs carry
    the prefix, and uploads work whether the request path holds it or not (uvicorn puts the
    root path in front of the path the proxy forwards; before, every such upload was held
    to the 64 KiB limit of JSON bodies: 413)."""
    from tests.conftest import make_clip

    big = tmp_path / "big.mp4"  # over 64 KiB
    make_clip(big, frames=48, h=240, w=320)
    assert big.stat().st_size > 64 * 1024
    base = "/provenant" if prefix_kept else ""
    with TestClient(create_app(small_settings()), root_path="/provenant",
                    raise_server_exceptions=False) as c:
        r = c.post(f"{base}/v1/sign?mode=job", files=upload(big), headers=sign_headers)
        assert r.status_code == 202, r.text
        assert r.headers["location"] == r.json()["status_url"]
        assert r.json()["status_url"].startswith("/provenant/v1/jobs/")
        assert c.post(f"{base}/v1/verify", files=upload(big)).status_code == 200
        assert c.get("/openapi.json").json()["servers"] == [{"url": "/provenant"}]
