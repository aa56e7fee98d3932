"""``/v1/generate``: 501 until the generator (with weights and the watermark stamper) is
installed; a job once it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api.services
from provenant.errors import CapabilityUnavailableError
from tests.api.conftest import bearer

PROMPT = "a red circle moving left on a blue background"
from tests.api.test_sign import wait_for


def test_generate_is_501_or_a_job(client: TestClient) -> None:
    headers = bearer("generate")
    r = client.post("/v1/generate", json={"prompt": PROMPT}, headers=headers)
    try:
        api.services.require_generator()
    except CapabilityUnavailableError:  # generator, its weights or the stamper missing
        assert r.status_code == 501
        assert r.json()["error"]["code"] == "capability_unavailable"
        assert "generator" in r.json()["error"]["message"]
    else:
        assert r.status_code == 202 and r.json()["kind"] == "generate"


def test_generate_refuses_a_prompt_outside_the_grammar(client: TestClient,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.services, "require_generator", lambda: None)
    r = client.post("/v1/generate", json={"prompt": "a purple elephant"},
                    headers=bearer("generate"))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "prompt" and "elephant" in r.json()["error"]["message"]


def test_generate_validates_its_body(client: TestClient) -> None:
    headers = bearer("generate")
    for body in ({}, {"prompt": ""}, {"prompt": "x", "frames": 0}, {"prompt": "x", "bogus": 1}):
        r = client.post("/v1/generate", json=body, headers=headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", body


def test_generate_bounds_stay_within_the_pipelines() -> None:
    from api.schemas import GenerateIn
    from generator.pipeline import MAX_FRAMES, MAX_GUIDANCE, MAX_STEPS

    def upper(name: str) -> float:
        return next(m.le for m in GenerateIn.model_fields[name].metadata if hasattr(m, "le"))

    assert upper("frames") <= MAX_FRAMES and upper("steps") <= MAX_STEPS
    assert upper("guidance") <= MAX_GUIDANCE


def test_generate_runs_as_a_job_through_the_generator_function(
        client: TestClient, clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job plumbing, with a stand-in for the generator's generate-and-stamp function."""
    from provenant.manifest import SignOptions
    from provenant.provenance import sign

    calls = []

    def generate_and_stamp(prompt: str, dst: Path, **options: object):
        calls.append((prompt, options))
        return sign(clip, dst, SignOptions(source_type="trainedAlgorithmicMedia"))

    monkeypatch.setattr(api.services, "require_generator", lambda: generate_and_stamp)
    headers = bearer("generate")
    r = client.post("/v1/generate", json={"prompt": PROMPT, "frames": 8, "seed": 3},
                    headers=headers)
    assert r.status_code == 202
    job = wait_for(client, r.json()["id"], headers)
    assert job["state"] == "succeeded", job
    assert calls == [(PROMPT, {"num_frames": 8, "seed": 3})]
    assert job["result"]["source_type"] == "trainedAlgorithmicMedia"
    out = client.get(job["result_url"], headers=headers)
    assert out.status_code == 200 and out.content[4:8] == b"ftyp"
