"""Signing chains as CA bundles come: in any order, with extra certificates or a private key
in the same file, or without the intermediate that leads to the verifiers' anchors."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import provenant.provenance as prov
from provenant.certchain import reaches_anchor, signing_order
from provenant.credentials import callback_credentials, ec_p256_callback, load_credentials
from provenant.errors import CredentialError, ProvenanceWarning
from provenant.manifest import read_manifest
from provenant.store import ManifestStore

PEM = serialization.Encoding.PEM


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Newsroom")])


def _cert(cn: str, key, issuer: x509.Name, issuer_key, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=90))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=1 if ca else None), critical=True)
         .add_extension(x509.KeyUsage(not ca, False, False, False, False, ca, ca, False, False),
                        critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                        critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), critical=False))
    if not ca:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                            critical=False)
    return b.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki():
    """A root, an intermediate it issued, a signer the intermediate issued, and its key."""
    rk, ik, sk = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _cert("Root", rk, _name("Root"), rk, ca=True)
    inter = _cert("Intermediate", ik, root.subject, rk, ca=True)
    signer = _cert("Signer", sk, inter.subject, ik, ca=False)
    return {"root": root, "inter": inter, "signer": signer, "key": sk, "inter_key": ik}


def _files(folder: Path, pki, order: list[str], extra: bytes = b"") -> tuple[Path, Path]:
    chain, key = folder / "chain.pem", folder / "signer.key"
    chain.write_bytes(extra + b"".join(pki[n].public_bytes(PEM) for n in order))
    key.write_bytes(pki["key"].private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    return chain, key


def _subjects(chain_pem: bytes) -> list[str]:
    return [c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
            for c in x509.load_pem_x509_certificates(chain_pem)]


@pytest.mark.parametrize("order", [["signer", "inter"], ["signer", "root", "inter"],
                                   ["inter", "signer"], ["root", "inter", "signer"],
                                   ["signer", "inter", "root"]])
def test_a_chain_in_any_order_signs_a_trusted_manifest(order: list[str], pki, png: Path,
                                                       workdir: Path) -> None:
    """Out of order, the signer's chain verified untrusted under its root (signer, root,
    intermediate) or was refused with the intermediate taken for the signer."""
    chain, key = _files(workdir, pki, order)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        creds = load_credentials(chain, key)
    said = [str(w.message) for w in caught if issubclass(w.category, ProvenanceWarning)]
    in_order = order[:2] == ["signer", "inter"]
    assert bool(said) is not in_order and all("signing order" in s for s in said)
    assert _subjects(creds.cert_chain_pem) == ["Signer", "Intermediate", "Root"][:len(order)]
    out = prov.sign(png, workdir / "signed.png", credentials=creds,
                    store=ManifestStore(workdir / "s.db")).path
    root = pki["root"].public_bytes(PEM)
    assert read_manifest(out, root).state == "Trusted"


def test_other_pem_blocks_and_strangers_are_left_out(pki, workdir: Path) -> None:
    """A file that holds the private key too, and a certificate off the signer's path."""
    other_key = ec.generate_private_key(ec.SECP256R1())
    stranger = _cert("Stranger", other_key, _name("Stranger"), other_key, ca=True)
    key_pem = pki["key"].private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    chain, key = _files(workdir, pki, ["signer", "inter"],
                        extra=key_pem + stranger.public_bytes(PEM))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        creds = load_credentials(chain, key)
    said = " ".join(str(w.message) for w in caught)
    assert "left out: Stranger" in said and "signing order" in said  # the stranger came first
    assert b"PRIVATE KEY" not in creds.cert_chain_pem
    assert _subjects(creds.cert_chain_pem) == ["Signer", "Intermediate"]


def test_a_key_of_no_certificate_in_the_chain_is_named(pki, workdir: Path) -> None:
    chain, _ = _files(workdir, pki, ["signer", "inter"])
    wrong = workdir / "wrong.key"
    wrong.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(CredentialError, match="matches none of the 2 certificates"):
        load_credentials(chain, wrong)
    ca_key = workdir / "ca.key"  # the intermediate's key given for the signer's
    ca_key.write_bytes(pki["inter_key"].private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(CredentialError, match="CA certificate Intermediate"):
        load_credentials(chain, ca_key)


def test_a_callback_signer_gets_its_chain_ordered(pki) -> None:
    chain = b"".join(pki[n].public_bytes(PEM) for n in ("root", "inter", "signer"))
    key_pem = pki["key"].private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    with pytest.warns(ProvenanceWarning, match="signing order"):
        creds = callback_credentials(chain, ec_p256_callback(key_pem))
    assert _subjects(creds.cert_chain_pem) == ["Signer", "Intermediate", "Root"]
    assert signing_order(creds.cert_chain_pem, None, "chain") == creds.cert_chain_pem


def test_a_chain_that_misses_its_intermediate_is_said_at_signing(
        pki, png: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signed alone, the signer's certificate verifies untrusted to everyone who holds only
    the root; with the newsroom's anchors configured, signing says so."""
    anchors = workdir / "anchors.pem"
    anchors.write_bytes(pki["root"].public_bytes(PEM))
    monkeypatch.setenv("PROVENANT_TRUST_ANCHORS", str(anchors))
    store = ManifestStore(workdir / "s.db")
    alone = load_credentials(*_files(workdir, pki, ["signer"]))
    assert not reaches_anchor(alone.cert_chain_pem, anchors.read_bytes())
    with pytest.warns(ProvenanceWarning, match="intermediate certificate is missing"):
        out = prov.sign(png, workdir / "alone.png", credentials=alone, store=store).path
    assert read_manifest(out, anchors).state == "Valid"  # what the notice warned of
    whole = load_credentials(*_files(workdir, pki, ["signer", "inter"]))
    assert reaches_anchor(whole.cert_chain_pem, anchors.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProvenanceWarning)
        prov.sign(png, workdir / "whole.png", credentials=whole, store=store)
        prov.sign(png, workdir / "dev.png", store=store)  # development credentials: no notice
