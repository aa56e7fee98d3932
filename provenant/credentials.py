"""Signing credentials: a local development CA, user certificate chains, and callback signers.

On first use Provenant creates, under ``<data dir>/dev-credentials``, a development root CA
and an ES256 signing certificate issued by it (renewed before it ends). Every name in them
says "Development": they prove nothing to anyone else and are trusted only where that CA is
configured as a trust anchor. Production deployments give their own chain and key (any key
type C2PA signs with, in the forms :mod:`provenant.signingkeys` reads), or a callback signer
whose ``sign(data) -> signature`` runs in a KMS or HSM.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from provenant.certchain import same_key, signing_order
from provenant.errors import CredentialError, notice
from provenant.signingkeys import (SigningAlg, check_validity, read_chain_pem, read_private_key,
                                   signing_alg_for)

__all__ = [
    "SigningCredentials",
    "DEV_ORGANIZATION",
    "ensure_dev_credentials",
    "load_credentials",
    "callback_credentials",
    "check_signing_certificate",
    "ec_p256_callback",
]

DEV_ORGANIZATION = "Provenant Development (not for production)"
_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
_ALLOWED_EKUS = {ExtendedKeyUsageOID.EMAIL_PROTECTION, _DOCUMENT_SIGNING}


@dataclass(frozen=True)
class SigningCredentials:
    """What the C2PA signer needs: a PEM chain (leaf first) and either a key or a callback."""

    cert_chain_pem: bytes
    private_key_pem: bytes | None = None
    sign_callback: Callable[[bytes], bytes] | None = None
    alg: SigningAlg = "es256"
    tsa_url: str | None = None
    development: bool = False

    def __post_init__(self) -> None:
        if self.tsa_url is not None and not self.tsa_url.startswith(("http://", "https://")):
            raise CredentialError(f"the timestamp authority URL {self.tsa_url!r} is not an "
                                  "http:// or https:// URL",
                                  hint="give an RFC 3161 timestamp authority's URL "
                                       "(--tsa-url, PROVENANT_TSA_URL)")

    @property
    def leaf(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.cert_chain_pem)[0]

    @property
    def signer_name(self) -> str:
        return _org_or_cn(self.leaf.subject)


def _org_or_cn(name: x509.Name) -> str:
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        attrs = name.get_attributes_for_oid(oid)
        if attrs:
            return str(attrs[0].value)
    return name.rfc4514_string()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _dev_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "Provenant Development Root CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
    ])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _dev_leaf(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, now: dt.datetime
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "Provenant Development Signer"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANIZATION),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(min(now + dt.timedelta(days=825), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, _DOCUMENT_SIGNING]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def ensure_dev_credentials(directory: Path) -> SigningCredentials:
    """Load the development credentials in ``directory``, creating them on first use.

    Files: ``ca.pem`` (the root, to configure as a trust anchor), ``ca.key``, ``signer.pem``
    (leaf then root) and ``signer.key``; keys are written with mode 0600. The signing
    certificate lives 825 days: within 30 days of its end a new one is issued by the same
    root, so the configured trust anchor stays valid (without this, every ``stamp`` and
    ``generate`` failed after 825 days with "the certificate was not valid at time of
    signing"). A root near its own end (ten years) is replaced with a notice; the old
    ``ca.pem`` is kept as ``ca-until-<date>.pem`` for the files it signed.
    """
    chain_path, key_path = directory / "signer.pem", directory / "signer.key"
    if not (chain_path.exists() and key_path.exists()):
        _create_dev_credentials(directory)
    creds = _read_dev_files(directory)
    if _needs_renewal(creds.leaf, dt.datetime.now(dt.timezone.utc)):
        with _dev_lock(directory, exclusive=True):
            now = dt.datetime.now(dt.timezone.utc)
            if _needs_renewal(_read_dev_files(directory).leaf, now):
                _renew_dev_signer(directory, now)
        creds = _read_dev_files(directory)
    return creds


_RENEW_BEFORE = dt.timedelta(days=30)


def _needs_renewal(leaf: x509.Certificate, now: dt.datetime) -> bool:
    return leaf.not_valid_after_utc - now < _RENEW_BEFORE


def _read_dev_files(directory: Path) -> SigningCredentials:
    """The chain and key as one pair: a read between a renewal's two renames sees a new key
    beside the old chain, and waits for the renewal to end."""
    def read() -> SigningCredentials:
        return SigningCredentials(cert_chain_pem=(directory / "signer.pem").read_bytes(),
                                  private_key_pem=(directory / "signer.key").read_bytes(),
                                  development=True)
    creds = read()
    if not _key_fits(creds):
        with _dev_lock(directory, exclusive=False):
            creds = read()
    return creds


def _key_fits(creds: SigningCredentials) -> bool:
    try:
        key = serialization.load_pem_private_key(creds.private_key_pem or b"", password=None)
    except ValueError:
        return False
    return _key_matches(key, creds.leaf)


def _key_matches(key: PrivateKeyTypes, cert: x509.Certificate) -> bool:
    """Whether ``key`` is the private half of ``cert``'s public key."""
    return same_key(key.public_key(), cert.public_key())


@contextlib.contextmanager
def _dev_lock(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """An advisory lock beside ``directory`` (none where the OS has no ``fcntl``)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock = directory.parent / f".{directory.name}.lock"
    with open(lock, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _renew_dev_signer(directory: Path, now: dt.datetime) -> None:
    """A new signing certificate from the same root; a new root too when it ends within the
    leaf's renewal margin. Each file is replaced by a rename, the key before the chain."""
    ca_cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    ca_key_path = directory / "ca.key"
    if ca_cert.not_valid_after_utc - now < 2 * _RENEW_BEFORE or not ca_key_path.exists():
        shutil.copyfile(directory / "ca.pem",
                        directory / f"ca-until-{ca_cert.not_valid_after_utc:%Y-%m-%d}.pem")
        ca_key, ca_cert = _dev_ca(now)
        _replace(directory / "ca.key", _pem_key(ca_key), private=True)
        _replace(directory / "ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
        notice(f"the development CA in {directory} reached its end and was replaced: configure "
               f"the new {directory / 'ca.pem'} as a trust anchor (the old one is kept beside it)")
    else:
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    leaf_key, leaf_cert = _dev_leaf(ca_key, ca_cert, now)
    _replace(directory / "signer.key", _pem_key(leaf_key), private=True)
    _replace(directory / "signer.pem", leaf_cert.public_bytes(serialization.Encoding.PEM)
             + ca_cert.public_bytes(serialization.Encoding.PEM))


def _replace(path: Path, data: bytes, *, private: bool = False) -> None:
    tmp = path.with_name(f".{path.name}.new")
    if private:
        _write_private(tmp, data)
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)


def _create_dev_credentials(directory: Path) -> None:
    """Create the development credentials in a new folder beside ``directory`` and move it
    into place with one rename, so processes that start together on a new machine (a batch
    of ``stamp`` runs, an API server's workers) all sign with one whole set: the first rename
    wins and the others' folders are dropped. Written in place, 10 of 40 stamps started at
    once failed (a key read half-written, a certificate beside another run's key), and the
    files left could pair a chain with another run's CA. A ``directory`` that holds a partial
    set (files deleted by hand) is filled in place."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        _write_dev_files(staging)  # mkdtemp's folder is private (0700), as the keys need
        try:
            os.rename(staging, directory)  # onto a missing or empty folder, atomically
            return
        except OSError:  # another process's set is in place, or a partial one is there
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not ((directory / "signer.pem").exists() and (directory / "signer.key").exists()):
        _write_dev_files(directory)


def _write_dev_files(directory: Path, now: dt.datetime | None = None) -> None:
    now = now or dt.datetime.now(dt.timezone.utc)
    ca_key, ca_cert = _dev_ca(now)
    leaf_key, leaf_cert = _dev_leaf(ca_key, ca_cert, now)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    _write_private(directory / "ca.key", _pem_key(ca_key))
    (directory / "ca.pem").write_bytes(ca_pem)
    _write_private(directory / "signer.key", _pem_key(leaf_key))
    (directory / "signer.pem").write_bytes(
        leaf_cert.public_bytes(serialization.Encoding.PEM) + ca_pem)


def check_signing_certificate(chain_pem: bytes) -> x509.Certificate:
    """Check the leaf against what C2PA validators require; raise :class:`CredentialError`."""
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise CredentialError(f"the certificate chain is not valid PEM: {exc}") from None
    leaf = certs[0]
    problems = []
    if leaf.version != x509.Version.v3:
        problems.append("it is not X.509 v3")
    if not leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME):
        problems.append("its subject has no O= (organization)")
    if leaf.subject == leaf.issuer:
        problems.append("it is self-signed (C2PA needs a certificate issued by a CA)")
    exts = {e.oid: e.value for e in leaf.extensions}
    ku = exts.get(x509.oid.ExtensionOID.KEY_USAGE)
    if ku is None or not ku.digital_signature:
        problems.append("KeyUsage lacks digitalSignature")
    eku = exts.get(x509.oid.ExtensionOID.EXTENDED_KEY_USAGE)
    if eku is None or not (set(eku) & _ALLOWED_EKUS):
        problems.append("ExtendedKeyUsage lacks emailProtection or documentSigning")
    if x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER not in exts:
        problems.append("it has no AuthorityKeyIdentifier")
    if problems:
        raise CredentialError("the signing certificate cannot sign C2PA manifests: " + "; ".join(problems))
    check_validity(certs)
    return leaf


def load_credentials(
    cert_chain: Path, private_key: Path, *, alg: SigningAlg | None = None,
    tsa_url: str | None = None, password: bytes | None = None,
) -> SigningCredentials:
    """A user's own chain (PEM, leaf first, or one DER certificate) and private key (PEM or
    DER: PKCS#8, SEC1 or PKCS#1; ``password`` opens a protected one). The algorithm follows
    from the certificate's key (EC P-256/384/521, RSA-PSS, Ed25519) unless ``alg`` names it."""
    for label, path in (("certificate chain", cert_chain), ("private key", private_key)):
        if not Path(path).is_file():
            raise CredentialError(f"the {label} file {path} does not exist")
    key, key_pem = read_private_key(Path(private_key).read_bytes(),
                                    f"private key {private_key}", password)
    label = f"certificate chain {cert_chain}"
    chain_pem = signing_order(read_chain_pem(Path(cert_chain).read_bytes(), label),
                              key.public_key(), label)
    leaf = check_signing_certificate(chain_pem)  # signing_order put the key's own first
    return SigningCredentials(chain_pem, key_pem, alg=_checked_alg(leaf, alg), tsa_url=tsa_url)


def _checked_alg(leaf: x509.Certificate, alg: SigningAlg | None) -> SigningAlg:
    """The algorithm for ``leaf``'s key; a given ``alg`` must fit that key."""
    natural = signing_alg_for(leaf.public_key())
    if alg is None:
        return natural
    family = {"es": "EC", "ps": "RSA", "ed": "Ed25519"}
    if alg[:2] != natural[:2] or (natural.startswith("es") and alg != natural):
        raise CredentialError(f"alg={alg!r} does not fit the certificate's "
                              f"{family[natural[:2]]} key",
                              hint=f"give alg={natural!r}, or leave it out")
    return alg


def callback_credentials(
    cert_chain_pem: bytes,
    sign: Callable[[bytes], bytes],
    *,
    alg: SigningAlg | None = None,
    tsa_url: str | None = None,
) -> SigningCredentials:
    """Credentials whose signature comes from ``sign(data) -> signature`` (a KMS or HSM hook).

    The algorithm follows from the certificate's key unless ``alg`` names it. For ECDSA
    algorithms the callback returns the raw ``r || s`` signature, as COSE requires;
    :func:`ec_p256_callback` shows how to produce it from a local key.
    """
    cert_chain_pem = signing_order(cert_chain_pem, None, "certificate chain")
    leaf = check_signing_certificate(cert_chain_pem)
    return SigningCredentials(cert_chain_pem, sign_callback=sign, alg=_checked_alg(leaf, alg),
                              tsa_url=tsa_url)


def ec_p256_callback(private_key_pem: bytes) -> Callable[[bytes], bytes]:
    """A callback that signs with a local P-256 key (reference for KMS/HSM integrations)."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CredentialError("ec_p256_callback needs an EC P-256 private key")

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign
