"""``POST /v1/watermark/audit``: a job whose result is the attack-by-attack audit."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from provenant.media import write_image
from provenant.samples import render_clip
from tests.api.conftest import bearer, upload
from tests.api.test_sign import wait_for


def _marked(client: TestClient, clip2s: Path, sign_headers: dict[str, str]) -> bytes:
    r = client.post("/v1/watermark/embed", files=upload(clip2s), headers=sign_headers,
                    data={"payload": "a1b2c3d4e5f60718"})
    assert r.status_code == 200, r.text
    return r.content


def test_audit_job_reports_each_attack(client: TestClient, clip2s: Path,
                                       sign_headers: dict[str, str]) -> None:
    marked = _marked(client, clip2s, sign_headers)
    headers = bearer("verify")
    r = client.post("/v1/watermark/audit", files={"file": ("holiday.mp4", marked)},
                    headers=headers, data={"attacks": "none, h264_crf28,blur_1", "seed": "3"})
    assert r.status_code == 202, r.text
    job = wait_for(client, r.json()["id"], headers)
    assert job["state"] == "succeeded", job
    audit = job["result"]
    assert audit["file"] == "holiday.mp4" and audit["payload"] == "a1b2c3d4e5f60718"
    assert [o["attack"] for o in audit["outcomes"]] == ["none", "h264_crf28", "blur_1"]
    assert audit["outcomes"][0]["exact"] and audit["seed"] == 3
    assert audit["summary"]["survived"] == sum(o["exact"] for o in audit["outcomes"])
    assert audit["outcomes"][1]["p_value"] > audit["outcomes"][0]["p_value"]  # CRF 28 costs
    assert client.get(job["result_url"], headers=headers).json() == audit


def test_an_image_upload_is_audited_with_the_image_suite(client: TestClient, workdir: Path,
                                                         sign_headers: dict[str, str]) -> None:
    photo = write_image(next(render_clip(1, 192, 256, seed=4)), workdir / "photo.webp")
    r = client.post("/v1/watermark/embed", files=upload(photo), headers=sign_headers,
                    data={"payload": "a1b2c3d4e5f60718"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp", r.text
    headers = bearer("verify")
    files = {"file": ("photo.webp", r.content)}
    bad = client.post("/v1/watermark/audit", files=files, headers=headers,
                      data={"attacks": "h264_crf28"})
    assert bad.status_code == 422 and "this image" in bad.json()["error"]["message"]
    r = client.post("/v1/watermark/audit", files=files, headers=headers,
                    data={"attacks": "none,jpeg_75"})
    assert r.status_code == 202, r.text
    job = wait_for(client, r.json()["id"], headers)
    assert job["state"] == "succeeded", job.get("error")
    audit = job["result"]
    assert audit["kind"] == "image" and audit["file"] == "photo.webp"
    assert [o["exact"] for o in audit["outcomes"]] == [True, True]


def test_audit_needs_a_key_and_valid_fields(client: TestClient, clip2s: Path) -> None:
    files = upload(clip2s)
    assert client.post("/v1/watermark/audit", files=files).status_code == 401
    headers = bearer("verify")
    for data, word in (({"attacks": "none,nope"}, "nope"), ({"seconds": "60"}, "seconds"),
                       ({"seconds": "nan"}, "seconds"), ({"seed": "-1"}, "seed"),
                       ({"payload": "xyz"}, "payload")):
        r = client.post("/v1/watermark/audit", files=files, headers=headers, data=data)
        assert r.status_code == 422, (data, r.text)
        assert word in r.json()["error"]["message"].lower() or r.json()["error"]["code"] == word


def test_audit_of_an_unmarked_upload_fails_with_a_reason(client: TestClient,
                                                         clip2s: Path) -> None:
    headers = bearer("verify")
    r = client.post("/v1/watermark/audit", files=upload(clip2s, "holiday.mp4"),
                    headers=headers, data={"attacks": "none"})
    job = wait_for(client, r.json()["id"], headers)
    assert job["state"] == "failed"
    message = job["error"]["message"]
    assert message.startswith("holiday.mp4 carries no watermark"), message
    assert str(Path.cwd()) not in message and "input" not in message


def test_a_job_failing_on_damaged_pictures_names_the_clients_file(client: TestClient,
                                                                   clip2s: Path) -> None:
    data = bytearray(clip2s.read_bytes())
    at = data.index(b"mdat")
    end = at - 4 + int.from_bytes(data[at - 4:at], "big")
    data[at + 2000:end] = bytes(end - at - 2000)  # headers intact, most pictures zeroed
    headers = bearer("verify")
    r = client.post("/v1/watermark/audit", files={"file": ("holiday.mp4", bytes(data))},
                    headers=headers, data={"attacks": "none", "payload": "a1b2c3d4e5f60718"})
    assert r.status_code == 202, r.text
    job = wait_for(client, r.json()["id"], headers)
    message = job["error"]["message"]
    assert job["state"] == "failed" and "holiday.mp4" in message, message
    assert "input.mp4" not in message


def test_hints_are_worded_for_http_clients(client: TestClient, clip2s: Path,
                                           sign_headers: dict[str, str]) -> None:
    r = client.post("/v1/watermark/embed", files=upload(clip2s), headers=sign_headers,
                    data={"payload": "xyz"})
    error = r.json()["error"]
    assert r.status_code == 422 and error["code"] == "payload"
    assert "16 hexadecimal digits" in error["hint"] and "--" not in error["hint"]
