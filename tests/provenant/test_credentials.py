"""Signing credentials: every key type and form a CA or OpenSSL hands out, validity dates, and
the development certificate's renewal."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenant.credentials import (_write_dev_files, callback_credentials,
                                   ensure_dev_credentials, load_credentials)
from provenant.errors import CredentialError, ProvenanceWarning
from provenant.manifest import read_manifest, sign_file

NOW = dt.datetime.now(dt.timezone.utc)
PKCS8 = serialization.PrivateFormat.PKCS8
TRADITIONAL = serialization.PrivateFormat.TraditionalOpenSSL


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Newsroom")])


def _chain(leaf_key, *, start_days: int = -1, end_days: int = 30):
    """A CA (P-256) and a C2PA-fit leaf for ``leaf_key``, dated from now (not from import:
    a leaf of seconds would be over before it is used); returns (ca_cert, leaf_cert)."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("CA")).issuer_name(_name("CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=400))
          .not_valid_after(now + dt.timedelta(days=400))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(_name("Signer")).issuer_name(ca.subject)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=start_days))
            .not_valid_after(now + dt.timedelta(days=end_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return ca, leaf


def _files(folder: Path, leaf_key, *, key_format=PKCS8, encoding=serialization.Encoding.PEM,
           password: bytes | None = None, **validity) -> tuple[Path, Path, bytes]:
    ca, leaf = _chain(leaf_key, **validity)
    pem = serialization.Encoding.PEM
    chain, key = folder / "chain.pem", folder / "signer.key"
    if encoding == pem:
        chain.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    else:
        chain.write_bytes(leaf.public_bytes(encoding))
    crypt = (serialization.BestAvailableEncryption(password) if password
             else serialization.NoEncryption())
    key.write_bytes(leaf_key.private_bytes(encoding, key_format, crypt))
    return chain, key, ca.public_bytes(pem)


KEYS = {
    "ec-p256": (lambda: ec.generate_private_key(ec.SECP256R1()), "es256"),
    "ec-p384": (lambda: ec.generate_private_key(ec.SECP384R1()), "es384"),
    "ec-p521": (lambda: ec.generate_private_key(ec.SECP521R1()), "es512"),
    "rsa-2048": (lambda: rsa.generate_private_key(65537, 2048), "ps256"),
    "ed25519": (ed25519.Ed25519PrivateKey.generate, "ed25519"),
}


@pytest.mark.parametrize("kind", sorted(KEYS))
def test_every_key_type_a_ca_issues_signs_a_trusted_manifest(kind: str, clip: Path,
                                                             workdir: Path) -> None:
    make, alg = KEYS[kind]
    chain, key, ca_pem = _files(workdir, make())
    creds = load_credentials(chain, key)
    assert creds.alg == alg and creds.private_key_pem.startswith(b"-----BEGIN PRIVATE KEY")
    out = workdir / "signed.mp4"
    sign_file(clip, out, creds)
    ev = read_manifest(out, ca_pem)
    assert ev.state == "Trusted" and ev.failures == [] and ev.signer == "Test Newsroom"


@pytest.mark.parametrize("kind,key_format,encoding", [
    ("ec-p256", TRADITIONAL, serialization.Encoding.PEM),   # BEGIN EC PRIVATE KEY (SEC1)
    ("rsa-2048", TRADITIONAL, serialization.Encoding.PEM),  # BEGIN RSA PRIVATE KEY (PKCS#1)
    ("rsa-2048", PKCS8, serialization.Encoding.DER),        # DER key and DER certificate
])
def test_the_key_forms_openssl_writes_are_read(kind: str, key_format, encoding, png: Path,
                                               workdir: Path) -> None:
    chain, key, ca_pem = _files(workdir, KEYS[kind][0](), key_format=key_format,
                                encoding=encoding)
    out = workdir / "signed.png"
    sign_file(png, out, load_credentials(chain, key))
    assert read_manifest(out, ca_pem).state == "Trusted"


def test_a_protected_key_needs_its_passphrase(clip: Path, workdir: Path) -> None:
    chain, key, ca_pem = _files(workdir, KEYS["ec-p384"][0](), password=b"s3cret")
    with pytest.raises(CredentialError, match="protected by a passphrase") as err:
        load_credentials(chain, key)
    assert "PROVENANT_SIGN_KEY_PASSWORD" in err.value.hint
    with pytest.raises(CredentialError, match="passphrase is wrong"):
        load_credentials(chain, key, password=b"guess")
    out = workdir / "signed.mp4"
    sign_file(clip, out, load_credentials(chain, key, password=b"s3cret"))
    assert read_manifest(out, ca_pem).state == "Trusted"
    plain_chain, plain_key, _ = _files(workdir, KEYS["ec-p256"][0]())
    with pytest.raises(CredentialError, match="not encrypted"):
        load_credentials(plain_chain, plain_key, password=b"s3cret")


def test_the_passphrase_setting_reaches_the_cli(clip: Path, workdir: Path, monkeypatch,
                                                capsys) -> None:
    from provenant.cli import main

    chain, key, ca_pem = _files(workdir, KEYS["rsa-2048"][0](), password=b"pw")
    out = workdir / "signed.mp4"
    args = ["sign", str(clip), "-o", str(out), "--cert", str(chain), "--key", str(key)]
    assert main(args) == 2 and not out.exists()
    assert "PROVENANT_SIGN_KEY_PASSWORD" in capsys.readouterr().err
    monkeypatch.setenv("PROVENANT_SIGN_KEY_PASSWORD", "pw")
    from provenant.config import get_settings
    get_settings.cache_clear()
    assert main(args) == 0
    assert read_manifest(out, ca_pem).state == "Trusted"


@pytest.mark.parametrize("start,end,words", [(-60, -1, "expired on"), (2, 60, "not valid until")])
def test_a_certificate_outside_its_dates_is_refused_by_name(start: int, end: int, words: str,
                                                            workdir: Path) -> None:
    chain, key, _ = _files(workdir, KEYS["ec-p256"][0](), start_days=start, end_days=end)
    with pytest.raises(CredentialError, match=words) as err:
        load_credentials(chain, key)
    assert "Signer" in str(err.value) and err.value.exit_code == 2


def test_unusable_keys_and_algorithms_are_named(workdir: Path) -> None:
    chain, key, _ = _files(workdir, rsa.generate_private_key(65537, 1024))
    with pytest.raises(CredentialError, match="RSA of 1024 bits"):
        load_credentials(chain, key)
    chain, key, _ = _files(workdir, ec.generate_private_key(ec.SECP256K1()))
    with pytest.raises(CredentialError, match="curve secp256k1"):
        load_credentials(chain, key)
    chain, key, _ = _files(workdir, KEYS["ec-p384"][0]())
    with pytest.raises(CredentialError, match="does not fit the certificate's EC key"):
        load_credentials(chain, key, alg="es256")
    (workdir / "junk.key").write_bytes(b"not a key")
    with pytest.raises(CredentialError, match="cannot be read"):
        load_credentials(chain, workdir / "junk.key")


def test_a_callback_signer_takes_its_algorithm_from_the_certificate(workdir: Path) -> None:
    chain, key, _ = _files(workdir, KEYS["ed25519"][0]())
    creds = callback_credentials(chain.read_bytes(), lambda data: b"")
    assert creds.alg == "ed25519"


def _leaf(directory: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates((directory / "signer.pem").read_bytes())[0]


def test_an_expiring_dev_certificate_is_renewed_under_the_same_root(clip: Path,
                                                                    tmp_path: Path) -> None:
    folder = tmp_path / "dev"
    folder.mkdir()
    _write_dev_files(folder, NOW - dt.timedelta(days=810))  # the leaf ends in 15 days
    ca_pem, old_leaf = (folder / "ca.pem").read_bytes(), _leaf(folder)
    assert old_leaf.not_valid_after_utc - NOW < dt.timedelta(days=30)
    creds = ensure_dev_credentials(folder)
    assert (folder / "ca.pem").read_bytes() == ca_pem
    assert creds.leaf.not_valid_after_utc - NOW > dt.timedelta(days=800)
    assert creds.leaf.serial_number != old_leaf.serial_number
    assert (folder / "signer.key").stat().st_mode & 0o777 == 0o600
    out = tmp_path / "signed.mp4"
    sign_file(clip, out, creds)
    assert read_manifest(out, ca_pem).state == "Trusted"  # the anchor configured before
    assert ensure_dev_credentials(folder).leaf.serial_number == creds.leaf.serial_number


def test_an_ending_dev_root_is_replaced_with_a_notice_and_kept(clip: Path,
                                                               tmp_path: Path) -> None:
    folder = tmp_path / "dev"
    folder.mkdir()
    _write_dev_files(folder, NOW - dt.timedelta(days=3640))  # the root ends in 10 days
    old_ca = (folder / "ca.pem").read_bytes()
    with pytest.warns(ProvenanceWarning, match="development CA .* was replaced"):
        creds = ensure_dev_credentials(folder)
    assert (folder / "ca.pem").read_bytes() != old_ca
    kept = list(folder.glob("ca-until-*.pem"))
    assert len(kept) == 1 and kept[0].read_bytes() == old_ca
    out = tmp_path / "signed.mp4"
    sign_file(clip, out, creds)
    assert read_manifest(out, folder / "ca.pem").state == "Trusted"


def test_a_certificate_that_expires_after_signing_is_no_sign_of_tampering(
        png: Path, workdir: Path) -> None:
    import time

    from provenant.provenance import verify
    from tests.provenant.localtsa import local_tsa

    chain, key, ca_pem = _files(workdir, KEYS["ec-p256"][0](), end_days=3 / 86400)  # 3 s
    creds = load_credentials(chain, key)
    plain, stamped = workdir / "plain.png", workdir / "stamped.png"
    sign_file(png, plain, creds)
    with local_tsa() as tsa:
        sign_file(png, stamped, replace(creds, tsa_url=tsa.url))
        anchors = ca_pem + tsa.ca_pem
    time.sleep(max(0.0, (creds.leaf.not_valid_after_utc - dt.datetime.now(
        dt.timezone.utc)).total_seconds()) + 1.5)
    report = verify(plain, trust_anchors=anchors)
    assert report.c2pa.state == "Invalid"  # as the SDK validates: no time shown for the signing
    assert "signingCredential.expired" in [f.code for f in report.c2pa.failures]
    assert report.verdict.label == "signed-capture"  # before: "tampered", a false accusation
    assert any("no sign of tampering" in r for r in report.verdict.reasons)
    stamped_report = verify(stamped, trust_anchors=anchors)  # the timestamp keeps it valid
    assert stamped_report.c2pa.state == "Trusted" and stamped_report.c2pa.signed_at
