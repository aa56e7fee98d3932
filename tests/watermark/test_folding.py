"""The fold memo: a detection testing several keys folds each searched view once."""

from __future__ import annotations

import numpy as np
import pytest

import watermark.folding as folding
from tests.watermark.conftest import KEY
from watermark import WatermarkConfig
from watermark.attacks import Clip, make_attack
from watermark.config import resolve_key
from watermark.detection import ResidualAccumulator
from watermark.folding import FoldMemo
from watermark.pattern import layout
from watermark.rotation import rotation_candidate
from watermark.windows import window_candidates


@pytest.fixture
def folds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """The periods :func:`watermark.folding.fold` is called with, as it is called."""
    calls: list[tuple[float, float]] = []
    real = folding.fold

    def counted(res: np.ndarray, period: tuple[float, float], n: int) -> np.ndarray:
        calls.append(period)
        return real(res, period, n)

    monkeypatch.setattr(folding, "fold", counted)
    return calls


def test_a_view_is_folded_once_per_period(folds: list) -> None:
    memo, made = FoldMemo(), []
    res = np.random.default_rng(0).standard_normal((96, 128)).astype(np.float32)

    def source() -> np.ndarray:
        made.append(1)
        return res

    first = memo.tile("v", (64.0, 64.0), 32, source)
    again = memo.tile("v", (64.0, 64.0), 32, source)
    assert again is first and len(folds) == 1 and len(made) == 1
    other = memo.tile("v", (63.5, 64.0), 32, source)
    assert len(folds) == 2 and not np.array_equal(other, first)
    memo.tile("w", (64.0, 64.0), 32, source)  # another view of the same period
    assert len(folds) == 3
    assert np.array_equal(first, folding.fold(res, (64.0, 64.0), 32))
    assert memo.value("n", lambda: 7) == 7 and memo.value("n", lambda: 8) == 7


def _summed(frames: list[np.ndarray]) -> ResidualAccumulator:
    acc = ResidualAccumulator(WatermarkConfig())
    for frame in frames:
        acc.add(frame)
    return acc


def test_a_second_key_reuses_the_rotation_searchs_folds(attack_marked: np.ndarray,
                                                        folds: list) -> None:
    rotated = make_attack("rotate_5")(Clip(list(attack_marked), 25.0), {})
    acc, cfg = _summed(rotated.frames[:8]), WatermarkConfig()
    lays = [layout(resolve_key(k), cfg.tile_chips, cfg.pilot_fraction)
            for k in (KEY, "another-key")]
    alone = [rotation_candidate(acc.total, cfg, acc.expected, acc.shape, lay) for lay in lays]
    folds.clear()
    memo = FoldMemo()
    shared = [rotation_candidate(acc.total, cfg, acc.expected, acc.shape, lays[0], memo)]
    first = len(folds)
    shared.append(rotation_candidate(acc.total, cfg, acc.expected, acc.shape, lays[1], memo))
    for (a_deg, a_per, a_tile), (s_deg, s_per, s_tile) in zip(alone, shared):
        assert (a_deg, a_per) == (s_deg, s_per) and np.array_equal(a_tile, s_tile)
    assert alone[0][0] == pytest.approx(-5.0, abs=0.5)
    # the coarse grid is folded once; the second key folds only angles its refinement
    # reaches that the first key's did not
    assert first > 0 and len(folds) - first < first / 4
    again = len(folds)
    rotation_candidate(acc.total, cfg, acc.expected, acc.shape, lays[0], memo)
    assert len(folds) == again  # every fold of a repeated search is kept


def test_a_second_key_reuses_the_window_searchs_folds(attack_marked: np.ndarray,
                                                      folds: list) -> None:
    acc, cfg = _summed(list(attack_marked[:6])), WatermarkConfig()
    lays = [layout(resolve_key(k), cfg.tile_chips, cfg.pilot_fraction)
            for k in (KEY, "another-key")]
    alone = [window_candidates(acc.total, cfg, lay) for lay in lays]
    folds.clear()
    memo = FoldMemo()
    window_candidates(acc.total, cfg, lays[0], memo=memo)
    first = len(folds)
    second = window_candidates(acc.total, cfg, lays[1], memo=memo)
    assert first > 0 and len(folds) - first < first / 2  # only the second key's refinements
    for (a_name, a_per, a_tile), (s_name, s_per, s_tile) in zip(alone[1], second):
        assert (a_name, a_per) == (s_name, s_per) and np.array_equal(a_tile, s_tile)


def test_new_frames_forget_the_folds(attack_marked: np.ndarray) -> None:
    acc = _summed(list(attack_marked[:2]))
    kept = acc.memo
    kept.value("x", lambda: 1)
    acc.add(attack_marked[2])
    assert acc.memo is not kept and acc.memo.value("x", lambda: 2) == 2
