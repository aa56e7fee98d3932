"""Motion hints: the last clean frame, moved the way the prompt says things move.

A prompt names each object's direction and speed and the camera's pan, and the renderer's
training clips move exactly that way (``render.py``: ``SPEED_PX``, ``CAMERA_PX``). When the
model continues a clip (autoregressive sampling, or a training clip with a clean prefix), it
is given, for every later frame ``j``, the last clean frame shifted by ``(j - last)·v`` for
each object's screen velocity ``v`` and for the background's, plus a flag channel saying
which hints are known. The network then only has to pick, per region, the hint that fits
(and draw what was hidden): without this, a FiLM-conditioned U-Net learned colour and shape
from the prompt but ignored its direction, leaving motion to the noise.

Unknown motion gets no hint (zeros, flag 0): a null direction or camera slot, an absent
object, or no clean frame yet. An unspecified speed is taken as "slow".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from generator.grammar import ABSENT_ID, CAMERAS, DIRECTIONS, MAX_OBJECTS, NULL_ID, SPEEDS
from generator.render import CAMERA_PX, SPEED_PX, UNIT

__all__ = ["HINT_SLOTS", "hint_channels", "slot_velocities", "motion_hints"]

#: One hint per object slot, plus one for the background (the camera's pan).
HINT_SLOTS = MAX_OBJECTS + 1
_SLOT_WIDTH = 4  # (shape, colour, direction, speed) per object in the condition ids


def hint_channels(in_channels: int) -> int:
    """Extra input channels the hints add: a shifted frame and a flag per hint slot."""
    return HINT_SLOTS * (in_channels + 1)


def _table(values: list[tuple[float, float]]) -> torch.Tensor:
    return torch.tensor([(0.0, 0.0), (0.0, 0.0), *values], dtype=torch.float32)  # null, absent


_DIR = _table([UNIT[d] for d in DIRECTIONS])  # (2 + n_dir, 2) unit vectors by token id
_SPEED = torch.tensor([SPEED_PX["slow"], SPEED_PX["slow"], *(SPEED_PX[s] for s in SPEEDS)])
_CAM = _table([UNIT[c] for c in CAMERAS])


def slot_velocities(cond: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Screen velocities (pixels per frame in a frame ``size`` pixels wide) of the hint slots.

    ``cond (B, S)`` condition ids -> ``(velocity (B, K, 2) as (x, y), known (B, K) bool)``,
    the objects first, then the background."""
    scale = size / 32.0
    cond = cond.long().cpu()
    cam_id = cond[:, -1]
    camera = _CAM[cam_id] * CAMERA_PX * scale  # (B, 2): the view moves, the scene shifts back
    vel, known = [], []
    for k in range(MAX_OBJECTS):
        d_id, s_id = cond[:, k * _SLOT_WIDTH + 2], cond[:, k * _SLOT_WIDTH + 3]
        vel.append(_DIR[d_id] * (_SPEED[s_id] * scale)[:, None] - camera)
        known.append((d_id != NULL_ID) & (d_id != ABSENT_ID))
    vel.append(-camera)
    known.append(cam_id != NULL_ID)
    return torch.stack(vel, 1), torch.stack(known, 1)


def motion_hints(x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, hint_channels(C), T, H, W)`` hints for ``x (B, C, T, H, W)`` at noise ``t``.

    The clean prefix is the leading frames with ``t = 0`` (``t`` per frame, ``(B, T)``); a
    clip-level ``t (B,)`` has none, and then every hint is zero."""
    b, c, frames, h, w = x.shape
    out = x.new_zeros(b, HINT_SLOTS, frames, c + 1, h, w)
    k = torch.cumprod((t == 0).long(), dim=1).sum(dim=1) if t.dim() == 2 else t.new_zeros(b)
    if not bool((k > 0).any()):  # no clean prefix anywhere: no hints
        return out.reshape(b, -1, frames, h, w)
    k = k.long()  # (B,) length of each clip's clean prefix
    last = x[torch.arange(b), :, (k - 1).clamp(min=0)]  # (B, C, H, W)
    vel, known = slot_velocities(cond, size)
    vel, known = vel.to(x), known.to(x.device)
    since = torch.arange(frames, device=x.device)[None] - (k - 1)[:, None]  # (B, T)
    use = (since > 0) & (k > 0)[:, None]  # (B, T): noisy frames after a clean prefix
    disp = vel[:, :, None, :] * since.clamp(min=0)[:, None, :, None].to(x)  # (B, K, T, 2)
    # grid_sample reads input at (p - disp): normalised coordinates, align_corners=False.
    ys = (torch.arange(h, device=x.device, dtype=x.dtype) + 0.5) * (2.0 / h) - 1.0
    xs = (torch.arange(w, device=x.device, dtype=x.dtype) + 0.5) * (2.0 / w) - 1.0
    base = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # (H, W, 2) as (x, y)
    shift = disp * torch.tensor([2.0 / w, 2.0 / h], device=x.device, dtype=x.dtype)
    grid = base[None] - shift.reshape(-1, 1, 1, 2)  # (B·K·T, H, W, 2)
    src = last[:, None, None].expand(b, HINT_SLOTS, frames, c, h, w).reshape(-1, c, h, w)
    moved = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)
    on = (use[:, None, :] & known[:, :, None]).to(x)  # (B, K, T)
    out[:, :, :, :c] = moved.reshape(b, HINT_SLOTS, frames, c, h, w) * on[..., None, None, None]
    out[:, :, :, c] = on[..., None, None]
    return out.permute(0, 1, 3, 2, 4, 5).reshape(b, -1, frames, h, w)
