"""The C2PA soft-binding resolution API over the manifest store."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from provenant.store import ManifestRecord, open_store
from tests.api.conftest import upload

ALG = "io.provenant.watermark.v2"


def _register(manifest_id: str, value: str) -> None:
    open_store().register(ManifestRecord(manifest_id, signer="Test", ai_generated=True,
                                         soft_bindings=((ALG, value),)))


def test_by_binding_resolves_to_manifests(client: TestClient) -> None:
    _register("urn:c2pa:sb-1", "00000000000000a1")
    _register("urn:c2pa:sb-2", "00000000000000a1")
    r = client.get("/matches/byBinding", params={"alg": ALG, "value": "00000000000000a1"})
    assert r.status_code == 200
    matches = r.json()["matches"]
    assert {m["manifestId"] for m in matches} == {"urn:c2pa:sb-1", "urn:c2pa:sb-2"}
    assert all(m["similarityScore"] == 100 for m in matches)
    r = client.get("/matches/byBinding",
                   params={"alg": ALG, "value": "00000000000000a1", "maxResults": 1})
    assert len(r.json()["matches"]) == 1


def test_by_binding_without_matches_is_an_empty_list(client: TestClient) -> None:
    r = client.get("/matches/byBinding", params={"alg": ALG, "value": "ffffffffffffffff"})
    assert r.status_code == 200 and r.json() == {"matches": []}


def test_by_binding_needs_alg_and_value(client: TestClient) -> None:
    r = client.get("/matches/byBinding", params={"alg": ALG})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert "value" in r.json()["error"]["message"]


def test_manifest_by_id(client: TestClient) -> None:
    _register("urn:c2pa:sb-3", "00000000000000b2")
    r = client.get("/manifests/urn:c2pa:sb-3")
    assert r.status_code == 200
    body = r.json()
    assert body["manifest_id"] == "urn:c2pa:sb-3" and body["ai_generated"] is True
    assert body["soft_bindings"] == [{"alg": ALG, "value": "00000000000000b2"}]


def test_unknown_manifest_is_404_without_server_paths(client: TestClient) -> None:
    r = client.get("/manifests/urn:c2pa:nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert "store.sqlite3" not in r.text or "<data dir>" in r.text
    assert "/tmp" not in r.text


def test_supported_algorithms(client: TestClient) -> None:
    r = client.get("/services/supportedAlgorithms")
    assert r.status_code == 200
    assert {"alg": ALG} in r.json()["watermarks"] and r.json()["fingerprints"] == []


def test_by_content_and_the_signed_manifest(client: TestClient, clip2s: Path, workdir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A stripped copy's upload finds its manifest through the watermark it carries, and
    the manifest comes back as signed (application/c2pa), which validates on its own."""
    import provenant.provenance
    from provenant.manifest import read_manifest
    from provenant.media import iter_frames, write_video
    from watermark.evidence import stamper

    monkeypatch.setattr(provenant.provenance, "stampers", lambda: {"watermark": stamper})
    stamped = provenant.provenance.stamp(clip2s, workdir / "stamped.mp4")
    stripped = write_video(iter_frames(stamped.path), workdir / "stripped.mp4", fps=24, crf=23)
    r = client.post("/matches/byContent", files=upload(stripped))
    assert r.status_code == 200
    assert r.json()["matches"] == [{"manifestId": stamped.manifest_id, "similarityScore": 100}]
    # a record of the same payload whose mark another key made is not this upload's match
    payload = dict(open_store().get(stamped.manifest_id).soft_bindings)[ALG]
    open_store().register(ManifestRecord("urn:c2pa:sb-other-key", ai_generated=True,
                                         soft_bindings=((ALG, payload),),
                                         details={"watermark_key_id": "0badc0de"}))
    r = client.post("/matches/byContent", files=upload(stripped))
    assert r.json()["matches"] == [{"manifestId": stamped.manifest_id, "similarityScore": 100}]
    by_value = client.get("/matches/byBinding", params={"alg": ALG, "value": payload}).json()
    assert {m["manifestId"] for m in by_value["matches"]} == {stamped.manifest_id,
                                                               "urn:c2pa:sb-other-key"}
    assert client.post("/matches/byContent", files=upload(clip2s)).json() == {"matches": []}
    r = client.post("/matches/byContent", params={"alg": "com.example.other"},
                    files=upload(stripped))
    assert r.status_code == 422 and "com.example.other" in r.json()["error"]["message"]

    r = client.get(f"/manifests/{stamped.manifest_id}", headers={"Accept": "application/c2pa"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/c2pa"
    assert r.content == stamped.manifest_store
    evidence = read_manifest(stamped.path, manifest=r.content)  # validates against the file
    assert evidence.state == "Valid" and evidence.manifest_id == stamped.manifest_id
    assert client.get(f"/manifests/{stamped.manifest_id}").json()["manifest_id"] \
        == stamped.manifest_id  # JSON stays the default


def test_a_record_without_a_signed_copy_is_404_as_c2pa(client: TestClient) -> None:
    _register("urn:c2pa:sb-4", "00000000000000c3")
    r = client.get("/manifests/urn:c2pa:sb-4", headers={"Accept": "application/c2pa"})
    assert r.status_code == 404 and "signed copy" in r.json()["error"]["message"]
