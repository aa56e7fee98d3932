"""The motion look: content predicted from neighbouring frames aligned by optical flow."""

from __future__ import annotations

import numpy as np
import pytest

from provenant.errors import MediaError
from tests.watermark.conftest import KEY, PAYLOAD
from watermark import WatermarkConfig
from watermark.detection import ResidualAccumulator, fold
from watermark.residuals import predict_residual, working_luma
from watermark.motion import GAP_FRAMES, MotionAccumulator, motion_residual


def _codeword_z(acc: ResidualAccumulator, cfg: WatermarkConfig) -> float:
    """z of the embedded codeword at the embedder's own period and phase (an oracle)."""
    from watermark.config import parse_payload, resolve_key
    from watermark.ecc import encode, protect
    from watermark.pattern import layout

    lay = layout(resolve_key(KEY), cfg.tile_chips, cfg.pilot_fraction)
    code = 1.0 - 2.0 * encode(protect(parse_payload(PAYLOAD))).astype(np.float64)
    tile = fold(acc.total, (acc.expected, acc.expected), lay.n)
    chips = tile.reshape(lay.n, 2, lay.n, 2).sum(axis=(1, 3)).ravel()[lay.msg_idx]
    return float((code[lay.msg_bit] * lay.msg_pn) @ chips / np.linalg.norm(chips))


def test_on_a_moving_camera_the_motion_look_keeps_more_of_the_pattern_than_a_filter() -> None:
    """scikit-image's grass photo panned, marked and re-encoded at H.264 CRF 28: the fine
    texture is what a spatial filter cannot tell from the pattern, and what the neighbours,
    aligned by the flow, predict."""
    from provenant.samples import sample_photos
    from watermark import embed
    from watermark.attacks import Clip, make_attack
    from watermark.testing import photo_pan_clip

    cfg = WatermarkConfig()
    clip = np.stack(photo_pan_clip(sample_photos()["grass"], 240, 320, 30, seed=4))
    marked = Clip(list(embed(clip, PAYLOAD, KEY, cfg)), 25.0)
    frames = make_attack("h264_crf28")(marked, {}).frames
    bilateral, motion = ResidualAccumulator(cfg), MotionAccumulator(cfg)
    for i, frame in enumerate(frames):
        shape, g = working_luma(frame, cfg.work_side)
        bilateral.add_working(shape, g)
        motion.add_frame(shape, g, i)
    motion.settle()
    assert motion.frames == bilateral.frames == len(frames)
    assert motion.shape == bilateral.shape == (240, 320)  # read by the period hypotheses
    z_bilateral, z_motion = _codeword_z(bilateral, cfg), _codeword_z(motion, cfg)
    assert z_motion > 1.3 * z_bilateral


def test_where_nothing_moves_the_prediction_is_the_bilateral_one() -> None:
    rng = np.random.default_rng(0)
    g = np.clip(128 + 40 * rng.standard_normal((96, 128)), 0, 255).astype(np.float32)
    still = motion_residual(g, [g.copy(), g.copy()], chip=2.0)
    assert np.abs(still - predict_residual(g.copy(), "bilateral")).max() < 0.05
    assert np.array_equal(motion_residual(g, [], chip=2.0), predict_residual(g.copy()))


@pytest.mark.parametrize(("spacing", "step"), [(1, GAP_FRAMES), (2, 2), (4, 1), (30, 1)])
def test_neighbours_are_a_few_frames_away_whatever_the_sampling(spacing: int, step: int) -> None:
    """Neighbours ``step`` samples apart (about GAP_FRAMES frames), and the window the look
    holds stays at 4 * step + 1 frames however long the video (constant memory)."""
    acc = MotionAccumulator(WatermarkConfig())
    g = np.full((64, 80), 100.0, np.float32)
    for n in range(40):
        acc.add_frame((64, 80), g, n * spacing)
        assert len(acc._window) <= 4 * step + 1
    assert acc.neighbour_step == step
    assert acc.frames == 40 - 2 * step  # the last ones wait for neighbours that never come
    acc.settle()
    assert acc.frames == 40 and len(acc._window) == 0
    acc.settle()  # settling twice adds nothing
    assert acc.frames == 40


def test_one_frame_makes_no_look_and_frames_of_another_size_are_refused() -> None:
    acc = MotionAccumulator(WatermarkConfig())
    acc.add_frame((64, 80), np.zeros((64, 80), np.float32), 0)
    acc.settle()
    assert acc.frames == 0 and acc.total is None
    acc.add_frame((64, 80), np.zeros((64, 80), np.float32), 1)
    with pytest.raises(MediaError, match="differs"):
        acc.add_frame((32, 40), np.zeros((32, 40), np.float32), 2)


@pytest.mark.parametrize("shape", [(8, 8), (2, 300), (1, 1)])
def test_frames_too_small_for_the_flow_get_the_bilateral_prediction(
        shape: tuple[int, int]) -> None:
    from watermark import detect

    frames = np.random.default_rng(1).integers(0, 256, (10, *shape, 3), dtype=np.uint8)
    g = frames[0, ..., 0].astype(np.float32)
    assert np.array_equal(motion_residual(g, [g[::-1].copy()], chip=2.0),
                          predict_residual(g.copy()))
    result = detect(frames)
    assert not result.detected and result.frames_used == 10


@pytest.mark.parametrize(("shape", "n_even", "stride"), [
    ((720, 1280), 32, 1),    # a 720p file: its 32 samples, 400x711 at the working scale
    ((480, 640), 75, 1),     # a 3 s 640x480 clip, every frame sampled
    ((360, 640), 128, 2),    # a 10 s 640x360 file: more working pixels than the budget
    ((144, 176), 256, 1),
    ((144, 176), None, 1),   # a stream of unknown length
])
def test_the_motion_look_predicts_what_its_budget_covers(
        shape: tuple[int, int], n_even: int | None, stride: int) -> None:
    from watermark.looks import _motion_look

    assert _motion_look(WatermarkConfig(), *shape, n_even).stride == stride
    assert _motion_look(WatermarkConfig(motion_look_pixels=0), *shape, n_even) is None


def test_a_strided_motion_look_predicts_every_other_frame_from_all_of_them() -> None:
    acc = MotionAccumulator(WatermarkConfig(), stride=2)
    g = np.full((64, 80), 100.0, np.float32)
    for n in range(41):
        acc.add_frame((64, 80), g, n)
    acc.settle()
    assert acc.frames == 21 and acc.neighbour_step == GAP_FRAMES
