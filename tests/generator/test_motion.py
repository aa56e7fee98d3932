from __future__ import annotations

import numpy as np
import torch

from generator.grammar import condition_ids, null_condition, parse_prompt
from generator.motion import HINT_SLOTS, hint_channels, motion_hints, slot_velocities
from generator.render import render_scene


def _clip(prompt: str) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
    scene = parse_prompt(prompt)
    clip = render_scene(scene, 8, 32, np.random.default_rng(0))  # (T, H, W, 3)
    x = torch.from_numpy(clip.transpose(3, 0, 1, 2)[None].astype(np.float32) / 127.5 - 1)
    return clip, x, torch.from_numpy(condition_ids(scene))[None]


def test_velocities_follow_the_prompt_and_unknowns_are_flagged():
    cond = torch.from_numpy(np.stack([
        condition_ids(parse_prompt("a red circle moving quickly right, camera panning left")),
        condition_ids(parse_prompt("a red circle")),  # no direction, no camera
    ]))
    vel, known = slot_velocities(cond, 32)
    assert vel.shape == (2, HINT_SLOTS, 2) and known.shape == (2, HINT_SLOTS)
    assert torch.allclose(vel[0, 0], torch.tensor([2.5, 0.0]))  # 2 px/frame + the pan's 0.5
    assert torch.allclose(vel[0, -1], torch.tensor([0.5, 0.0]))  # the background moves back
    assert known[0].tolist() == [True, False, True]  # second object absent
    assert known[1].tolist() == [False, False, False]
    assert torch.allclose(slot_velocities(cond, 64)[0], 2 * vel)  # pixels scale with the size


def test_hints_move_the_last_clean_frame_onto_the_object():
    clip, x, cond = _clip("a red circle moving quickly down on a blue background, camera static")
    t = torch.tensor([[0.0, 0.0, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]])
    hints = motion_hints(x, t, cond, 32)
    assert hints.shape == (1, hint_channels(3), 8, 32, 32)
    red = (clip[..., 0].astype(int) - clip[..., 1:].max(-1)) > 80  # (T, H, W) object mask
    for j in range(2, 8):
        on_object = torch.from_numpy(red[j])
        moved = (hints[0, 0:3, j] - x[0, :, j]).abs()[:, on_object].mean()
        copied = (x[0, :, 1] - x[0, :, j]).abs()[:, on_object].mean()
        assert moved < 0.05 < copied
    assert hints[0, 3, :, 0, 0].tolist() == [0, 0, 1, 1, 1, 1, 1, 1]  # flags: only after it
    assert torch.all(hints[0, 4:8] == 0)  # the absent second object has no hint


def test_no_clean_prefix_or_null_prompt_gives_no_hints():
    _, x, cond = _clip("a red circle moving left, camera static")
    assert torch.all(motion_hints(x, torch.tensor([0.5]), cond, 32) == 0)
    assert torch.all(motion_hints(x, torch.full((1, 8), 0.5), cond, 32) == 0)
    null = torch.from_numpy(null_condition())[None]
    assert torch.all(motion_hints(x, torch.tensor([[0.0] + [0.5] * 7]), null, 32) == 0)
