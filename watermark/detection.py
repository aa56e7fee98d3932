"""Detection: fold the frames' noise residual onto one tile, align it, decode, test.

1. Each frame -> luma at a working scale -> high-pass residual, normalised by local energy;
   residuals are summed over frames (soft evidence, constant memory).
2. Tile-period hypotheses (x and y separately, so scale and aspect changes are absorbed):
   the embedder's period at this frame size, autocorrelation peaks of the summed residual
   (rescaling), and the embedder's chip sizes for cropped or padded originals; see
   ``watermark.periods``. All but the first are ranked by their pilot correlation.
3. For each candidate period the residual is resampled to 2 samples per chip, folded
   modulo the tile (crops and shifts only change the phase) and spectrally whitened; the
   phase candidates are the peaks of the circular cross-correlation with the keyed pilot.
4. Message chips give soft code bits -> soft Viterbi -> payload + CRC-16. Only decodes
   whose CRC holds are candidates, so a decoding error near the embedded codeword is a miss,
   not another payload. The test statistic is ``z = <s, x> / ||x||`` over message chips,
   with ``s`` the chip signs of the decoded codeword. Under H0 (no watermark of this key)
   the message PN signs are fair coins independent of the content, the period and the
   pilot-chosen phase, so for any fixed codeword z is a Rademacher sum with unit-norm
   weights and ``P(z >= t) <= min(exp(-t²/2), C·Q(t))`` (Hoeffding; Bentkus & Dzindzalieta's
   optimal Gaussian comparison, ``C ≈ 3.18``); a union bound over the 2^64 CRC-valid
   codewords and the ``K`` (period, phase) hypotheses decoded gives
   ``p = K · 2^64 · min(exp(-z²/2), C·Q(z))``, or with the canonical share (the embedder's
   own period at phase 0, one per look, holding ``cfg.canonical_share`` of the rate) the
   weighted bound ``2^64 · tail(z) / w`` (:class:`watermark.decision.Allocation`), the
   weights summing to 1. When nothing is found, the first look is also searched for a
   rotation (``watermark.rotation``), every look for a mirroring or a quarter turn
   (``watermark.orientation``), and five windows of the frame for a picture shown inside
   another (``watermark.windows``); their groups of phases count in ``K`` whether they run
   or not. Several keys (``watermark.looks``) are each tested at a share of the rate.
5. Store-aided (optional, ``watermark.lookup``): given the N payloads a manifest store has
   issued, the same z is computed for each of their codewords on every hypothesis, with
   ``p = K · N · tail(z)``. With both tests the decision is on ``2 · min(p_blind, p_lookup)``
   (a union bound over the two), so the false-positive rate is still ``cfg.fpr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from provenant.errors import MediaError
from watermark.config import PAYLOAD_BITS, WatermarkConfig
from watermark.decision import Allocation, hypothesis_count, log10_p_value, z_to_detect
from watermark.ecc import (bit_confidences, crc_ok, encode, list_viterbi_decode, protect,
                           viterbi_decode)
from watermark.lookup import Codebook, lookup_test
from watermark.folding import FoldMemo, align, fold, pilot_sync
from watermark.pattern import Layout, layout
from watermark.periods import period_hypotheses
from watermark.residuals import predict_residual, working_luma
from watermark.orientation import orientation_candidate
from watermark.rotation import rotation_candidate
from watermark.windows import window_candidates, window_label

__all__ = ["WatermarkResult", "ResidualAccumulator", "KeyTest", "analyse_residual"]


@dataclass
class WatermarkResult:
    """Outcome of a detection. ``payload`` is hex when detected, else ``None``.
    ``frames_used``: when detected, the frames of the look that decided (a key-frame look
    may rest on a few); otherwise every frame examined (the largest look's)."""

    detected: bool
    payload: str | None
    p_value: float
    bit_confidences: np.ndarray = field(repr=False)
    frames_used: int
    z_score: float = 0.0
    sync_score: float = 0.0
    period: tuple[float, float] = (0.0, 0.0)
    decoded: str | None = None  # best decoded payload even when not detected (diagnostics)
    blind_p_value: float = 1.0  # the blind decode's test alone
    blind_payload: str | None = None  # the blind decode's payload (CRC-valid), even if not detected
    blind_z: float = 0.0  # the blind decode's z
    lookup_p_value: float | None = None  # the store-aided test alone (None: no candidates)
    candidates: int = 0  # payloads the store-aided test tried
    method: str = "decode"  # the test whose p-value decided: "decode" or "lookup"
    #: When detected through the rotation, orientation or window search: the change undone
    #: ("mirrored", "rotated 5° anticlockwise", "shown in the centre of the frame"...)
    transform: str | None = None
    key_id: str | None = None  # the public name of the key that found it (config.key_id)
    key_retired: bool = False  # found with a key other than the first (current) one tested


class ResidualAccumulator:
    """Sums normalised luma residuals of frames at a working scale (constant memory).

    ``stride``: only every ``stride``-th frame offered to :meth:`add` is used (the first one
    included), so a costlier look can cover a sample evenly at a fraction of its frames.
    ``deferred``: its frames are kept at the working scale and their residuals computed only
    by :meth:`settle`, for a costly look that a detection may turn out not to need."""

    def __init__(self, cfg: WatermarkConfig, method: str | None = None, stride: int = 1,
                 deferred: bool = False) -> None:
        self.cfg = cfg
        self.method = method or cfg.residual_filter
        self.stride = max(1, stride)
        self.pending: list[np.ndarray] | None = [] if deferred else None
        self.offered = 0
        self.total: np.ndarray | None = None
        self.frames = 0
        self.shape: tuple[int, int] | None = None
        self.expected: float | None = None  # tile period (working px) if never rescaled
        self._folded: tuple[int, list, list] | None = None  # see folded()
        self.memo = FoldMemo()  # the searches' folded tiles, shared by the keys tested

    def add(self, frame: np.ndarray) -> None:
        if (self.offered % self.stride) == 0:
            self.add_working(*working_luma(frame, self.cfg.work_side))
        else:
            self.offered += 1

    def add_working(self, shape: tuple[int, int], g: np.ndarray,
                    residual: np.ndarray | None = None) -> None:
        """Add a frame already at the working scale (:func:`working_luma`), so several
        looks share one conversion; ``shape`` is the frame's original ``(H, W)``.
        ``residual``: its residual by this look's method, where another look made it."""
        self.offered += 1
        if (self.offered - 1) % self.stride:
            return
        if self.shape is None:
            self.shape = shape
        elif shape != self.shape:
            raise MediaError(f"frame size {shape} differs from the first frame's {self.shape}")
        if self.pending is not None:
            self.pending.append(g)
        else:
            self._accumulate(shape, predict_residual(g, self.method) if residual is None
                             else residual)

    def settle(self) -> None:
        """Compute the residuals of the frames a deferred look has kept."""
        for g in self.pending or ():
            self._accumulate(self.shape, predict_residual(g, self.method))
        self.pending = None

    def _accumulate(self, shape: tuple[int, int], res: np.ndarray) -> None:
        if self.total is None:
            h, w = shape
            self.expected = self.cfg.tile_chips * self.cfg.chip_size(h, w) * res.shape[0] / h
        # a copy: two looks may be given one residual (the bilateral one, see Looks.add)
        self.total = res.copy() if self.total is None else self.total + res
        self.frames += 1
        self._folded = None
        self.memo = FoldMemo()

    def folded(self, n: int) -> tuple[list[tuple[tuple[float, float], np.ndarray]], list]:
        """``(period, folded tile)`` of the expected periods and of the pool's (see
        ``watermark.periods``): they do not depend on the key, so a detection that tests
        several keys folds once."""
        if self._folded is None or self._folded[0] != n:
            hyp = period_hypotheses(self.total, self.cfg, self.expected, self.shape)
            self._folded = (n, [(p, fold(self.total, p, n)) for p in hyp.expected],
                            [(p, fold(self.total, p, n)) for p in hyp.pool])
        return self._folded[1], self._folded[2]


def decode(chips: np.ndarray, lay: Layout, list_size: int = 1, list_from_z: float = 0.0
           ) -> tuple[np.ndarray, np.ndarray, float]:
    """Chip values -> (payload + CRC bits, code soft values, z statistic over message chips).

    The message is the best Viterbi path. When its CRC-16 fails but its z reaches
    ``list_from_z``, it is the first of the ``list_size`` best paths whose CRC holds
    (CRC-aided list decoding; the best path when none does). No path correlates better than
    the best one, so below the z a detection needs the list could not change the outcome."""
    x = chips[lay.msg_idx].astype(np.float64)  # (n_msg,)
    soft = np.bincount(lay.msg_bit, weights=lay.msg_pn * x, minlength=lay.n_code)
    norm = np.linalg.norm(x) + 1e-12
    pn = lay.msg_pn * x

    def z_of(bits: np.ndarray) -> float:
        sign = 1.0 - 2.0 * encode(bits).astype(np.float64)  # (n_code,)
        return float(np.dot(sign[lay.msg_bit], pn) / norm)

    best = viterbi_decode(soft)
    z = z_of(best)
    if list_size > 1 and z >= list_from_z and not crc_ok(best):
        valid = next((m for m in list_viterbi_decode(soft, list_size)[1:] if crc_ok(m)), None)
        if valid is not None:
            return valid, soft, z_of(valid)
    return best, soft, z


def analyse_residual(accs: ResidualAccumulator | list[ResidualAccumulator],
                     key: bytes, codebook: Codebook | None = None,
                     counted_looks: int = 0, search: bool = True,
                     windows: ResidualAccumulator | None = None,
                     fpr: float | None = None) -> WatermarkResult:
    """Run steps 2-5 on one or more accumulations ("looks", e.g. all sampled frames and
    the codec's key frames) and decide at ``fpr`` (default ``cfg.fpr``); each look is a
    Bonferroni factor. When nothing is found, the first look is searched for a rotation
    (one more group of phases in the count). ``codebook``: candidate payloads for the
    store-aided test (step 5), or None. ``counted_looks``: count that many looks in the test
    even if fewer are given (a first pass before a costly look, whose hypotheses then keep
    the weights of the full test); ``search=False`` skips the rotation, orientation
    and window searches (still counted). ``windows``: the accumulation the window search
    (``watermark.windows``) cuts its windows from when nothing is found (None: the first
    look's); a deferred one is settled only then."""
    test = KeyTest(accs, key, codebook, counted_looks, windows, fpr)
    if search:
        test.search()
    return test.result()


class KeyTest:
    """One key's test over the looks (:func:`analyse_residual` in steps): made, it has
    decoded the given looks' hypotheses; :meth:`add_looks` decodes costlier looks made only
    when those found nothing, and :meth:`search` runs the rotation, orientation and window
    searches, each only while nothing is found. Every hypothesis is counted from the start
    (``counted_looks``), so :meth:`result` at any step is the full test's answer whenever it
    detects (the full test would detect too, at a p-value at most as small). A detection
    that tests several keys (``watermark.looks``) takes each step for every key before the
    next: a clip marked with a retired key is found without the current key's searches."""

    def __init__(self, accs: ResidualAccumulator | list[ResidualAccumulator], key: bytes,
                 codebook: Codebook | None = None, counted_looks: int = 0,
                 windows: ResidualAccumulator | None = None, fpr: float | None = None) -> None:
        given = accs if isinstance(accs, list) else [accs]
        looks = [a for a in given if a.total is not None]
        cfg = given[0].cfg
        self.cfg = cfg = cfg if fpr is None else replace(cfg, fpr=fpr)
        self.codebook = codebook
        self.lay = layout(key, cfg.tile_chips, cfg.pilot_fraction)
        self.counted = max(1, len(looks), counted_looks)
        self.hypotheses = hypothesis_count(cfg, self.counted)
        share = Allocation(self.hypotheses, max(len(looks), counted_looks)
                           if cfg.phase_candidates >= 2 else 0, cfg.canonical_share)
        self.trials = _Trials(self.lay, share, cfg.fpr, cfg.list_size)
        self.looks: list[ResidualAccumulator] = []
        self.frames = 0
        self.folded: list[list[tuple[tuple[float, float], np.ndarray]]] = []  # every look's
        self._windows = windows
        self.add_looks(looks)

    @property
    def windows(self) -> ResidualAccumulator | None:
        """The accumulation the window search cuts its windows from."""
        return self._windows if self._windows is not None else \
            (self.looks[0] if self.looks else None)

    def add_looks(self, accs: list[ResidualAccumulator]) -> None:
        """Decode the hypotheses of more looks (a costly look made only when the first ones
        found nothing), which ``counted_looks`` counted from the start."""
        for acc in accs:
            if acc.total is None:
                continue
            self.looks.append(acc)
            self.frames = max(self.frames, acc.frames)
            self.folded.append([])
            for period, tile, expected in _periods_to_decode(acc, self.lay, self.folded[-1]):
                self.trials.decode(align(tile, self.lay, self.cfg.phase_candidates,
                                         origin=expected),
                                   period, acc.frames, canonical_first=expected)
        if len(self.looks) > self.counted:  # a programming error, never the input's
            raise RuntimeError(f"{len(self.looks)} looks decoded where {self.counted} were "
                               "counted: the false-positive rate would not hold")
        self._lookup()

    def _lookup(self) -> None:
        self.lookup = lookup_test(self.codebook, self.trials.tried, self.hypotheses)

    def missed(self) -> bool:
        return min(self.trials.blind_p(), self.lookup[0] if self.lookup else 1.0) > self.cfg.fpr

    def search(self) -> None:
        """The rotation, orientation and window searches, each while nothing is found."""
        cfg, lay, trials = self.cfg, self.lay, self.trials
        if cfg.rotation_search and self.looks and self.missed():
            acc = self.looks[0]
            found = rotation_candidate(acc.total, cfg, acc.expected, acc.shape, lay, acc.memo)
            if found is not None:
                degrees, period, tile = found  # degrees: the anticlockwise turn that undid them
                trials.decode(align(tile, lay, cfg.phase_candidates), period, acc.frames,
                              transform=f"rotated {abs(degrees):g}° "
                                        f"{'clockwise' if degrees > 0 else 'anticlockwise'}")
                self._lookup()
        if cfg.orientation_search and self.looks and self.missed():
            for acc, tiles in zip(self.looks, self.folded):
                turned = orientation_candidate(tiles, lay)
                if turned is not None:
                    name, period, tile = turned
                    trials.decode(align(tile, lay, cfg.phase_candidates), period, acc.frames,
                                  transform=name)
            self._lookup()
        source = self.windows
        if cfg.window_search and source is not None and self.missed():
            source.settle()
            if source.total is not None:
                for name, period, tile in window_candidates(source.total, cfg, lay,
                                                            memo=source.memo):
                    trials.decode(align(tile, lay, cfg.phase_candidates), period, source.frames,
                                  transform=window_label(name, period, tile, source.total, lay,
                                                         source.memo))
                self._lookup()

    def result(self) -> WatermarkResult:
        return _result(self.trials, self.lookup, self.hypotheses, self.codebook, self.cfg,
                       self.frames)


class _Trials:
    """Every decoded hypothesis: the CRC-valid decode of the smallest p-value (each
    hypothesis tested at its weight, :class:`Allocation`), the best raw one, and each one's
    soft code values for the store-aided test."""

    def __init__(self, lay: Layout, share: Allocation, fpr: float, list_size: int = 1) -> None:
        self.lay, self.share, self.list_size = lay, share, list_size
        # A hypothesis' list decoding starts at the z its own weight needs for a detection.
        self.list_from = {c: z_to_detect(share.effective(c), fpr) for c in (True, False)}
        # message, soft, z, sync, period, frames, log10 p, transform
        self.best: tuple | None = None
        self.raw: tuple[np.ndarray, float] | None = None  # the highest z of any decode
        # soft, ||x||, period, sync, frames, transform
        self.tried: list[tuple[np.ndarray, float, tuple, float, int, str | None]] = []

    def decode(self, aligned: list[tuple[np.ndarray, float]], period: tuple,
               frames: int, canonical_first: bool = False, transform: str | None = None
               ) -> None:
        """Decode each aligned phase of one period; ``transform``: the change to the frames
        that the search undid to find these tiles (None: none)."""
        for i, (chips, sync) in enumerate(aligned):
            canonical = canonical_first and i == 0
            message, soft, z = decode(chips, self.lay, self.list_size, self.list_from[canonical])
            self.tried.append((soft, float(np.linalg.norm(chips[self.lay.msg_idx])), period,
                               sync, frames, transform))
            if self.raw is None or z > self.raw[1]:
                self.raw = (message, z)
            log10_p = log10_p_value(z, self.share.effective(canonical))
            if crc_ok(message) and (self.best is None or log10_p < self.best[6]
                                    or (log10_p == self.best[6] and z > self.best[2])):
                self.best = (message, soft, z, sync, period, frames, log10_p, transform)

    def blind_p(self) -> float:
        return 1.0 if self.best is None else 10.0 ** self.best[6]


def _result(trials: _Trials, lookup: tuple | None, hypotheses: int,
            codebook: Codebook | None, cfg: WatermarkConfig, frames: int) -> WatermarkResult:
    """The decision: the blind test alone, or with candidates ``2 · min(p_blind, p_lookup)``."""
    best, raw = trials.best, trials.raw
    decoded = None if raw is None else _hex(raw[0])
    blind_p = trials.blind_p()
    blind = {"blind_p_value": blind_p, "blind_payload": None if best is None else _hex(best[0]),
             "blind_z": best[2] if best is not None else (0.0 if raw is None else raw[1])}
    n_cand = len(codebook) if codebook is not None else 0
    if lookup is not None and lookup[0] < blind_p:  # the store-aided test decides
        lookup_p, z, k, payload = lookup
        soft, _, period, sync, used, transform = trials.tried[k]
        p = min(1.0, 2.0 * lookup_p)
        message = np.unpackbits(np.frombuffer(bytes.fromhex(payload), np.uint8))
        detected = p <= cfg.fpr
        return WatermarkResult(detected, payload if detected else None, p,
                               bit_confidences(protect(message), soft)[:PAYLOAD_BITS],
                               used if detected else frames, z,
                               sync, (float(period[0]), float(period[1])), decoded,
                               lookup_p_value=lookup_p, candidates=n_cand, method="lookup",
                               transform=transform if detected else None, **blind)
    lookup_p = None if lookup is None else lookup[0]
    if best is None:
        return WatermarkResult(False, None, 1.0, np.full(PAYLOAD_BITS, 0.5), frames,
                               0.0 if raw is None else raw[1], decoded=decoded,
                               lookup_p_value=lookup_p, candidates=n_cand, **blind)
    message, soft, z, sync, period, used, _, transform = best
    p = blind_p if lookup is None else min(1.0, 2.0 * blind_p)
    hexp = _hex(message)
    detected = p <= cfg.fpr
    return WatermarkResult(detected, hexp if detected else None, p,
                           bit_confidences(message, soft)[:PAYLOAD_BITS],
                           used if detected else frames, z, sync,
                           (float(period[0]), float(period[1])), hexp, lookup_p_value=lookup_p,
                           candidates=n_cand, transform=transform if detected else None, **blind)


def _periods_to_decode(acc: ResidualAccumulator, lay: Layout,
                       folded: list[tuple[tuple[float, float], np.ndarray]] | None = None,
                       ) -> list[tuple[tuple[float, float], np.ndarray, bool]]:
    """``(period, folded tile)`` for the expected period and the pool's best by pilot
    correlation, ``cfg.period_candidates`` in all. The pilot is independent of the message
    chips, so choosing by it leaves the message test (and the Bonferroni count) as it was.
    ``folded``: receives every ``(period, tile)`` folded, the pool's included."""
    expected, pool = acc.folded(lay.n)
    ranked = [(pilot_sync(tile, lay), p, tile) for p, tile in pool]
    if folded is not None:
        folded.extend(expected + pool)
    ranked.sort(key=lambda r: -r[0])
    room = max(0, acc.cfg.period_candidates - len(expected))
    return [(p, tile, True) for p, tile in expected] + [(p, tile, False)
                                                      for _, p, tile in ranked[:room]]


def _hex(message: np.ndarray) -> str:
    return np.packbits(message[:PAYLOAD_BITS]).tobytes().hex()
