"""The looks a detection decides on: which exist, and how they are counted."""

from __future__ import annotations

import numpy as np
import pytest

import watermark.detection as detection
from tests.watermark.conftest import KEY, PAYLOAD
from watermark import WatermarkConfig, detect
from watermark.looks import Looks, _fine_look
from watermark.decision import Allocation
from watermark.windows import WINDOW_GROUPS


@pytest.mark.parametrize(("shape", "n_even", "stride"), [
    ((144, 176), 119, 1),     # a 4 s QCIF clip: every sampled frame
    ((144, 176), 300, 2),     # twice the budget: every other frame
    ((144, 176), 400, None),  # more: no fine look
    ((720, 1280), 32, None),  # 720p (downscaled to 400 lines): too costly
    ((144, 176), None, None),  # a stream of unknown length
])
def test_the_fine_look_exists_where_its_budget_covers_every_other_frame(
        shape: tuple[int, int], n_even: int | None, stride: int | None) -> None:
    fine = _fine_look(WatermarkConfig(), *shape, n_even)
    assert (fine.stride if fine is not None else None) == stride
    if fine is not None:
        assert fine.method == "nlm"
    assert _fine_look(WatermarkConfig(fine_look_pixels=0), *shape, n_even) is None


def test_a_strided_look_uses_every_other_frame(small_marked: np.ndarray) -> None:
    acc = detection.ResidualAccumulator(WatermarkConfig(), "bilateral", stride=2)
    for frame in small_marked[:7]:
        acc.add(frame)
    assert acc.frames == 4 and acc.offered == 7


def test_each_look_is_a_bonferroni_factor(small_marked: np.ndarray,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    canonical: list[int] = []
    original = detection.Allocation

    def spy(hypotheses: int, n_canonical: int = 0, share: float = 0.0) -> Allocation:
        seen.append(hypotheses)
        canonical.append(n_canonical)
        return original(hypotheses, n_canonical, share)

    monkeypatch.setattr(detection, "Allocation", spy)
    cfg = WatermarkConfig()
    per_look = cfg.period_candidates * cfg.phase_candidates
    # the rotation search's one group, the orientation search's one per look and the
    # window search's WINDOW_GROUPS, counted even unrun
    def searches(looks: int) -> int:
        return (1 + looks + WINDOW_GROUPS) * cfg.phase_candidates
    looks = Looks(cfg, len(small_marked))
    for i, frame in enumerate(small_marked):
        looks.add(frame, even=True, key=i == 0)
    # the fine look keeps its frames; their residuals wait until the test needs them
    assert looks.fine is not None and len(looks.fine.pending) == len(small_marked)
    r = looks.analyse(KEY.encode())
    # every, key frames, fine, median, motion: the fine look is counted though the others
    # found the mark without it (it was not computed)
    assert r.payload == PAYLOAD and seen[-1] == 5 * per_look + searches(5)
    assert canonical[-1] == 5  # one canonical hypothesis (own period, phase 0) per look
    assert looks.fine.frames == 0
    other = Looks(cfg, len(small_marked))
    for i, frame in enumerate(small_marked):
        other.add(frame, even=True, key=i == 0)
    assert not other.analyse(b"another key").detected  # nothing found: the fine look is made
    assert other.fine.frames == len(small_marked) and seen[-1] == 5 * per_look + searches(5)
    assert canonical[-1] == 5
    assert other.motion.frames == len(small_marked)
    detect(iter(list(small_marked)), KEY)  # a stream of unknown length: no fine look
    assert seen[-1] == 3 * per_look + searches(3)
    detect(small_marked, KEY)  # an array: its length is known, so the fine look is made
    assert seen[-1] == 4 * per_look + searches(4)
    detect(small_marked, KEY, WatermarkConfig(median_look=False, rotation_search=False))
    assert seen[-1] == 3 * per_look + (3 + WINDOW_GROUPS) * cfg.phase_candidates
    detect(small_marked, KEY, WatermarkConfig(median_look=False, rotation_search=False,
                                              orientation_search=False))
    assert seen[-1] == 3 * per_look + WINDOW_GROUPS * cfg.phase_candidates
    detect(small_marked, KEY, WatermarkConfig(median_look=False, motion_look_pixels=0,
                                              rotation_search=False, orientation_search=False,
                                              window_search=False))
    assert seen[-1] == 2 * per_look
    detect(small_marked[0], KEY)  # a still: one frame, no neighbours, so no motion look
    assert seen[-1] == 3 * per_look + searches(3)  # every, fine, median


def test_a_look_made_later_joins_the_same_test(small_marked: np.ndarray) -> None:
    cfg = WatermarkConfig()
    every, median = (detection.ResidualAccumulator(cfg, m) for m in ("bilateral", "median"))
    for frame in small_marked:
        every.add(frame)
        median.add(frame)
    whole = detection.KeyTest([every, median], KEY.encode()).result()
    test = detection.KeyTest([every], KEY.encode(), counted_looks=2)
    test.add_looks([median])
    stepwise = test.result()
    assert whole.payload == stepwise.payload == PAYLOAD
    assert stepwise.p_value == pytest.approx(whole.p_value, rel=1e-12)
    assert stepwise.z_score == pytest.approx(whole.z_score, rel=1e-12)
    # a look beyond the count would break the false-positive rate: refused
    with pytest.raises(RuntimeError, match="counted"):
        test.add_looks([every])


def test_an_unmarked_clip_decodes_each_look_once(small_clip: np.ndarray,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    original = detection._periods_to_decode

    def spy(acc: detection.ResidualAccumulator, *args: object) -> list:
        decoded.append(acc.method)
        return original(acc, *args)

    monkeypatch.setattr(detection, "_periods_to_decode", spy)
    looks = Looks(WatermarkConfig(), len(small_clip))
    for i, frame in enumerate(small_clip):
        looks.add(frame, even=True, key=i == 0)
    assert not looks.analyse([KEY.encode(), b"a retired key"]).detected
    # the fine look is made after the others found nothing; no look is decoded twice
    assert sorted(decoded) == sorted(2 * ["bilateral", "nlm", "nlm", "median", "motion"])


def test_the_median_look_keeps_the_pattern_on_sharp_two_tone_edges() -> None:
    """scikit-image's horse (a black silhouette on white) panned, marked, contrast 1.3: the
    bilateral prediction keeps each edge pixel to itself and so cancels its pattern; the
    5×5 median restores the edge without it. Measured with the embedded codeword at the
    embedder's own period and phase (an oracle), look against look."""
    from provenant.samples import sample_photos
    from watermark import embed
    from watermark.attacks import Clip, make_attack
    from watermark.config import parse_payload, resolve_key
    from watermark.ecc import encode, protect
    from watermark.pattern import layout
    from watermark.testing import photo_pan_clip

    cfg = WatermarkConfig()
    clip = np.stack(photo_pan_clip(sample_photos()["horse"], 480, 640, 8, seed=5))
    marked = embed(clip, PAYLOAD, KEY, cfg)
    frames = make_attack("contrast_1.3")(Clip(list(marked), 25.0), {}).frames
    lay = layout(resolve_key(KEY), cfg.tile_chips, cfg.pilot_fraction)
    code = 1.0 - 2.0 * encode(protect(parse_payload(PAYLOAD))).astype(np.float64)
    signs = code[lay.msg_bit] * lay.msg_pn

    def true_z(method: str) -> float:
        acc = detection.ResidualAccumulator(cfg, method)
        for frame in frames:
            acc.add(frame)
        tile = detection.fold(acc.total, (acc.expected, acc.expected), lay.n)
        chips = tile.reshape(lay.n, 2, lay.n, 2).sum(axis=(1, 3)).ravel()[lay.msg_idx]
        return float(signs @ chips / np.linalg.norm(chips))

    bilateral, median = true_z("bilateral"), true_z("median")
    assert median > 1.5 * bilateral and median > 8.0
