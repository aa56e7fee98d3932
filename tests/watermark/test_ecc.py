from __future__ import annotations

import numpy as np

from watermark.ecc import bit_confidences, code_length, encode, viterbi_decode


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
