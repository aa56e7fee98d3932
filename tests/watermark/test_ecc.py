from __future__ import annotations

import numpy as np

from watermark.ecc import (CRC_BITS, bit_confidences, code_length, crc_ok, encode,
                          list_viterbi_decode, protect, viterbi_decode)


def test_code_length_and_termination() -> None:
    bits = np.ones(64, np.uint8)
    code = encode(bits)
    assert code.shape == (code_length(64),) == (210,)
    assert set(np.unique(code)) <= {0, 1}


def test_noiseless_and_noisy_round_trip() -> None:
    rng = np.random.default_rng(1)
    for sigma in (0.0, 0.8):
        for _ in range(10):
            bits = rng.integers(0, 2, 64).astype(np.uint8)
            soft = 1.0 - 2.0 * encode(bits) + rng.normal(0, sigma, 210)
            assert np.array_equal(viterbi_decode(soft), bits)


def test_confidences_are_high_on_signal_and_low_on_noise() -> None:
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2, 64).astype(np.uint8)
    clean = 1.0 - 2.0 * encode(bits) + rng.normal(0, 0.3, 210)
    assert bit_confidences(viterbi_decode(clean), clean).min() > 0.99
    noise = rng.normal(0, 1, 210)
    assert bit_confidences(viterbi_decode(noise), noise).mean() < 0.75


def test_crc16_matches_the_ccitt_check_value_and_catches_errors() -> None:
    # CRC-16/CCITT-FALSE of ASCII "123456789" is 0x29B1 (the catalogue check value).
    message = protect(np.unpackbits(np.frombuffer(b"123456789", np.uint8)))
    assert np.packbits(message[-CRC_BITS:]).tobytes() == b"\x29\xb1"
    assert crc_ok(message)
    rng = np.random.default_rng(3)
    payload = protect(rng.integers(0, 2, 64).astype(np.uint8))
    assert crc_ok(payload)
    for flips in (1, 2, 3, 5):  # any burst of up to 16 bits is caught
        for _ in range(20):
            bad = payload.copy()
            start = rng.integers(0, len(bad) - flips)
            bad[start:start + flips] ^= 1
            assert not crc_ok(bad)


def test_protected_payload_round_trips_through_the_code() -> None:
    rng = np.random.default_rng(4)
    message = protect(rng.integers(0, 2, 64).astype(np.uint8))
    code = encode(message)
    assert code.shape == (code_length(64 + CRC_BITS),) == (258,)
    decoded = viterbi_decode(1.0 - 2.0 * code + rng.normal(0, 0.7, 258))
    assert np.array_equal(decoded, message) and crc_ok(decoded)


def _fit(message: np.ndarray, soft: np.ndarray) -> float:
    return float(np.dot(1.0 - 2.0 * encode(message), soft))


def test_list_decoding_ranks_distinct_paths_and_starts_with_the_viterbi_path() -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        message = protect(rng.integers(0, 2, 64).astype(np.uint8))
        soft = 0.5 * (1.0 - 2.0 * encode(message)) + rng.normal(0, 1, 258)
        paths = list_viterbi_decode(soft, 8)
        assert len(paths) == 8 and len({p.tobytes() for p in paths}) == 8
        assert np.array_equal(paths[0], viterbi_decode(soft))
        fits = [_fit(p, soft) for p in paths]
        assert all(a >= b - 1e-9 for a, b in zip(fits, fits[1:]))
    assert np.array_equal(list_viterbi_decode(soft, 1)[0], viterbi_decode(soft))


def test_crc_aided_list_decoding_recovers_messages_the_best_path_misses() -> None:
    rng = np.random.default_rng(6)
    best_only = listed = 0
    for _ in range(200):
        message = protect(rng.integers(0, 2, 64).astype(np.uint8))
        soft = 0.6 * (1.0 - 2.0 * encode(message)) + rng.normal(0, 1, 258)
        best_only += np.array_equal(viterbi_decode(soft), message)
        first_valid = next((p for p in list_viterbi_decode(soft, 16) if crc_ok(p)), None)
        listed += first_valid is not None and np.array_equal(first_valid, message)
    assert listed > best_only
