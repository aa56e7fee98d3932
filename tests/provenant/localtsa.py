"""A local RFC 3161 timestamp authority for the tests: a CA, a TSA certificate (EKU
timeStamping) and an HTTP server in a thread that answers each TimeStampReq with a signed
TimeStampResp, or with what ``reply`` says (garbage, an HTTP error, a rejection)."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_TST_INFO = "1.2.840.113549.1.9.16.1.4"


def _cert(subject: str, key, issuer: str, issuer_key, *, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    name = lambda cn: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),  # noqa: E731
                                 x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test TSA")])
    b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), True)
    else:
        b = (b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                           False), True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 issuer_key.public_key()), False))
    return b.sign(issuer_key, hashes.SHA256())


@dataclass
class LocalTsa:
    url: str = ""
    reply: str = "token"  # token | garbage | http-500 | rejection
    requests: int = 0
    ca_pem: bytes = b""
    _key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(
        ec.SECP256R1()))
    _cert: x509.Certificate | None = None

    def response(self, body: bytes) -> bytes:
        if self.reply == "garbage":
            return b"not a TimeStampResp"
        if self.reply == "rejection":
            return tsp.TimeStampResp({"status": {"status": "rejection"}}).dump()
        req = tsp.TimeStampReq.load(body)
        info = tsp.TSTInfo({
            "version": "v1", "policy": "1.2.3.4.1", "message_imprint": req["message_imprint"],
            "serial_number": self.requests, "gen_time": dt.datetime.now(dt.timezone.utc),
            "nonce": req["nonce"].native if req["nonce"].native is not None else None,
        })
        content = info.dump()
        cert_der = self._cert.public_bytes(serialization.Encoding.DER)
        acert = ax509.Certificate.load(cert_der)
        attrs = cms.CMSAttributes([
            {"type": "content_type", "values": [_TST_INFO]},
            {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
            {"type": "signing_certificate_v2", "values": [{"certs": [{
                "hash_algorithm": {"algorithm": "sha256"},
                "cert_hash": hashlib.sha256(cert_der).digest()}]}]},
        ])
        signature = self._key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signed = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": _TST_INFO,
                                   "content": core.ParsableOctetString(content)},
            "certificates": [acert],
            "signer_infos": [{
                "version": "v1",
                "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                    "issuer": acert.issuer, "serial_number": acert.serial_number}}),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm(
                    {"algorithm": "sha256_ecdsa"}),
                "signature": signature,
            }],
        })
        return tsp.TimeStampResp({
            "status": {"status": "granted"},
            "time_stamp_token": {"content_type": "signed_data", "content": signed},
        }).dump()


@contextmanager
def local_tsa(reply: str = "token") -> Iterator[LocalTsa]:
    """A running TSA at ``tsa.url`` until the block ends."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Test TSA Root", ca_key, "Test TSA Root", ca_key, ca=True)
    tsa = LocalTsa(reply=reply, ca_pem=ca.public_bytes(serialization.Encoding.PEM))
    tsa._cert = _cert("Test Timestamp Unit", tsa._key, "Test TSA Root", ca_key, ca=False)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            tsa.requests += 1
            if tsa.reply == "http-500":
                self.send_response(500)
                self.end_headers()
                return
            data = tsa.response(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tsa.url = f"http://127.0.0.1:{server.server_address[1]}/tsa"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tsa
    finally:
        server.shutdown()
        server.server_close()
