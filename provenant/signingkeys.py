"""Reading a user's signing key and chain in the forms CAs and OpenSSL hand out.

The C2PA SDK takes one form only: an unencrypted PKCS#8 PEM key (``BEGIN PRIVATE KEY``) and
a PEM chain, with the algorithm named to match the key. Users hold SEC1 (``BEGIN EC PRIVATE
KEY``, what ``openssl ecparam -genkey`` writes), PKCS#1 (``BEGIN RSA PRIVATE KEY``),
passphrase-protected or DER keys, DER certificates, and RSA, P-384, P-521 or Ed25519 keys:
each of these made signing fail with an SDK message about PEM labels or an "ES256 private
key". Here the key is read in any of those forms, re-encoded as PKCS#8 in memory (never
written), and the algorithm follows from the certificate's key.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from provenant.errors import CredentialError

__all__ = ["SigningAlg", "signing_alg_for", "read_chain_pem", "read_private_key",
           "check_validity", "MIN_RSA_BITS"]

SigningAlg = Literal["es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"]
#: C2PA (like every current CA rule set) refuses RSA keys shorter than this.
MIN_RSA_BITS = 2048
_CURVE_ALGS: dict[str, SigningAlg] = {"secp256r1": "es256", "secp384r1": "es384",
                                      "secp521r1": "es512"}
_SUPPORTED = "EC P-256, P-384 or P-521, RSA of at least 2048 bits (RSA-PSS), or Ed25519"


def signing_alg_for(public_key: PublicKeyTypes) -> SigningAlg:
    """The C2PA signing algorithm for a certificate's public key."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        alg = _CURVE_ALGS.get(public_key.curve.name)
        if alg is None:
            raise CredentialError(f"the signing key is on the curve {public_key.curve.name}, "
                                  "which C2PA does not sign with", hint=f"use {_SUPPORTED}")
        return alg
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise CredentialError(f"the signing key is RSA of {public_key.key_size} bits; "
                                  f"C2PA needs at least {MIN_RSA_BITS}", hint=f"use {_SUPPORTED}")
        return "ps256"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "ed25519"
    raise CredentialError(f"the signing key is a {type(public_key).__name__.removeprefix('_')}, "
                          "which C2PA does not sign with", hint=f"use {_SUPPORTED}")


def read_chain_pem(data: bytes, label: str) -> bytes:
    """The chain as PEM: PEM as given, or one DER certificate converted."""
    if b"-----BEGIN" in data:
        return data
    try:
        cert = x509.load_der_x509_certificate(data)
    except ValueError:
        raise CredentialError(f"the {label} is neither a PEM chain nor a DER certificate",
                              hint="give the certificate chain as PEM, leaf first") from None
    return cert.public_bytes(serialization.Encoding.PEM)


def read_private_key(data: bytes, label: str, password: bytes | None = None
                     ) -> tuple[PrivateKeyTypes, bytes]:
    """The key from PEM (PKCS#8, SEC1 or PKCS#1) or DER, decrypted with ``password`` when it
    is protected; returns it with its unencrypted PKCS#8 PEM, the form the SDK reads."""
    loader = (serialization.load_pem_private_key if b"-----BEGIN" in data
              else serialization.load_der_private_key)
    try:
        key = loader(data, password=password)
    except TypeError as exc:  # encrypted without a password, or a password for a plain key
        if password is None:
            raise CredentialError(f"the {label} is protected by a passphrase",
                                  hint="set PROVENANT_SIGN_KEY_PASSWORD to it") from None
        raise CredentialError(f"the {label} cannot be read: {exc}",
                              hint="unset PROVENANT_SIGN_KEY_PASSWORD for a key that has "
                                   "no passphrase") from None
    except ValueError as exc:
        wrong = password is not None and "password" in str(exc).lower()
        raise CredentialError(
            f"the {label} cannot be read: " + ("the passphrase is wrong" if wrong else str(exc)),
            hint=("check PROVENANT_SIGN_KEY_PASSWORD" if wrong
                  else "give the private key as PEM or DER (PKCS#8, SEC1 or PKCS#1)")) from None
    except UnsupportedAlgorithm as exc:
        raise CredentialError(f"the {label} cannot be read: {exc}",
                              hint=f"use {_SUPPORTED}") from None
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    return key, pkcs8


def check_validity(certs: list[x509.Certificate], now: dt.datetime | None = None) -> None:
    """Refuse a chain with a certificate that has expired or is not valid yet: the SDK would
    fail the signing itself with "not valid at time of signing" and no dates."""
    now = now or dt.datetime.now(dt.timezone.utc)
    for i, cert in enumerate(certs):
        which = "signing certificate" if i == 0 else f"certificate {i + 1} of the chain"
        subject = cert.subject.rfc4514_string()
        if now > cert.not_valid_after_utc:
            raise CredentialError(
                f"the {which} ({subject}) expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
                hint="renew it with your CA and give the new chain")
        if now < cert.not_valid_before_utc:
            raise CredentialError(
                f"the {which} ({subject}) is not valid until "
                f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
                hint="check this machine's clock, or wait until then")
