"""The denoiser: a space-time factorised (2+1)D U-Net with FiLM conditioning.

Input ``x`` is ``(B, C, T, H, W)``; every block applies a spatial 1×3×3 convolution and a
temporal 3×1×1 convolution, and the bottleneck adds temporal self-attention. The time and
the prompt (one learned embedding per condition slot, token 0 = null) are mapped to one
embedding that scales and shifts every block (FiLM). ``t`` is one noise level per clip or one
per frame: with per-frame levels a clip can hold clean frames (``t = 0``) beside noisy ones,
which is how the model continues a clip frame by frame (autoregressive sampling, see
``pipeline.py``); such a clip can also get motion hints (``motion.py``). Spatial resolution
halves per level; time is never downsampled. ``forward`` returns the flow-matching velocity
``ε − x₀``; by default the network itself predicts the clean sample ``x₀`` and converts it
(``prediction``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from generator.config import UNetConfig
from generator.motion import hint_channels, motion_hints

__all__ = ["UNet3D", "timestep_embedding"]


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of ``t`` in [0, 1]: ``(B,)`` → ``(B, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]  # (B, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class ResBlock(nn.Module):
    """GN-SiLU-conv(space) → FiLM → SiLU-conv(space), then a zero-initialised temporal conv."""

    def __init__(self, cin: int, cout: int, emb_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, cin), cin)
        self.conv1 = nn.Conv3d(cin, cout, (1, 3, 3), padding=(0, 1, 1))
        self.film = nn.Linear(emb_dim, 2 * cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv3d(cout, cout, (1, 3, 3), padding=(0, 1, 1))
        self.norm_t = nn.GroupNorm(groups, cout)
        self.conv_t = nn.Conv3d(cout, cout, (3, 1, 1), padding=(1, 0, 0))
        nn.init.zeros_(self.conv_t.weight)
        nn.init.zeros_(self.conv_t.bias)
        self.skip = nn.Conv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (B, cout, T, H, W)
        film = self.film(emb).transpose(1, 2)[..., None, None]  # (B, 2·cout, T or 1, 1, 1)
        scale, shift = film.chunk(2, dim=1)
        h = self.conv2(F.silu(self.norm2(h) * (1 + scale) + shift))
        h = h + self.conv_t(F.silu(self.norm_t(h)))  # temporal mixing
        return self.skip(x) + h


class TemporalAttention(nn.Module):
    """Self-attention along time at every spatial position."""

    def __init__(self, channels: int, groups: int, heads: int = 4) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)
        nn.init.zeros_(self.attn.out_proj.weight)
        nn.init.zeros_(self.attn.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        seq = self.norm(x).permute(0, 3, 4, 2, 1).reshape(b * h * w, t, c)  # (BHW, T, C)
        out, _ = self.attn(seq, seq, seq, need_weights=False)
        return x + out.reshape(b, h, w, t, c).permute(0, 4, 3, 1, 2)


class UNet3D(nn.Module):
    """The (2+1)D U-Net: ``forward(x, t, cond) -> velocity`` with ``x (B, C, T, H, W)``,
    ``t`` in [0, 1] as ``(B,)`` (one level per clip) or ``(B, T)`` (one per frame), and
    ``cond (B, S)`` int64 token ids."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = c = config
        e = c.emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.slots = nn.ModuleList(nn.Embedding(n, c.slot_dim) for n in c.slot_sizes)
        self.cond_mlp = nn.Sequential(nn.Linear(c.slot_dim * len(c.slot_sizes), e), nn.SiLU(),
                                      nn.Linear(e, e))
        ch = c.channels
        pc = c.in_channels * c.patch * c.patch
        extra = hint_channels(c.in_channels) if c.motion_hints else 0
        self.stem = nn.Conv3d((c.in_channels + extra) * c.patch * c.patch, ch[0], (1, 3, 3),
                              padding=(0, 1, 1))
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips = [ch[0]]
        cin = ch[0]
        for i, cout in enumerate(ch):
            for _ in range(c.blocks_per_level):
                self.down.append(ResBlock(cin, cout, e, c.groups))
                cin = cout
                skips.append(cin)
            if i < len(ch) - 1:
                self.downsample.append(nn.Conv3d(cin, cin, (1, 3, 3), stride=(1, 2, 2),
                                                 padding=(0, 1, 1)))
                skips.append(cin)
        self.mid1 = ResBlock(cin, cin, e, c.groups)
        self.mid_attn = TemporalAttention(cin, c.groups) if c.temporal_attention else nn.Identity()
        self.mid2 = ResBlock(cin, cin, e, c.groups)
        self.up = nn.ModuleList()
        for i, cout in reversed(list(enumerate(ch))):
            for _ in range(c.blocks_per_level + 1):
                self.up.append(ResBlock(cin + skips.pop(), cout, e, c.groups))
                cin = cout
        self.out_norm = nn.GroupNorm(c.groups, cin)
        self.out = nn.Conv3d(cin, pc, (1, 3, 3), padding=(0, 1, 1))
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def embed(self, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Time and prompt → ``(B, T', emb_dim)``, ``T'`` = 1 for ``t (B,)``, T for ``(B, T)``."""
        t2 = t.reshape(t.shape[0], -1)  # (B, T')
        temb = self.time_mlp(timestep_embedding(t2.reshape(-1), self.config.emb_dim))
        temb = temb.reshape(*t2.shape, -1)  # (B, T', E)
        slots = torch.cat([emb(cond[:, i]) for i, emb in enumerate(self.slots)], dim=-1)
        return F.silu(temb + self.cond_mlp(slots)[:, None])

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        emb = self.embed(t, cond)
        inp = x
        if self.config.motion_hints:  # the clean prefix moved as the prompt says
            inp = torch.cat([x, motion_hints(x, t, cond, x.shape[-1])], dim=1)
        h = self.stem(_unshuffle(inp, self.config.patch))  # (B, c0, T, H/p, W/p)
        hs = [h]
        per = self.config.blocks_per_level
        for i in range(len(self.config.channels)):
            for j in range(per):
                h = self.down[i * per + j](h, emb)
                hs.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)  # (B, c, T, H/2, W/2)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for k, block in enumerate(self.up):
            h = block(torch.cat([h, hs.pop()], dim=1), emb)
            level_end = (k + 1) % (per + 1) == 0
            if level_end and hs:
                h = F.interpolate(h, scale_factor=(1, 2, 2), mode="nearest")  # (B, c, T, 2H, 2W)
        out = _shuffle(self.out(F.silu(self.out_norm(h))), self.config.patch)  # (B, C, T, H, W)
        if self.config.prediction == "velocity":
            return out
        t = t.to(x.dtype).clamp(min=self.config.t_min).reshape(x.shape[0], 1, -1, 1, 1)
        return (x - out) / t  # velocity from the predicted clean sample


def _unshuffle(x: torch.Tensor, p: int) -> torch.Tensor:
    """Space to depth: ``(B, C, T, H, W)`` → ``(B, C·p², T, H/p, W/p)``."""
    if p == 1:
        return x
    b, c, t, h, w = x.shape
    x = x.reshape(b, c, t, h // p, p, w // p, p).permute(0, 1, 4, 6, 2, 3, 5)
    return x.reshape(b, c * p * p, t, h // p, w // p)


def _shuffle(x: torch.Tensor, p: int) -> torch.Tensor:
    """Depth to space, the inverse of :func:`_unshuffle`."""
    if p == 1:
        return x
    b, cpp, t, h, w = x.shape
    c = cpp // (p * p)
    x = x.reshape(b, c, p, p, t, h, w).permute(0, 1, 4, 5, 2, 6, 3)
    return x.reshape(b, c, t, h * p, w * p)
