"""API keys: 401 without a valid key, 403 with the wrong scope, hashed storage, no leaks."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.db import open_database
from api.keys import authenticate, create_key, hash_secret
from provenant.errors import InputError
from tests.api.conftest import bearer, small_settings, upload


@pytest.mark.parametrize("endpoint", ["/v1/sign", "/v1/watermark/embed"])
def test_sign_scope_endpoints_need_a_key(client: TestClient, clip: Path, endpoint: str) -> None:
    r = client.post(endpoint, files=upload(clip))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_generate_needs_a_key(client: TestClient) -> None:
    r = client.post("/v1/generate", json={"prompt": "a red ball"})
    assert r.status_code == 401


def test_wrong_scope_is_403(client: TestClient, clip: Path) -> None:
    r = client.post("/v1/sign", files=upload(clip), headers=bearer("verify"))
    assert r.status_code == 403
    assert "'sign' scope" in r.json()["error"]["message"]
    r = client.post("/v1/generate", json={"prompt": "x"}, headers=bearer("sign"))
    assert r.status_code == 403


def test_unknown_malformed_and_revoked_keys_are_401(client: TestClient, clip: Path) -> None:
    for header in ("Bearer pvk_000000000000_nope", "Bearer garbage", "Basic dXNlcjpwdw=="):
        r = client.post("/v1/sign", files=upload(clip), headers={"Authorization": header})
        assert r.status_code == 401, header
    secret, record = create_key(open_database(), ["sign"])
    assert open_database().revoke_key(record.key_id)
    r = client.post("/v1/sign", files=upload(clip), headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401


def test_an_invalid_key_on_a_read_endpoint_is_401_even_if_anonymous_is_allowed(
        client: TestClient, clip: Path) -> None:
    r = client.post("/v1/verify", files=upload(clip), headers={"Authorization": "Bearer bad"})
    assert r.status_code == 401


def test_reads_can_require_the_verify_scope(clip: Path) -> None:
    with TestClient(create_app(small_settings(allow_anonymous_read=False))) as c:
        assert c.post("/v1/verify", files=upload(clip)).status_code == 401
        assert c.get("/matches/byBinding", params={"alg": "a", "value": "b"}).status_code == 401
        assert c.post("/v1/verify", files=upload(clip), headers=bearer("sign")).status_code == 403
        r = c.post("/v1/verify", files=upload(clip), headers=bearer("verify"))
        assert r.status_code == 200
        assert c.get("/healthz").status_code == 200  # health stays open


def test_keys_are_stored_hashed_and_compared_by_hash() -> None:
    db = open_database()
    secret, record = create_key(db, ["verify", "sign"], name="ci")
    assert secret.startswith(f"pvk_{record.key_id}_")
    stored = db.get_key(record.key_id)
    assert stored is not None and stored.secret_hash == hash_secret(secret)
    assert secret not in repr(stored)
    principal = authenticate(db, secret)
    assert principal is not None and principal.scopes == ("verify", "sign")
    assert authenticate(db, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None


def test_bad_scopes_are_refused() -> None:
    with pytest.raises(InputError, match="allowed: verify, sign, generate"):
        create_key(open_database(), ["admin"])
    with pytest.raises(InputError):
        create_key(open_database(), [])


def test_keys_never_reach_the_log(client: TestClient, clip: Path,
                                  caplog: pytest.LogCaptureFixture) -> None:
    headers = bearer("sign")
    secret = headers["Authorization"].split()[1]
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/sign", files=upload(clip), headers=headers)
        client.post("/v1/generate", json={"prompt": "x"}, headers=headers)
        r = client.post("/v1/sign", files=upload(clip), headers={"Authorization": f"Bearer {secret}x"})
    assert secret not in caplog.text
    assert secret not in r.text
