"""RFC 3161 timestamps: a local timestamp authority's token is embedded and reported, and a
failing authority stops the signing with a clear error and nothing written."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest

from provenant.cli import main
from provenant.credentials import SigningCredentials
from provenant.errors import CredentialError, TimestampError
from provenant.manifest import read_manifest, sign_file
from tests.provenant.localtsa import local_tsa


def test_a_timestamp_authority_token_is_embedded_and_reported(creds, clip: Path, png: Path,
                                                              workdir: Path) -> None:
    with local_tsa() as tsa:
        for source in (clip, png):  # the appended-box path (MP4) and the SDK's own path
            out = workdir / f"stamped{source.suffix}"
            sign_file(source, out, replace(creds, tsa_url=tsa.url))
            ev = read_manifest(out)
            assert ev.state == "Valid"
            assert not [f for f in ev.failures if f.code.lower().startswith("timestamp")]
            when = dt.datetime.fromisoformat(ev.signed_at)
            assert abs(dt.datetime.now(dt.timezone.utc) - when) < dt.timedelta(minutes=5)
        assert tsa.requests == 2
    plain = workdir / "plain.mp4"
    sign_file(clip, plain, creds)
    assert read_manifest(plain).signed_at is None


def test_sign_tsa_url_reaches_the_authority_with_the_default_credentials(
        clip: Path, workdir: Path, capsys) -> None:
    out = workdir / "signed.mp4"
    with local_tsa() as tsa:
        assert main(["sign", str(clip), "-o", str(out), "--tsa-url", tsa.url]) == 0
        assert tsa.requests == 1  # the flag was dropped without --cert before
    capsys.readouterr()
    assert main(["verify", str(out)]) == 0
    assert "Timestamped by a timestamp authority: " in capsys.readouterr().out


@pytest.mark.parametrize("reply", ["garbage", "http-500", "rejection"])
def test_a_failing_authority_stops_the_signing_by_name(reply: str, creds, clip: Path,
                                                       workdir: Path, capsys) -> None:
    out = workdir / "signed.mp4"
    with local_tsa(reply) as tsa:
        with pytest.raises(TimestampError, match="timestamp authority .* gave no usable"):
            sign_file(clip, out, replace(creds, tsa_url=tsa.url))
        assert main(["sign", str(clip), "-o", str(out), "--tsa-url", tsa.url, "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "timestamp"
    assert not out.exists() and list(workdir.iterdir()) == []


def test_an_unreachable_authority_and_a_bad_url(creds, clip: Path, workdir: Path) -> None:
    with local_tsa() as tsa:
        url = tsa.url  # closed when the block ends: nothing listens there now
    with pytest.raises(TimestampError):
        sign_file(clip, workdir / "signed.mp4", replace(creds, tsa_url=url))
    with pytest.raises(CredentialError, match="not an http:// or https:// URL"):
        SigningCredentials(creds.cert_chain_pem, creds.private_key_pem, tsa_url="tsa.example")

