"""Forensic front end: fixed (not learned) residual filters that survive compression.

Input: three consecutive frames of one patch, ``(B, 3 frames, 3 RGB, P, P)``, values in [0, 1]
(or uint8, scaled here). Output: ``(B, IN_CHANS, P, P)``:

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

Residuals are taken at native resolution; nothing is resized before them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ForensicFeatures", "IN_CHANS", "srm_kernels"]

IN_CHANS = 10
_LUMA = (0.299, 0.587, 0.114)


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
    """SRM + NPR + temporal residuals of a frame triplet (no learned parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("srm", srm_kernels(), persistent=False)  # (3, 1, 5, 5)
        self.register_buffer("luma", torch.tensor(_LUMA).view(1, 1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        if x.ndim != 5 or x.shape[1] != 3 or x.shape[2] != 3:
            raise ValueError(f"expected (B, 3, 3, P, P) frame triplets, got {tuple(x.shape)}")
        mid = x[:, 1]  # (B, 3, P, P)
        y = (x * self.luma).sum(dim=2)  # (B, 3 frames, P, P) luma
        srm = F.conv2d(F.pad(y[:, 1:2], (2, 2, 2, 2), mode="replicate"), self.srm)  # (B, 3, P, P)
        outer = F.conv2d(F.pad(y[:, 0::2], (2, 2, 2, 2), mode="replicate").flatten(0, 1)
                         .unsqueeze(1), self.srm[:1]).view(-1, 2, *y.shape[-2:])  # (B, 2, P, P)
        down = mid[..., ::2, ::2]  # (B, 3, P/2, P/2)
        npr = mid - F.interpolate(down, scale_factor=2.0, mode="nearest")  # (B, 3, P, P)
        d1 = (y[:, 2] - y[:, 1]).unsqueeze(1)  # (B, 1, P, P)
        d2 = (y[:, 2] - 2 * y[:, 1] + y[:, 0]).unsqueeze(1)  # (B, 1, P, P)
        return torch.cat([srm, outer, npr, d1, d2], dim=1)  # (B, 10, P, P)
