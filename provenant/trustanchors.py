"""Trust anchors: the root certificates a verifier trusts, read from the files people have.

The C2PA SDK takes the anchors as one PEM text, and a damaged certificate anywhere in it made
the SDK fail every manifest it read ("COSE error parsing certificate"), which read as
``manifest.unreadable``: an intact, trusted file was reported *tampered* because of the
verifier's own configuration. Bytes that are not UTF-8 between the certificates (a comment in
Latin-1) ended in an internal error. Here each certificate is parsed first: a damaged one is
refused by its place in the file, only the certificates are handed on (comments, keys and
other blocks are dropped), and one DER certificate is accepted as well.
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provenant.errors import InputError

__all__ = ["anchors_pem", "read_anchors_file"]

_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.*?(?:-----END CERTIFICATE-----|\Z)", re.S)
_HINT = "give a PEM file of root certificates (or one DER certificate)"
#: A system bundle of every public root is about 200 KB.
MAX_ANCHORS_BYTES = 64 * 1024**2


def anchors_pem(data: bytes, source: str) -> bytes:
    """The certificates in ``data`` (PEM, or one DER certificate) as clean PEM text."""
    blocks = _BLOCK.findall(data)
    if not blocks:
        try:
            cert = x509.load_der_x509_certificate(data)
        except ValueError:
            raise InputError(f"{source} holds no certificate", hint=_HINT) from None
        return cert.public_bytes(serialization.Encoding.PEM)
    out = []
    for i, block in enumerate(blocks, 1):
        der = _der_of(block)
        if der is None:
            raise InputError(f"{source}: certificate {i} of {len(blocks)} is damaged",
                             hint="remove it or replace it with an intact copy")
        text = base64.b64encode(der)
        lines = b"".join(text[i:i + 64] + b"\n" for i in range(0, len(text), 64))
        out.append(b"-----BEGIN CERTIFICATE-----\n" + lines + b"-----END CERTIFICATE-----\n")
    return b"".join(out)


def _der_of(block: bytes) -> bytes | None:
    """The certificate's DER when ``block`` is whole: it parses, or (system bundles hold
    roots with a zero serial, which newer ``cryptography`` releases refuse) its base64 is one
    complete DER SEQUENCE. Damaged or truncated blocks give None."""
    body = block.removeprefix(b"-----BEGIN CERTIFICATE-----").removesuffix(
        b"-----END CERTIFICATE-----")
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
    except binascii.Error:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x509.load_der_x509_certificate(der)
        return der
    except ValueError:
        return der if _one_der_sequence(der) else None


def _one_der_sequence(der: bytes) -> bool:
    if len(der) < 2 or der[0] != 0x30:
        return False
    first = der[1]
    if first < 0x80:
        return 2 + first == len(der)
    width = first & 0x7F
    if not 1 <= width <= 4 or len(der) < 2 + width:
        return False
    return 2 + width + int.from_bytes(der[2:2 + width], "big") == len(der)


def read_anchors_file(path: Path) -> bytes:
    """:func:`anchors_pem` of a file, with its name in every message."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"trust anchors file {path} does not exist", hint=_HINT)
    if path.stat().st_size > MAX_ANCHORS_BYTES:
        raise InputError(f"trust anchors file {path} is larger than "
                         f"{MAX_ANCHORS_BYTES // 1024**2} MiB, far more than any set of roots",
                         hint=_HINT)
    return anchors_pem(path.read_bytes(), f"trust anchors file {path}")
