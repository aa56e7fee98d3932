"""The keyed chip tile: layout, pilot and message chips, and its rendering to pixels.

A tile is ``n×n`` chips (``n = tile_chips``). A keyed permutation picks which chips carry the
sync pilot (known ±1 values) and which carry the message; message chip ``k`` (in permuted
order) carries code bit ``k mod N`` times its own keyed ±1 PN value. Pilot and message PN
come from independent HMAC-derived streams, so choosing alignment from the pilot leaves the
message chips' statistics untouched (this is what makes the p-value exact; see detect.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter

from watermark.config import PAYLOAD_BITS, WatermarkConfig, derive_rng
from watermark.ecc import CRC_BITS, code_length, encode, protect

__all__ = ["Layout", "layout", "chip_tile", "render_tile", "frame_pattern", "SAMPLES_PER_CHIP"]

#: Samples per chip in the tile that detection folds the frames' residual onto.
SAMPLES_PER_CHIP = 2


@dataclass(frozen=True)
class Layout:
    """Keyed roles of the ``n×n`` chips (all arrays flattened row-major, length ``n*n``)."""

    n: int
    pilot_idx: np.ndarray  # (n_pilot,) chip indices of the pilot
    pilot_pn: np.ndarray  # (n_pilot,) ±1
    msg_idx: np.ndarray  # (n_msg,) chip indices of message chips
    msg_pn: np.ndarray  # (n_msg,) ±1
    msg_bit: np.ndarray  # (n_msg,) code-bit index of each message chip
    n_code: int

    def pilot_chips(self) -> np.ndarray:
        """``(n, n)`` tile with the pilot values and zeros on message chips."""
        tile = np.zeros(self.n * self.n, dtype=np.float32)
        tile[self.pilot_idx] = self.pilot_pn
        return tile.reshape(self.n, self.n)

    @cached_property
    def pilot_spectrum(self) -> np.ndarray:
        """Conjugate spectrum (``rfft2``) of the pilot at ``SAMPLES_PER_CHIP`` samples per
        chip: detection's circular cross-correlation with a folded tile is one product."""
        tmpl = np.kron(self.pilot_chips(), np.ones((SAMPLES_PER_CHIP, SAMPLES_PER_CHIP),
                                                   np.float32))
        return np.conj(np.fft.rfft2(tmpl))


@lru_cache(maxsize=32)
def layout(key: bytes, tile_chips: int, pilot_fraction: float) -> Layout:
    """The chip layout for ``key`` (cached)."""
    total = tile_chips * tile_chips
    n_pilot = int(round(total * pilot_fraction))
    perm = derive_rng(key, "layout").permutation(total)
    pilot_idx, msg_idx = perm[:n_pilot], perm[n_pilot:]
    pilot_pn = derive_rng(key, "pilot").choice([-1.0, 1.0], size=n_pilot).astype(np.float32)
    msg_pn = derive_rng(key, "message").choice([-1.0, 1.0], size=len(msg_idx)).astype(np.float32)
    n_code = code_length(PAYLOAD_BITS + CRC_BITS)
    msg_bit = np.arange(len(msg_idx)) % n_code
    return Layout(tile_chips, pilot_idx, pilot_pn, msg_idx, msg_pn, msg_bit, n_code)


def chip_tile(key: bytes, bits: np.ndarray, cfg: WatermarkConfig) -> np.ndarray:
    """``(n, n)`` ±1 chip values carrying ``bits`` (64 payload bits) under ``key``."""
    lay = layout(key, cfg.tile_chips, cfg.pilot_fraction)
    code_sign = 1.0 - 2.0 * encode(protect(bits)).astype(np.float32)  # (n_code,)
    flat = np.zeros(lay.n * lay.n, dtype=np.float32)
    flat[lay.pilot_idx] = lay.pilot_pn
    flat[lay.msg_idx] = lay.msg_pn * code_sign[lay.msg_bit]
    return flat.reshape(lay.n, lay.n)


def render_tile(chips: np.ndarray, chip: int) -> np.ndarray:
    """``(n, n)`` chips -> ``(n*chip, n*chip)`` float32 smooth periodic tile of unit RMS."""
    tile = np.kron(chips, np.ones((chip, chip), dtype=np.float32))
    if chip >= 2:
        tile = gaussian_filter(tile, sigma=0.3 * chip, mode="wrap")
    return (tile / np.sqrt(np.mean(tile**2))).astype(np.float32)


@lru_cache(maxsize=8)
def _cached_pattern(key: bytes, payload: bytes, height: int, width: int,
                    cfg: WatermarkConfig) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))
    tile = render_tile(chip_tile(key, bits, cfg), cfg.chip_size(height, width))
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]))
    out = np.tile(tile, reps)[:height, :width]
    out.setflags(write=False)
    return out  # (H, W) float32


def frame_pattern(key: bytes, bits: np.ndarray, height: int, width: int,
                  cfg: WatermarkConfig) -> np.ndarray:
    """The ``(height, width)`` unit-RMS pattern for a frame (cached per resolution)."""
    payload = np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes()
    return _cached_pattern(key, payload, height, width, cfg)
