"""The store-aided test: candidate codewords, its p-value, and what it adds to a blind decode."""

from __future__ import annotations

import numpy as np
import pytest

import watermark.lookup as lookup
from provenant.errors import PayloadError
from tests.watermark.conftest import KEY, PAYLOAD
from watermark import WatermarkConfig, detect, embed
from watermark.ecc import encode, protect
from watermark.lookup import Codebook, codewords
from watermark.testing import procedural_clip


def _others(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(8).hex() for _ in range(n)]


@pytest.fixture(scope="module")
def weak_marked() -> np.ndarray:
    """4 frames whose watermark is faded to 12 % and noised: too weak for a blind decode."""
    clip = np.stack(procedural_clip(192, 256, 24, seed=5))[:4]
    marked = embed(clip, PAYLOAD, KEY).astype(np.float64)
    noise = np.random.default_rng(1).normal(0.0, 6.0, clip.shape)
    weak = np.round(clip + 0.12 * (marked - clip) + noise)
    return np.clip(weak, 0, 255).astype(np.uint8)


def test_vectorised_codewords_match_the_encoder() -> None:
    bits = np.random.default_rng(3).integers(0, 2, size=(20, 64)).astype(np.uint8)
    fast = codewords(bits)
    for row, code in zip(bits, fast):
        assert np.array_equal(code, encode(protect(row)))


def test_codebook_takes_every_payload_form_and_drops_duplicates() -> None:
    book = Codebook([PAYLOAD, bytes.fromhex(PAYLOAD), int(PAYLOAD, 16), "ffffffffffffffff"])
    assert sorted(book.payloads) == [PAYLOAD, "ffffffffffffffff"]
    assert book.signs.shape == (2, 258) and set(np.unique(book.signs)) == {-1, 1}
    with pytest.raises(PayloadError, match="16 hexadecimal digits"):
        Codebook(["not-a-payload"])


def test_codebook_refuses_too_many_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookup, "MAX_CANDIDATES", 3)
    with pytest.raises(PayloadError, match="at most 3"):
        Codebook(_others(4))


def test_best_finds_the_candidate_and_the_hypothesis() -> None:
    book = Codebook(_others(50))
    target = 17
    soft = np.random.default_rng(0).normal(size=(6, 258))
    soft[4] += 3.0 * book.signs[target]
    z, k, c = book.best(soft, np.full(6, 10.0))
    assert (k, c) == (4, target)
    assert z == pytest.approx(float(soft[4] @ book.signs[target]) / 10.0, rel=1e-5)


def test_store_aided_test_finds_what_a_blind_decode_misses(weak_marked: np.ndarray) -> None:
    fpr = WatermarkConfig().fpr
    blind = detect(weak_marked, KEY)
    assert not blind.detected and blind.payload is None
    r = detect(weak_marked, KEY, candidates=[PAYLOAD, *_others(999)])
    assert r.detected and r.payload == PAYLOAD and r.method == "lookup"
    assert r.candidates == 1000
    assert r.blind_p_value > fpr and r.lookup_p_value is not None
    assert r.p_value == pytest.approx(2 * r.lookup_p_value)  # both tests: a union bound
    assert r.p_value <= fpr


def test_lookup_p_value_grows_with_the_number_of_candidates(weak_marked: np.ndarray) -> None:
    small = detect(weak_marked, KEY, candidates=[PAYLOAD, *_others(9)])
    large = detect(weak_marked, KEY, candidates=[PAYLOAD, *_others(999)])
    assert small.z_score == pytest.approx(large.z_score, rel=1e-5)
    assert large.lookup_p_value / small.lookup_p_value == pytest.approx(100.0, rel=1e-3)


def test_store_aided_test_keeps_the_wrong_key_and_clean_clips_silent(
        weak_marked: np.ndarray, small_marked: np.ndarray, small_clip: np.ndarray) -> None:
    candidates = Codebook([PAYLOAD, *_others(999)])
    for frames, key in ((weak_marked, "not-the-key"), (small_marked, "not-the-key"),
                        (small_clip, KEY)):
        r = detect(frames, key, candidates=candidates)
        assert not r.detected and r.payload is None
        assert r.p_value > 1e-3


def test_a_strong_watermark_outside_the_store_is_still_decoded(small_marked: np.ndarray) -> None:
    r = detect(small_marked, KEY, candidates=_others(100))
    assert r.detected and r.payload == PAYLOAD and r.method == "decode"
    assert r.p_value == pytest.approx(2 * r.blind_p_value)


def test_store_candidates_are_built_once_per_distinct_store_content(tmp_path) -> None:
    from provenant.store import ManifestRecord, ManifestStore
    from watermark.config import ALGORITHM
    from watermark.evidence import store_candidates

    store = ManifestStore(tmp_path / "s.db")
    assert store_candidates(store) is None  # nothing issued: no store-aided test
    store.register(ManifestRecord("urn:c2pa:a", soft_bindings=((ALGORITHM, PAYLOAD),)))
    first = store_candidates(store)
    assert first is not None and first.payloads == [PAYLOAD]
    assert store_candidates(store) is first  # unchanged store: the same codebook
    store.register(ManifestRecord("urn:c2pa:b", soft_bindings=((ALGORITHM, "ffffffffffffffff"),)))
    second = store_candidates(store)
    assert second is not first and sorted(second.payloads) == [PAYLOAD, "ffffffffffffffff"]
    assert len(store_candidates(store, limit=1)) == 1
