"""A signing chain in the order C2PA needs: the signing certificate first, then each issuer.

Certificate bundles come in every order: root first (many CA bundles), the signer last (the
certificates pasted in the order they were issued), intermediates shuffled. C2PA takes the
first certificate as the signer's and validators build the path in the order given, so
measured with a root, an intermediate and a signer: the chain ``signer, root,
intermediate`` signed without a word and verified *untrusted* with the root as the anchor,
and ``intermediate, signer`` was refused as "KeyUsage lacks digitalSignature" (the
intermediate taken for the signer). :func:`signing_order` finds the signer (the certificate
of the private key, else the one that issued no other), follows the issuers from it (by
name and signature) and says what it changed; certificates off that path are left out.

:func:`reaches_anchor` tells whether the chain leads to one of the trust anchors, so a
chain that lacks its intermediate (valid, but untrusted to everyone holding only the root)
is said at signing, not found out by the verifiers.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from provenant.errors import CredentialError, notice

__all__ = ["signing_order", "reaches_anchor", "same_key"]


def _name(cert: x509.Certificate) -> str:
    cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    return str(cn[0].value) if cn else cert.subject.rfc4514_string()


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``cert`` (its name and its signature)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):  # TypeError: a key type it cannot check
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def same_key(a: PublicKeyTypes, b: PublicKeyTypes) -> bool:
    """Whether two public keys are one (their SubjectPublicKeyInfo, DER)."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_bytes(*spki) == b.public_bytes(*spki)


def _signer(certs: list[x509.Certificate], public_key: PublicKeyTypes | None,
            label: str) -> x509.Certificate:
    if public_key is not None:
        own = [c for c in certs if same_key(c.public_key(), public_key)]
        if not own:
            raise CredentialError(f"the private key matches none of the {len(certs)} "
                                  f"certificate{'' if len(certs) == 1 else 's'} in the {label}",
                                  hint="give the key of the signing certificate, or the chain "
                                       "that holds its certificate")
        if _is_ca(own[0]):
            raise CredentialError(f"the private key is the one of the CA certificate "
                                  f"{_name(own[0])} in the {label}, which cannot sign content",
                                  hint="give the signing certificate's own key")
        return own[0]
    issuers = {c.subject for c in certs for other in certs
               if other is not c and _issued_by(other, c)}
    ends = [c for c in certs if c.subject not in issuers]
    return ends[0] if len(ends) == 1 else certs[0]


def signing_order(chain_pem: bytes, public_key: PublicKeyTypes | None, label: str) -> bytes:
    """``chain_pem`` as the signer's certificate followed by its issuers, in order (PEM, its
    certificates alone: other PEM blocks, such as a private key in the same file, are
    dropped). ``public_key``: the private key's, which picks the signer's certificate."""
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise CredentialError(f"the {label} is not valid PEM: {exc}") from None
    path = [_signer(certs, public_key, label)]
    rest = [c for c in certs if c is not path[0]]
    while path[-1].issuer != path[-1].subject:  # up to a self-signed root, if it is there
        issuer = next((c for c in rest if _issued_by(path[-1], c)), None)
        if issuer is None:
            break
        path.append(issuer)
        rest.remove(issuer)
    if path != certs[:len(path)]:
        notice(f"the {label} was not in signing order; it is used as "
               + " <- ".join(_name(c) for c in path) + " (the signer first, then its issuers)")
    if rest:
        notice(f"{len(rest)} certificate(s) in the {label} are not on the signer's path and "
               f"were left out: {', '.join(_name(c) for c in rest)}")
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in path)


def reaches_anchor(chain_pem: bytes, anchors_pem: bytes) -> bool:
    """Whether the chain (signer first) leads to one of the anchors: one of them is in it,
    or issued its last certificate."""
    chain = x509.load_pem_x509_certificates(chain_pem)
    anchors = x509.load_pem_x509_certificates(anchors_pem)
    return any(c == a for c in chain for a in anchors) or any(
        _issued_by(chain[-1], a) for a in anchors)
