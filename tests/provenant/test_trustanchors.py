"""Trust-anchor files as people have them: a damaged certificate is named, never read as a
tampered file; comments, other blocks and DER are accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provenant.cli import main
from provenant.config import get_settings
from provenant.errors import ConfigurationError, InputError
from provenant.manifest import read_manifest
from provenant.trustanchors import anchors_pem, read_anchors_file


def _root(creds) -> x509.Certificate:
    return x509.load_pem_x509_certificates(creds.cert_chain_pem)[-1]


def _pem(creds) -> bytes:
    return _root(creds).public_bytes(serialization.Encoding.PEM)


DAMAGED = b"-----BEGIN CERTIFICATE-----\nAAAAgarbage\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("which,extra", [("2 of 2", DAMAGED), ("2 of 2", None)])
def test_a_damaged_anchor_is_named_and_no_file_reads_as_tampered(
        which: str, extra: bytes | None, creds, signed: Path, workdir: Path, capsys) -> None:
    anchors = workdir / "anchors.pem"
    root = _pem(creds)
    anchors.write_bytes(root + (extra if extra is not None else root[:300]))  # or cut short
    with pytest.raises(InputError, match=f"certificate {which} is damaged"):
        read_anchors_file(anchors)
    assert main(["verify", str(signed), "--trust-anchors", str(anchors), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert "damaged" in out["error"]["message"] and "tampered" not in json.dumps(out)


def test_comments_other_blocks_and_der_are_accepted(creds, signed: Path, workdir: Path) -> None:
    key = creds.private_key_pem
    mixed = workdir / "bundle.pem"
    mixed.write_bytes("# racine de l'\u00e9diteur\n".encode("latin-1") + _pem(creds) + key)
    der = workdir / "root.der"
    der.write_bytes(_root(creds).public_bytes(serialization.Encoding.DER))
    for path in (mixed, der):
        assert read_anchors_file(path) == _pem(creds)  # the certificate alone, as PEM
        assert read_manifest(signed, path).state == "Trusted"
    (workdir / "none.pem").write_bytes(b"no certificates here")
    with pytest.raises(InputError, match="holds no certificate"):
        read_anchors_file(workdir / "none.pem")


def test_a_whole_certificate_that_a_strict_parser_refuses_is_kept() -> None:
    # one complete DER SEQUENCE (system bundles hold roots newer parsers reject)
    block = b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n"
    assert anchors_pem(block, "test") == block
    with pytest.raises(InputError, match="certificate 1 of 1 is damaged"):
        anchors_pem(b"-----BEGIN CERTIFICATE-----\nMAQCAQA=\n-----END CERTIFICATE-----\n", "t")


def test_a_damaged_configured_anchor_file_names_the_setting(signed: Path, workdir: Path,
                                                            monkeypatch) -> None:
    from provenant.provenance import verify

    bad = workdir / "anchors.pem"
    bad.write_bytes(DAMAGED)
    monkeypatch.setenv("PROVENANT_TRUST_ANCHORS", str(bad))
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="PROVENANT_TRUST_ANCHORS: .* damaged"):
        verify(signed)
    assert main(["serve", "--port", "1"]) == 2  # refused before the server starts
