"""The detection test's tail bound and p-value, and the decoder that feeds it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from watermark import WatermarkConfig
from watermark.decision import (
    RADEMACHER_GAUSS_C, Allocation, hypothesis_count, log10_p_value, log10_tail, z_to_detect,
)
from watermark.detection import decode
from watermark.ecc import crc_ok, encode, protect
from watermark.pattern import layout


def _exact_tail(weights: np.ndarray, x: float) -> float:
    """P(sum(w_i * eps_i) >= x) over every sign pattern (weights of unit norm)."""
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=len(weights))))
    return float(np.mean(signs @ weights >= x - 1e-12))


@pytest.mark.parametrize("weights", [
    np.ones(2), np.ones(5), np.ones(12), np.array([3.0, 1.0, 1.0, 0.5]),
    np.random.default_rng(0).uniform(0.1, 1.0, 10),
])
def test_the_tail_bound_holds_for_exact_rademacher_sums(weights: np.ndarray) -> None:
    w = weights / np.linalg.norm(weights)
    for x in np.linspace(0.25, 3.5, 27):
        assert _exact_tail(w, x) <= 10 ** log10_tail(float(x)) * (1 + 1e-9), x


def test_the_constant_is_tight_where_the_theorem_says() -> None:
    # Two equal weights, t = sqrt(2): P = 1/4 = C * Q(sqrt 2), the bound's equality case.
    assert 10 ** log10_tail(math.sqrt(2.0)) == pytest.approx(0.25, rel=1e-9)
    assert RADEMACHER_GAUSS_C == pytest.approx(3.178, abs=1e-3)


def test_the_p_value_is_below_hoeffdings_where_decisions_are_made() -> None:
    hypotheses = 80
    def hoeffding(z: float) -> float:
        return (math.log(hypotheses) + 64 * math.log(2) - z * z / 2) / math.log(10)
    for z in (10.5, 11.0, 11.5, 13.0):
        ours = log10_p_value(z, hypotheses)
        assert ours < hoeffding(z) - 0.9  # at least 8x smaller
        assert ours < log10_p_value(z - 0.1, hypotheses)  # decreasing in z
    # The 1e-6 threshold: about z = 10.99 (Hoeffding alone needs 11.18).
    assert log10_p_value(11.0, hypotheses) <= -6 < log10_p_value(10.97, hypotheses)
    assert log10_p_value(0.0, hypotheses) == 0.0 and log10_p_value(5.0, hypotheses) == 0.0


def test_z_to_detect_is_where_the_blind_p_value_reaches_the_rate() -> None:
    z = z_to_detect(168, 1e-6)
    assert 10.9 < z < 11.2
    assert log10_p_value(z, 168) <= -6.0 < log10_p_value(z - 0.01, 168)
    assert z_to_detect(1, 1e-6) < z  # fewer hypotheses, a lower bar


def test_crc_aided_list_decoding_takes_the_valid_codeword_behind_a_failing_best_path() -> None:
    lay = layout(b"list-test", 32, 0.125)
    message = protect(np.random.default_rng(7).integers(0, 2, 64).astype(np.uint8))
    wrong = message.copy()
    wrong[20] ^= 1  # a neighbour whose CRC fails
    assert not crc_ok(wrong)

    def chips_of(bits: np.ndarray) -> np.ndarray:
        sign = 1.0 - 2.0 * encode(bits).astype(np.float64)
        chips = np.zeros(lay.n * lay.n)
        chips[lay.msg_idx] = sign[lay.msg_bit] * lay.msg_pn
        return chips

    chips = chips_of(message) + 1.3 * (chips_of(wrong) - chips_of(message)) / 2.0
    best, _, z_best = decode(chips, lay, list_size=1)
    assert np.array_equal(best, wrong)  # the best path is the neighbour
    listed, _, z_listed = decode(chips, lay, list_size=16)
    assert np.array_equal(listed, message) and crc_ok(listed) and z_listed < z_best
    # a hypothesis too weak to be detected does not go down the list
    weak, _, _ = decode(chips, lay, list_size=16, list_from_z=z_best + 1.0)
    assert np.array_equal(weak, wrong)


@pytest.mark.parametrize("hypotheses, canonical, share", [(168, 4, 0.5), (88, 2, 0.5),
                                                           (168, 4, 0.2), (40, 1, 0.9)])
def test_the_allocation_spends_exactly_the_rate(hypotheses: int, canonical: int,
                                                share: float) -> None:
    a = Allocation(hypotheses, canonical, share)
    weights = canonical / a.effective(True) + (hypotheses - canonical) / a.effective(False)
    assert weights == pytest.approx(1.0)
    # the canonical hypotheses need less, the others a little more, than the plain count
    plain = z_to_detect(hypotheses, 1e-6)
    assert z_to_detect(a.effective(True), 1e-6) < plain < z_to_detect(a.effective(False), 1e-6)
    assert Allocation(hypotheses).effective(True) == hypotheses
    assert Allocation(hypotheses, canonical, 0.0).effective(False) == hypotheses


def test_the_default_allocation_moves_the_bars_a_little() -> None:
    a = Allocation(168, 4, WatermarkConfig().canonical_share)
    assert z_to_detect(a.effective(True), 1e-6) == pytest.approx(10.80, abs=0.02)
    assert z_to_detect(a.effective(False), 1e-6) == pytest.approx(11.12, abs=0.02)
    assert z_to_detect(168, 1e-6) == pytest.approx(11.06, abs=0.02)


def test_the_hypothesis_count_covers_every_search_whether_it_runs_or_not() -> None:
    cfg = WatermarkConfig()
    # 5 looks x 5 periods, then rotation 1 + orientation 5 + windows 2 groups; 8 phases each
    assert hypothesis_count(cfg, 5) == (25 + 8) * 8 == 264
    bare = WatermarkConfig(rotation_search=False, orientation_search=False,
                           window_search=False)
    assert hypothesis_count(bare, 3) == 3 * 5 * 8
    assert hypothesis_count(cfg, 4) - hypothesis_count(cfg, 3) == (5 + 1) * 8
