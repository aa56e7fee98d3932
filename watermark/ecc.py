"""Error correction: CRC-16 for integrity, then a terminated K=7, rate-1/3 convolutional code
with soft Viterbi decoding.

The 64 payload bits get a CRC-16/CCITT (:func:`protect`), so a decoding error that leaves a
codeword still close to the embedded one is caught rather than read as another payload
(:func:`crc_ok`). Generators 133, 171, 165 (octal), the LTE/3GPP rate-1/3 set: 80 bits plus
6 tail bits give 258 code bits. The decoder takes soft values (positive means bit 0) and
returns the maximum-likelihood message, i.e. the codeword of highest correlation with the
soft values; :func:`list_viterbi_decode` returns the best few, for CRC-aided list decoding.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CONSTRAINT", "POLYS", "CRC_BITS", "protect", "crc_ok", "code_length", "encode",
           "viterbi_decode", "list_viterbi_decode", "bit_confidences"]

CONSTRAINT = 7
POLYS = (0o133, 0o171, 0o165)
_MEM = CONSTRAINT - 1
_NSTATES = 1 << _MEM


def _parity(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    out = np.zeros_like(x)
    while np.any(x):
        out ^= x & 1
        x >>= 1
    return out


_REGS = np.arange(1 << CONSTRAINT)  # register r = (u_t << 6) | state (u_{t-1} .. u_{t-6})
_OUT = np.stack([_parity(_REGS & p) for p in POLYS], axis=1).astype(np.int8)  # (128, 3) bits
_SIGN = (1 - 2 * _OUT).astype(np.float64)  # (128, 3): +1 for bit 0, -1 for bit 1
_NOISE_BIAS = 0.65
# The trellis, shared by both decoders: the two registers leading into each state, their
# predecessor states and the signs of their code bits.
_STATES = np.arange(_NSTATES)
_INTO = np.stack([(_STATES << 1) | 0, (_STATES << 1) | 1], axis=1)  # (64, 2) registers
_PREV = _INTO & (_NSTATES - 1)  # (64, 2) predecessor states
_INTO_SIGN = _SIGN[_INTO]  # (64, 2, 3)


CRC_BITS = 16
_CRC_POLY = 0x1021  # CRC-16/CCITT-FALSE: x^16 + x^12 + x^5 + 1, initial value 0xFFFF


def _crc16(bits: np.ndarray) -> np.ndarray:
    """The CRC-16/CCITT-FALSE of ``bits`` (MSB first), as 16 bits."""
    reg = 0xFFFF
    for b in np.asarray(bits, dtype=np.int64):
        top = ((reg >> 15) & 1) ^ int(b)
        reg = (reg << 1) & 0xFFFF
        if top:
            reg ^= _CRC_POLY
    return np.array([(reg >> (15 - i)) & 1 for i in range(CRC_BITS)], dtype=np.uint8)


def protect(bits: np.ndarray) -> np.ndarray:
    """``(n,)`` payload bits -> ``(n + 16,)``: the payload followed by its CRC-16."""
    bits = np.asarray(bits, dtype=np.uint8)
    return np.concatenate([bits, _crc16(bits)])


def crc_ok(message: np.ndarray) -> bool:
    """Whether a decoded ``(n + 16,)`` message carries the CRC-16 of its first ``n`` bits."""
    message = np.asarray(message, dtype=np.uint8)
    return bool(np.array_equal(_crc16(message[:-CRC_BITS]), message[-CRC_BITS:]))


def code_length(n_bits: int) -> int:
    """Number of code bits for ``n_bits`` payload bits (tail included)."""
    return (n_bits + _MEM) * len(POLYS)


def encode(bits: np.ndarray) -> np.ndarray:
    """``(n,)`` 0/1 bits -> ``(3*(n+6),)`` 0/1 code bits (zero-terminated)."""
    state, out = 0, []
    for u in np.concatenate([np.asarray(bits, dtype=np.int64), np.zeros(_MEM, np.int64)]):
        reg = (int(u) << _MEM) | state
        out.append(_OUT[reg])
        state = reg >> 1
    return np.concatenate(out).astype(np.uint8)


def viterbi_decode(soft: np.ndarray) -> np.ndarray:
    """Soft-decision Viterbi: ``(3*(n+6),)`` soft values (>0 means 0) -> ``(n,)`` 0/1 bits."""
    y = np.asarray(soft, dtype=np.float64).reshape(-1, len(POLYS))  # (T, 3)
    steps = y.shape[0]
    metric = np.full(_NSTATES, -np.inf)
    metric[0] = 0.0
    decisions = np.zeros((steps, _NSTATES), dtype=np.int8)
    for t in range(steps):
        cand = metric[_PREV] + _INTO_SIGN @ y[t]  # (64, 2)
        choice = np.argmax(cand, axis=1)  # (64,)
        decisions[t] = choice
        metric = cand[_STATES, choice]
    state, bits = 0, np.zeros(steps, dtype=np.uint8)
    for t in range(steps - 1, -1, -1):
        bits[t] = state >> (_MEM - 1)
        state = ((state << 1) | int(decisions[t, state])) & (_NSTATES - 1)
    return bits[: steps - _MEM]


def bit_confidences(bits: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """Approximate posterior probability that each decoded bit is right, ``(n,)`` in [0.5, 1].

    Soft values are scaled to log-likelihood ratios from their empirical mean and spread
    around the decoded codeword, the mean first shrunk by the bias that maximum-likelihood
    decoding finds even in pure noise (about 0.65 standard deviations for this code); a
    bit's confidence is the logistic of the LLR margin lost by flipping it alone (the code
    bits it influences are the next ``3*7`` ones).
    """
    code = encode(bits).astype(np.float64)
    signed = (1 - 2 * code) * np.asarray(soft, dtype=np.float64)  # (N,)
    var = float(np.var(signed)) + 1e-12
    mu = max(0.0, float(np.mean(signed)) - _NOISE_BIAS * np.sqrt(var))
    llr = 2.0 * mu * np.asarray(soft, dtype=np.float64) / var  # (N,)
    n = len(bits)
    conf = np.empty(n)
    for i in range(n):
        flipped = bits.copy()
        flipped[i] ^= 1
        lo, hi = 3 * i, 3 * (i + CONSTRAINT)
        alt = 1 - 2 * encode(flipped)[lo:hi].astype(np.float64)
        cur = 1 - 2 * code[lo:hi]
        margin = 0.5 * float(np.dot(cur - alt, llr[lo:hi]))
        conf[i] = 1.0 / (1.0 + np.exp(-np.clip(margin, -50, 50)))
    return conf


def list_viterbi_decode(soft: np.ndarray, size: int) -> list[np.ndarray]:
    """Parallel list Viterbi: the ``size`` best messages (highest codeword correlation with
    ``soft``, best first) among the zero-terminated paths; ``size = 1`` is
    :func:`viterbi_decode`. A CRC over the message then picks the first valid one
    (CRC-aided list decoding), which recovers a message whose codeword is not the single
    best fit but is among the best few."""
    y = np.asarray(soft, dtype=np.float64).reshape(-1, len(POLYS))  # (T, 3)
    steps, size = y.shape[0], max(1, int(size))
    metric = np.full((_NSTATES, size), -np.inf)
    metric[0, 0] = 0.0
    back = np.zeros((steps, _NSTATES, size), dtype=np.int16)  # index into (2, size)
    for t in range(steps):
        branch = _INTO_SIGN @ y[t]  # (64, 2)
        cand = (metric[_PREV] + branch[:, :, None]).reshape(_NSTATES, 2 * size)  # (64, 2L)
        order = np.argsort(-cand, axis=1, kind="stable")[:, :size]  # (64, L)
        back[t] = order
        metric = np.take_along_axis(cand, order, axis=1)
    ranks = np.flatnonzero(np.isfinite(metric[0]))  # paths that end in the zero state
    state, r = np.zeros(len(ranks), dtype=np.int64), ranks.astype(np.int64)
    bits = np.zeros((len(ranks), steps), dtype=np.uint8)
    for t in range(steps - 1, -1, -1):  # trace every path back at once
        bits[:, t] = state >> (_MEM - 1)
        b, r = np.divmod(back[t, state, r].astype(np.int64), size)
        state = ((state << 1) | b) & (_NSTATES - 1)
    return list(bits[:, : steps - _MEM])
