"""Store-aided detection: test the payloads a manifest store has issued, not all 2^64.

A blind detection must find the payload among every CRC-valid codeword, so its union bound
carries a factor 2^64 and the 1e-6 decision needs z ≈ 11. A platform or newsroom that keeps
a manifest store knows which payloads were issued: testing only those N codewords costs a
factor N instead (z ≈ 7.6 for N = 100,000), which is the difference between a miss and a
detection after a strong re-encode of a small video. The test is the same one (the message
PN signs are fair coins under H0, whatever the candidates are), so the false-positive rate
stays guaranteed; see ``watermark.detection`` for how the two tests are combined.

The code (payload + CRC-16, then the convolutional code) is affine over GF(2), so the
codewords of many payloads come from one 64×N_code basis: ``code(b) = code(0) ⊕ b·G``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from provenant.errors import PayloadError
from watermark.config import PAYLOAD_BITS, parse_payload
from watermark.decision import log10_tail
from watermark.ecc import encode, protect

__all__ = ["Codebook", "codewords", "lookup_test", "MAX_CANDIDATES"]

#: The largest candidate list a detection accepts (its sign matrix is N × 258 bytes: 52 MB).
MAX_CANDIDATES = 200_000
_CHUNK = 16_384  # candidates per matrix product (bounds the float32 working memory)


@lru_cache(maxsize=1)
def _affine_code() -> tuple[np.ndarray, np.ndarray]:
    """``(c0 (n_code,), G (64, n_code))``: ``code(protect(b)) = c0 ⊕ (b @ G mod 2)``."""
    zero = np.zeros(PAYLOAD_BITS, np.uint8)
    c0 = encode(protect(zero))
    basis = np.empty((PAYLOAD_BITS, len(c0)), np.uint8)
    for i in range(PAYLOAD_BITS):
        e = zero.copy()
        e[i] = 1
        basis[i] = encode(protect(e)) ^ c0
    return c0, basis


def codewords(bits: np.ndarray) -> np.ndarray:
    """``(N, 64)`` 0/1 payload bits -> ``(N, n_code)`` 0/1 code bits (vectorised)."""
    c0, basis = _affine_code()
    bits = np.asarray(bits, dtype=np.uint8).reshape(-1, PAYLOAD_BITS)
    acc = bits.astype(np.float32) @ basis.astype(np.float32)  # (N, n_code), exact: <= 64
    return (acc.astype(np.uint8) & 1) ^ c0[None, :]


def _payload_bytes(payload: bytes | str | int) -> bytes:
    """One candidate as 8 bytes (16-hex-digit strings take a fast path)."""
    if isinstance(payload, str) and len(payload) == 16:
        try:
            return bytes.fromhex(payload)
        except ValueError:
            pass  # parse_payload gives the error message
    return np.packbits(parse_payload(payload)).tobytes()


class Codebook:
    """The candidate payloads of a store-aided detection, as ±1 code signs.

    ``payloads``: 8-byte values, 16-hex-digit strings or ints (duplicates are dropped).
    """

    def __init__(self, payloads: Iterable[bytes | str | int]) -> None:
        raw = [_payload_bytes(p) for p in payloads]
        if len(raw) > MAX_CANDIDATES:
            raise PayloadError(f"{len(raw)} candidate payloads given; at most "
                               f"{MAX_CANDIDATES} are allowed",
                               hint="test a smaller set (for example the recent manifests)")
        packed = np.unique(np.frombuffer(b"".join(raw), np.uint8).reshape(-1, 8), axis=0)
        bits = np.unpackbits(packed, axis=1)  # (N, 64)
        self.payloads = [bytes(row).hex() for row in packed]
        self.signs = (1 - 2 * codewords(bits).astype(np.int8)).astype(np.int8)  # (N, n_code)

    def __len__(self) -> int:
        return len(self.payloads)

    def best(self, soft: np.ndarray, norms: np.ndarray) -> tuple[float, int, int]:
        """The highest ``z = <sign_c, soft_k> / norm_k`` over candidates ``c`` and
        hypotheses ``k``: ``(z, k, c)``. ``soft`` is ``(K, n_code)``, ``norms`` ``(K,)``."""
        if len(self) == 0 or len(soft) == 0:
            return float("-inf"), -1, -1
        scaled = (np.asarray(soft, np.float64) / (np.asarray(norms, np.float64)[:, None]
                                                  + 1e-12)).astype(np.float32)  # (K, n)
        best = (float("-inf"), -1, -1)
        for start in range(0, len(self), _CHUNK):
            z = scaled @ self.signs[start: start + _CHUNK].astype(np.float32).T  # (K, n_c)
            k, c = np.unravel_index(int(np.argmax(z)), z.shape)
            if z[k, c] > best[0]:
                best = (float(z[k, c]), int(k), start + int(c))
        return best


def lookup_test(codebook: Codebook | None, tried: list, hypotheses: int
                ) -> tuple[float, float, int, str] | None:
    """The store-aided test over every decoded hypothesis (``tried``: detection's soft code
    values and norms first in each entry): ``(p, z, hypothesis, payload)``, or None without
    candidates. ``p = K · N · tail(z)`` (a union bound over both)."""
    if codebook is None or len(codebook) == 0 or not tried:
        return None
    z, k, c = codebook.best(np.stack([t[0] for t in tried]), np.array([t[1] for t in tried]))
    log10_p = (math.log10(hypotheses) + math.log10(len(codebook)) + log10_tail(z)
               if z > 0 else 0.0)
    return 10.0 ** min(0.0, log10_p), z, k, codebook.payloads[c]
