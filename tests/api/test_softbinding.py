"""The C2PA soft-binding resolution API over the manifest store."""

from __future__ import annotations

from fastapi.testclient import TestClient

from provenant.store import ManifestRecord, open_store

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
