"""The detection test's numbers: the tail bound for one codeword, the blind p-value, and the
z at which a detection is made.

Under H0 (no watermark of this key) the message PN signs are fair coins independent of the
content, so for any fixed codeword ``z = <s, x> / ||x||`` is a Rademacher sum with unit-norm
weights; a union bound over the 2^64 CRC-valid codewords and the ``K`` decoded hypotheses
gives the blind p-value (see ``watermark/README.md``, *The test*).
"""

from __future__ import annotations

import math

from dataclasses import dataclass

from scipy.special import log_ndtr

from watermark.config import PAYLOAD_BITS, WatermarkConfig
from watermark.windows import WINDOW_GROUPS

__all__ = ["RADEMACHER_GAUSS_C", "log10_tail", "log10_p_value", "z_to_detect", "Allocation",
           "hypothesis_count"]


#: Bentkus & Dzindzalieta (Bernoulli 21(2), 2015): for Rademacher signs and weights with
#: unit norm, ``P(S >= t) <= C · P(N(0,1) >= t)`` for every t, and this constant is optimal.
RADEMACHER_GAUSS_C = 1.0 / (4.0 * 0.5 * math.erfc(1.0))  # 1 / (4 P(N >= sqrt 2)) ≈ 3.178


def log10_tail(z: float) -> float:
    """log10 of the tail bound ``P(z' >= z)`` for one fixed codeword under H0: the smaller of
    Hoeffding's ``exp(-z²/2)`` and ``C · Q(z)`` (Gaussian tail Q), which is about
    ``z·√(2π)/C`` times smaller at the z-scores where decisions are made (9× at z = 11)."""
    hoeffding = -0.5 * z * z
    gaussian = math.log(RADEMACHER_GAUSS_C) + float(log_ndtr(-z))
    return min(hoeffding, gaussian) / math.log(10.0)


def log10_p_value(z: float, hypotheses: float) -> float:
    """log10 of ``K · 2^64 · tail(z)`` (capped at 0): the union bound over the CRC-valid
    codewords and the ``K`` decoded hypotheses of :func:`log10_tail`."""
    if z <= 0:
        return 0.0
    log10_p = math.log10(hypotheses) + PAYLOAD_BITS * math.log10(2.0) + log10_tail(z)
    return min(0.0, log10_p)


def z_to_detect(hypotheses: float, fpr: float) -> float:
    """The smallest z whose blind p-value (:func:`log10_p_value`) is at most ``fpr``."""
    lo, hi, target = 0.0, 40.0, math.log10(fpr)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if log10_p_value(mid, hypotheses) <= target else (mid, hi)
    return hi


def hypothesis_count(cfg: WatermarkConfig, looks: int) -> int:
    """``K``, the hypotheses a test over ``looks`` looks counts, whether they are decoded or
    not: each look's ``period_candidates`` periods, one group for the rotation search, one
    per look for the orientation search and ``WINDOW_GROUPS`` for the window search (where
    they are on), each group of ``phase_candidates`` phases."""
    searches = (int(cfg.rotation_search) + looks * int(cfg.orientation_search)
                + WINDOW_GROUPS * int(cfg.window_search))
    return (looks * cfg.period_candidates + searches) * cfg.phase_candidates


@dataclass(frozen=True)
class Allocation:
    """How the false-positive rate is shared among the ``hypotheses`` decoded (a weighted
    union bound): the ``canonical`` ones (the embedder's own period at phase 0, one per look:
    an uncropped, unscaled video) share ``share`` of it, the rest the remainder. A hypothesis
    of weight w is tested as if it were one of ``1/w`` equal ones, so the weights sum to at
    most 1 and the rate holds. ``share`` 0 (or no canonical hypothesis) is the plain
    Bonferroni count, every hypothesis weighing ``1/K``."""

    hypotheses: int
    canonical: int = 0
    share: float = 0.0

    def effective(self, canonical: bool) -> float:
        """``1/w``: the number of equal hypotheses this one is tested as."""
        if self.canonical <= 0 or self.share <= 0.0:
            return float(self.hypotheses)
        if canonical:
            return self.canonical / self.share
        return max(1, self.hypotheses - self.canonical) / (1.0 - self.share)
