"""``/healthz``, ``/v1/verify``, ``/v1/detect``, ``/v1/watermark/detect`` and ``/metrics``."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.settings import ApiSettings
from provenant.manifest import SignOptions
from provenant.provenance import sign
from tests.api.conftest import leftovers, upload


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Path:
    out = tmp_path_factory.mktemp("signed") / "signed.mp4"
    sign(clip, out, SignOptions(source_type="trainedAlgorithmicMedia"))
    return out


def test_healthz_reports_capabilities(client: TestClient) -> None:
    import time

    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["capacity"] == 4  # workers 2 + queue 2
    deadline = time.monotonic() + 60
    while not body["capabilities"] and time.monotonic() < deadline:  # found in the background
        time.sleep(0.05)
        body = client.get("/healthz").json()
    assert body["capabilities"]["c2pa"] is True
    assert body["capabilities"]["watermark"] is True


def test_verify_returns_the_report(client: TestClient, settings: ApiSettings, signed: Path) -> None:
    r = client.post("/v1/verify", files=upload(signed, "mine.mp4"))
    assert r.status_code == 200
    report = r.json()
    assert set(report) == {"file", "c2pa", "watermark", "recovered", "classifier", "verdict"}
    assert report["file"] == "mine.mp4"
    assert report["c2pa"]["present"] and report["c2pa"]["state"] == "Valid"
    assert report["verdict"]["label"] == "verified-ai-generated"
    assert leftovers(settings) == []


def test_verify_of_an_unsigned_image(client: TestClient, png: Path) -> None:
    r = client.post("/v1/verify", files=upload(png))
    assert r.status_code == 200
    report = r.json()
    assert report["c2pa"]["present"] is False and report["watermark"]["detected"] is False
    # No provenance at all: the classifier alone decides (this rendered still is synthetic).
    flagged = report["classifier"]["score"] >= report["classifier"]["threshold"]
    assert report["verdict"]["label"] == ("likely-ai-generated" if flagged else "no-evidence")


def test_verify_of_a_tampered_file_says_so(client: TestClient, signed: Path,
                                           workdir: Path) -> None:
    from provenant.boxes import flip_media_byte

    flip_media_byte(signed, workdir / "t.mp4")
    r = client.post("/v1/verify", files=upload(workdir / "t.mp4"))
    assert r.status_code == 200
    assert r.json()["verdict"]["label"] == "tampered"


def test_a_signed_image_that_no_longer_decodes_is_reported_not_refused(
    client: TestClient, settings: ApiSettings, png: Path, workdir: Path
) -> None:
    signed_png = sign(png, workdir / "s.png").path
    data = bytearray(signed_png.read_bytes())
    data[data.index(b"IDAT") + 8] ^= 0xFF  # the pixels' CRC fails: no decoder reads them
    (workdir / "damaged.png").write_bytes(bytes(data))
    r = client.post("/v1/verify", files=upload(workdir / "damaged.png", "photo.png"))
    assert r.status_code == 200
    report = r.json()
    assert report["file"] == "photo.png" and report["verdict"]["label"] == "tampered"
    assert "could not be read" in report["verdict"]["reasons"][-1]
    assert str(settings.resolved_upload_dir()) not in r.text  # no server paths
    unnamed = client.post("/v1/verify", files={"file": ("", png.read_bytes())})
    assert unnamed.status_code == 200 and unnamed.json()["file"] == "upload"


def test_detect_answers_a_score_or_501_never_a_fake(client: TestClient, clip2s: Path) -> None:
    r = client.post("/v1/detect", files=upload(clip2s))
    if r.status_code == 200:
        assert 0.0 <= r.json()["score"] <= 1.0 and r.json()["model"]
    else:  # no detector, or no trained weights yet
        assert r.status_code == 501
        assert r.json()["error"]["code"] == "capability_unavailable"
        assert "detector" in r.json()["error"]["message"]


def test_detect_is_501_without_the_detector(client: TestClient, clip: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import api.services
    import provenant.plugins

    monkeypatch.setattr(api.services, "_import", lambda name: None)
    monkeypatch.setattr(provenant.plugins, "evidence_providers", lambda: ())
    r = client.post("/v1/detect", files=upload(clip))
    assert r.status_code == 501
    assert r.json()["error"]["code"] == "capability_unavailable"
    assert "detector" in r.json()["error"]["message"]


def test_watermark_detect_finds_an_embedded_payload(client: TestClient, clip2s: Path,
                                                    workdir: Path) -> None:
    import watermark

    marked = watermark.embed_file(clip2s, workdir / "wm.mp4", "00112233445566ff")
    r = client.post("/v1/watermark/detect", files=upload(marked))
    assert r.status_code == 200
    body = r.json()
    assert body["detected"] is True and body["payload"] == "00112233445566ff"
    assert body["p_value"] < 1e-6 and len(body["bit_confidences"]) == 64
    assert body["false_positive_rate"] == 1e-6 and body["transform"] is None
    r = client.post("/v1/watermark/detect", files=upload(clip2s))
    assert r.json()["detected"] is False


def test_watermark_detect_says_when_the_copy_was_mirrored(client: TestClient, clip2s: Path,
                                                          workdir: Path) -> None:
    import numpy as np

    import watermark
    from provenant.media import iter_frames, probe, write_video

    marked = watermark.embed_file(clip2s, workdir / "wm.mp4", "00112233445566ff")
    mirrored = write_video((np.ascontiguousarray(f[:, ::-1]) for f in iter_frames(marked)),
                           workdir / "mirrored.mp4", fps=probe(marked).fps, crf=23)
    body = client.post("/v1/watermark/detect", files=upload(mirrored)).json()
    assert body["detected"] is True and body["payload"] == "00112233445566ff"
    assert body["transform"] == "mirrored"


def test_watermark_endpoints_are_501_without_the_component(client: TestClient, clip: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import api.services

    monkeypatch.setattr(api.services, "_import", lambda name: None)
    r = client.post("/v1/watermark/detect", files=upload(clip))
    assert r.status_code == 501 and "watermark" in r.json()["error"]["message"]
    assert api.services.capabilities()["watermark"] is False


def test_metrics_count_requests_and_verdicts(client: TestClient, signed: Path) -> None:
    client.post("/v1/verify", files=upload(signed))
    client.get("/nowhere")
    text = client.get("/metrics").text
    assert 'provenant_verdicts_total{label="verified-ai-generated"} 1.0' in text
    assert 'route="/v1/verify",status="200"' in text
    assert 'route="unmatched",status="404"' in text
    assert "provenant_http_request_duration_seconds_bucket" in text
    assert 'provenant_jobs_in_state{state="queued"}' in text


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/healthz", "/v1/verify", "/v1/detect", "/v1/watermark/detect",
            "/v1/watermark/embed", "/v1/sign", "/v1/generate", "/v1/jobs/{job_id}",
            "/v1/jobs/{job_id}/result", "/matches/byBinding", "/manifests/{manifest_id}",
            "/metrics"} <= paths
    body = spec["paths"]["/v1/verify"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body
    assert client.get("/docs").status_code == 200


def test_unexpected_errors_are_json_500_without_traceback(client: TestClient, clip: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import api.routers.verify as route

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(route, "verify_file", boom)
    r = client.post("/v1/verify", files=upload(clip))
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in r.text and "Traceback" not in r.text


def test_verify_recovers_a_stripped_manifest_through_the_watermark(
        client: TestClient, clip2s: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The main verification flow over HTTP, with the watermark's plug-ins as their entry
    points declare them: stamp, strip the metadata by re-encoding, verify, recover."""
    import provenant.provenance
    from provenant.media import iter_frames, write_video
    from watermark.evidence import provider, stamper

    monkeypatch.setattr(provenant.provenance, "stampers", lambda: {"watermark": stamper})
    monkeypatch.setattr(provenant.provenance, "evidence_providers", lambda: (provider,))
    stamped = provenant.provenance.stamp(clip2s, workdir / "stamped.mp4")
    stripped = write_video(iter_frames(stamped.path), workdir / "stripped.mp4", fps=24, crf=23)
    report = client.post("/v1/verify", files=upload(stripped)).json()
    assert report["c2pa"]["present"] is False
    assert report["watermark"]["detected"] is True
    assert report["recovered"]["manifest_id"] == stamped.manifest_id
    assert report["recovered"]["signed_manifest"]["state"] == "Valid"  # its signature checked
    assert report["verdict"]["label"] == "verified-ai-generated"


def test_verify_reports_what_the_library_reports_when_pictures_cannot_be_read(
        client: TestClient, settings: ApiSettings, png: Path, workdir: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The upload is not probed before verify: a signed file whose pictures no longer decode,
    and a format read for its content credentials alone, get a report, as on the CLI."""
    from provenant.credentials import ensure_dev_credentials
    from tests.provenant.test_credential_only import _sdk_sign
    from tests.provenant.test_provenance import _damage_png_pixels

    signed_png = sign(png, workdir / "s.png").path
    _damage_png_pixels(signed_png, workdir / "damaged.png")
    r = client.post("/v1/verify", files=upload(workdir / "damaged.png"))
    assert r.status_code == 200 and r.json()["verdict"]["label"] == "tampered"
    import numpy as np

    from tests.provenant.test_credential_only import save_dng

    tiff = save_dng(workdir / "a.dng", np.full((16, 16, 3), 120, np.uint8))
    r = client.post("/v1/verify", files=upload(tiff))
    assert r.status_code == 415 and "carries no C2PA manifest" in r.json()["error"]["message"]
    creds = ensure_dev_credentials(tmp_path_factory.mktemp("creds"))
    r = client.post("/v1/verify", files=upload(_sdk_sign(tiff, workdir / "s.dng", "image/tiff",
                                                         creds)))
    assert r.status_code == 200
    assert r.json()["c2pa"]["state"] == "Valid" and r.json()["watermark"] is None
    from tests.provenant.test_credential_only import _write_m4a

    memo = _write_m4a(workdir / "memo.m4a")  # sound alone, in an MP4
    r = client.post("/v1/verify", files=upload(memo))
    assert r.status_code == 415 and "sound recording" in r.json()["error"]["message"]
    r = client.post("/v1/verify", files=upload(_sdk_sign(memo, workdir / "s.m4a", "audio/mp4",
                                                         creds)))
    assert r.status_code == 200 and r.json()["c2pa"]["state"] == "Valid"
    assert leftovers(settings) == []


def test_a_fetched_manifest_is_checked_against_the_upload(client: TestClient, png: Path,
                                                          tmp_path: Path) -> None:
    from provenant.config import get_settings
    from provenant.credentials import ensure_dev_credentials
    from tests.conftest import sign_with_remote_link

    url = "https://credentials.example.com/m/1.c2pa"
    linked = tmp_path / "linked.png"
    manifest = sign_with_remote_link(png, linked, ensure_dev_credentials(
        get_settings().credentials_dir), url)
    alone = client.post("/v1/verify", files=upload(linked)).json()
    assert alone["c2pa"]["present"] is False and alone["c2pa"]["remote_url"] == url
    both = client.post("/v1/verify", files=[("file", ("linked.png", linked.read_bytes())),
                                             ("manifest", ("m.c2pa", manifest))])
    assert both.status_code == 200 and both.json()["c2pa"]["state"] == "Valid"
    assert both.json()["verdict"]["label"] == "signed-capture"
    bad = client.post("/v1/verify", files=[("file", ("linked.png", linked.read_bytes())),
                                            ("manifest", ("m.c2pa", b"not a manifest"))])
    assert bad.status_code == 422 and "not a C2PA manifest" in bad.json()["error"]["message"]
    empty = client.post("/v1/verify", files=[("file", ("linked.png", b"")),
                                              ("manifest", ("m.c2pa", manifest))])
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_file"
