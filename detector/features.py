"""Forensic front end: fixed (not learned) residual filters that survive compression.

Input: ``window`` (3 or 5) consecutive frames of one patch, ``(B, window, 3 RGB, P, P)``,
values in [0, 1] (or uint8, scaled here). Output: ``(B, in_chans(window), P, P)``. With three
frames (``IN_CHANS`` = 10):

* 3 SRM channels: the classic steganalysis high-pass kernels (KV 5x5, 3x3 second order,
  1-D second order) on the luma of the middle frame;
* 2 outer SRM channels: the KV residual of the previous and the next frame's luma, so that
  the network can compare the middle frame's fine detail with its neighbours' (a synthesised
  in-between frame is softer than the frames around it, whatever the frame's parity);
* 3 NPR channels: nearest-neighbour upsampling residual ``x - up2(down2(x))`` of the middle
  frame's RGB (upsampling and interpolation leave correlated 2x2 neighbourhoods);
* 2 temporal channels: the luma difference ``f[t+1] - f[t]`` and the second difference
  ``f[t+1] - 2 f[t] + f[t-1]`` (an interpolated frame is close to the mean of its neighbours,
  so its second difference nearly vanishes).

With five frames (14 channels) the outer SRM channels cover the four neighbours, and the
second difference is taken at the three middle frames (``t-1``, ``t``, ``t+1``): frame-rate
up-conversion makes it alternate (small at a made frame, large at the real frames around it),
which one triplet cannot show.

Residuals are taken at native resolution; nothing is resized before them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ForensicFeatures", "IN_CHANS", "in_chans", "srm_kernels", "WINDOWS", "LUMA"]

IN_CHANS = 10
WINDOWS = (3, 5)


def in_chans(window: int = 3) -> int:
    """Channels out of the front end for ``window`` frames: 10 (3 frames) or 14 (5 frames)."""
    return 3 + (window - 1) + 3 + 1 + (window - 2)
LUMA = (0.299, 0.587, 0.114)  # BT.601 luma weights of R, G, B


def srm_kernels() -> torch.Tensor:
    """The three SRM high-pass kernels, ``(3, 1, 5, 5)``."""
    kv = torch.tensor([[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2],
                       [2, -6, 8, -6, 2], [-1, 2, -2, 2, -1]], dtype=torch.float32) / 12.0
    sq = torch.zeros(5, 5)
    sq[1:4, 1:4] = torch.tensor([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], dtype=torch.float32) / 4.0
    line = torch.zeros(5, 5)
    line[2, 1:4] = torch.tensor([1, -2, 1], dtype=torch.float32) / 2.0
    return torch.stack([kv, sq, line]).unsqueeze(1)


class ForensicFeatures(nn.Module):
    """SRM + NPR + temporal residuals of a frame window (no learned parameters)."""

    def __init__(self, window: int = 3) -> None:
        super().__init__()
        if window not in WINDOWS:
            raise ValueError(f"window={window} is invalid; allowed: {WINDOWS}")
        self.window = window
        self.register_buffer("srm", srm_kernels(), persistent=False)  # (3, 1, 5, 5)
        self.register_buffer("luma", torch.tensor(LUMA).view(1, 1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        n = self.window
        if x.ndim != 5 or x.shape[1] != n or x.shape[2] != 3:
            raise ValueError(f"expected (B, {n}, 3, P, P) frame windows, got {tuple(x.shape)}")
        c = n // 2
        mid = x[:, c]  # (B, 3, P, P)
        y = (x * self.luma).sum(dim=2)  # (B, n frames, P, P) luma
        srm = F.conv2d(F.pad(y[:, c:c + 1], (2, 2, 2, 2), mode="replicate"), self.srm)  # (B, 3, P, P)
        others = torch.cat([y[:, :c], y[:, c + 1:]], dim=1)  # (B, n-1, P, P)
        outer = F.conv2d(F.pad(others, (2, 2, 2, 2), mode="replicate").flatten(0, 1)
                         .unsqueeze(1), self.srm[:1]).view(-1, n - 1, *y.shape[-2:])
        down = mid[..., ::2, ::2]  # (B, 3, P/2, P/2)
        npr = mid - F.interpolate(down, scale_factor=2.0, mode="nearest")  # (B, 3, P, P)
        d1 = (y[:, c + 1] - y[:, c]).unsqueeze(1)  # (B, 1, P, P)
        d2 = y[:, 2:] - 2 * y[:, 1:-1] + y[:, :-2]  # (B, n-2, P, P): centres 1..n-2
        return torch.cat([srm, outer, npr, d1, d2], dim=1)  # (B, in_chans(n), P, P)
