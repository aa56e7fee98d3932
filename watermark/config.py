"""The one configuration of the watermark, the key and the payload, validated in one place."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from provenant.errors import ConfigurationError, PayloadError

__all__ = [
    "ALGORITHM",
    "DEFAULT_KEY",
    "KEY_ENV",
    "MAX_KEYS",
    "PAYLOAD_BITS",
    "RETIRED_KEYS_ENV",
    "WatermarkConfig",
    "derive_rng",
    "detection_keys",
    "key_id",
    "parse_payload",
    "resolve_key",
]

#: Algorithm name used in reports and as the C2PA soft-binding algorithm.
ALGORITHM = "io.provenant.watermark.v2"
#: Documented public default key. Anyone can read it: a deployment MUST set its own
#: key (``--key`` or the ``PROVENANT_WATERMARK_KEY`` environment variable).
DEFAULT_KEY = "provenant-default-key"
KEY_ENV = "PROVENANT_WATERMARK_KEY"
#: Keys a deployment has stopped marking with (comma-separated): detection still tests them,
#: so what was marked before a key was rotated is still found (see :func:`detection_keys`).
RETIRED_KEYS_ENV = "PROVENANT_WATERMARK_RETIRED_KEYS"
#: The most keys one detection tests: each costs a share of the false-positive rate.
MAX_KEYS = 8
PAYLOAD_BITS = 64

ChipPolicy = Literal["auto", "fixed"]
ResidualFilter = Literal["bilateral", "gaussian", "nlm", "median"]


@dataclass(frozen=True)
class WatermarkConfig:
    """Every tunable of the watermark. The defaults are what the benchmark measured.

    tile_chips: chips per side of the square tile (the pattern period is ``tile_chips*chip``).
    chip_policy: ``"auto"`` picks the chip size from the frame's shorter side so that about
        ``tiles_across`` tiles span it; ``"fixed"`` always uses ``chip_px``.
    chip_px: chip size in pixels for ``"fixed"``, and the minimum for ``"auto"``.
    still_tiles_across: ``tiles_across`` for a still image (:meth:`for_still`). A video sums
        the pattern over many frames while the content moves; a photo has one frame, whose
        own texture competes with the pattern, and more, smaller chips average it down
        (measured: watermark/README.md, *Still images*).
    target_psnr: each frame's pattern gain is set so the frame's PSNR is about this (dB)...
    alpha: ...but the gain (luma levels at full mask, unit-RMS pattern) never exceeds alpha.
    mask_tau: local luma standard deviation at which the mask saturates to 1.
    pilot_fraction: share of the tile's chips carrying the known sync pilot.
    fpr: false-positive rate per video that the detection test guarantees.
    sample_frames: frames a file detection reads (spread evenly over the video).
    work_side: detection works on frames downscaled so the shorter side is at most this.
    residual_filter: how detection predicts the content it subtracts from each frame:
        ``"bilateral"`` (edge-preserving, so edges leave far less of themselves in the
        residual) or ``"gaussian"`` (a plain low-pass, the v2.0 detector).
    key_frame_filter: the same for the key-frame look; ``"nlm"`` (non-local means) costs
        about 50 ms per working-scale frame and is used there because that look has few frames.
        ``"median"`` is a 5×5 median: it restores a sharp two-tone edge without its pattern.
    median_look: also decide on the evenly sampled frames through the 5×5 median prediction
        (a fourth look; it added about 0.2 s to a 10 s 720p detection): on sharp two-tone
        content the bilateral prediction keeps each edge pixel to itself and so cancels its
        pattern.
    motion_look_pixels: working-scale pixels of the evenly sampled frames whose content the
        motion look predicts from neighbouring samples aligned by optical flow
        (``watermark.motion``; about 0.04 s per million on 2 cores): on a moving camera the
        neighbours show the content without the frame's pattern. Where the sample has more,
        evenly spread ones are predicted (a 10 s 640×360 clip: every other one). 0 turns the
        look off.
    rotation_search: when nothing is found, search the evenly sampled look for a rotation
        of up to ±10° (``watermark.rotation``); it adds ``phase_candidates`` hypotheses to the
        count whether it runs or not.
    orientation_search: when nothing is found, also try the seven mirrorings and quarter
        turns of each look's folded tiles (``watermark.orientation``): a mirrored re-upload,
        or a clip turned a quarter turn. It adds ``phase_candidates`` hypotheses per look to
        the count whether it runs or not.
    window_search: when nothing is found, also search five windows of the frame (its
        quarters and its centre, each half of each side) for a marked picture shown inside
        another one (picture in picture, a collage; ``watermark.windows``), large frames at
        1.5 times the working scale. It adds two groups of ``phase_candidates`` hypotheses to
        the count whether it runs or not.
    rotation_step: degrees between the angles of the rotation search's coarse grid (out to
        ±10°); the best few are then refined. A 2° grid leaves the true angle up to 1° off,
        where the chips of a still or of a short clip have left the folding grid: 14 photos
        rotated 5°, found 2 on the 2° grid and 10 on the 1° one (watermark/README.md).
    fine_look_pixels: working-scale pixels the non-local-means "fine" look may spend on the
        evenly sampled frames (about 0.3 s per million on 2 cores). It is a third look, made
        only where this budget covers at least every other sampled frame: small (or very
        short) videos, whose few pixels need the better content prediction most. 0 turns it off.
    period_candidates: tile periods tried in detection.
    phase_candidates: best pilot phases decoded per period; every decoded (period, phase)
        hypothesis is a Bonferroni factor on the p-value.
    canonical_share: share of ``fpr`` given to the canonical hypotheses (the embedder's own
        period at phase 0, one per look: a re-encode that neither crops nor rescales, the
        commonest fate of a video), the rest going to the others (a weighted union bound;
        0 is the plain count). See watermark/README.md, *The test*.
    list_size: Viterbi paths tried, best first, for the first whose CRC-16 holds, when the
        best path's CRC fails on a hypothesis strong enough to be detected (1: the best
        path only). The test is unchanged: it already covers every CRC-valid codeword.
    """

    tile_chips: int = 32
    chip_policy: ChipPolicy = "auto"
    chip_px: int = 2
    tiles_across: float = 3.0
    still_tiles_across: float = 4.0
    target_psnr: float = 42.5
    alpha: float = 6.0
    mask_tau: float = 6.0
    pilot_fraction: float = 0.125
    fpr: float = 1e-6
    sample_frames: int = 32
    work_side: int = 400
    residual_filter: ResidualFilter = "bilateral"
    key_frame_filter: ResidualFilter = "nlm"
    fine_look_pixels: int = 4_000_000
    median_look: bool = True
    motion_look_pixels: int = 20_000_000
    rotation_search: bool = True
    orientation_search: bool = True
    window_search: bool = True
    rotation_step: float = 1.0
    period_candidates: int = 5
    phase_candidates: int = 8
    canonical_share: float = 0.5
    list_size: int = 32

    def __post_init__(self) -> None:
        _check(self.tile_chips in (16, 32, 64), "tile_chips", self.tile_chips, "16, 32 or 64")
        _check(self.chip_policy in ("auto", "fixed"), "chip_policy", self.chip_policy,
               "'auto' or 'fixed'")
        _check(1 <= self.chip_px <= 64, "chip_px", self.chip_px, "an integer in [1, 64]")
        _check(1.0 <= self.tiles_across <= 16.0, "tiles_across", self.tiles_across, "in [1, 16]")
        _check(1.0 <= self.still_tiles_across <= 16.0, "still_tiles_across",
               self.still_tiles_across, "in [1, 16]")
        _check(0.25 <= self.rotation_step <= 5.0, "rotation_step", self.rotation_step,
               "in [0.25, 5]")
        _check(30.0 <= self.target_psnr <= 60.0, "target_psnr", self.target_psnr, "in [30, 60]")
        _check(0.0 < self.alpha <= 32.0, "alpha", self.alpha, "in (0, 32]")
        _check(0.0 < self.mask_tau <= 64.0, "mask_tau", self.mask_tau, "in (0, 64]")
        _check(0.02 <= self.pilot_fraction <= 0.5, "pilot_fraction", self.pilot_fraction,
               "in [0.02, 0.5]")
        _check(0.0 < self.fpr < 1.0, "fpr", self.fpr, "in (0, 1)")
        _check(1 <= self.sample_frames <= 1024, "sample_frames", self.sample_frames,
               "an integer in [1, 1024]")
        _check(128 <= self.work_side <= 4096, "work_side", self.work_side, "in [128, 4096]")
        for name in ("residual_filter", "key_frame_filter"):
            _check(getattr(self, name) in ("bilateral", "gaussian", "nlm", "median"), name,
                   getattr(self, name), "'bilateral', 'gaussian', 'nlm' or 'median'")
        _check(0 <= self.fine_look_pixels <= 10**9, "fine_look_pixels", self.fine_look_pixels,
               "an integer in [0, 1e9] (0 turns the fine look off)")
        _check(0 <= self.motion_look_pixels <= 10**9, "motion_look_pixels",
               self.motion_look_pixels, "an integer in [0, 1e9] (0 turns the motion look off)")
        _check(1 <= self.period_candidates <= 8, "period_candidates", self.period_candidates,
               "an integer in [1, 8]")
        _check(1 <= self.list_size <= 64, "list_size", self.list_size,
               "an integer in [1, 64]")
        _check(1 <= self.phase_candidates <= 64, "phase_candidates", self.phase_candidates,
               "an integer in [1, 64]")
        _check(0.0 <= self.canonical_share < 1.0, "canonical_share", self.canonical_share,
               "in [0, 1)")

    def for_still(self) -> WatermarkConfig:
        """The configuration a still image is marked and read with: ``still_tiles_across``
        tiles across. A frame grabbed from a marked video (or a video made from a marked
        photo) has the other chip size, which detection still tries among the chips of
        cropped and rescaled originals (``watermark/periods.py``)."""
        return replace(self, tiles_across=self.still_tiles_across)

    def working_pixels(self, height: int, width: int) -> int:
        """Pixels of a ``height×width`` frame at detection's working scale."""
        scale = min(1.0, self.work_side / max(1, min(height, width)))
        return max(1, round(height * scale)) * max(1, round(width * scale))

    def chip_size(self, height: int, width: int) -> int:
        """Chip size in pixels for a ``height×width`` frame."""
        if self.chip_policy == "fixed":
            return self.chip_px
        auto = int(round(min(height, width) / (self.tile_chips * self.tiles_across)))
        return max(self.chip_px, auto)


def _check(ok: bool, name: str, value: object, allowed: str) -> None:
    if not ok:
        raise ConfigurationError(f"WatermarkConfig.{name}={value!r} is invalid; allowed: {allowed}")


def resolve_key(key: str | bytes | None) -> bytes:
    """The secret key as bytes: ``key``, else ``$PROVENANT_WATERMARK_KEY``, else the default."""
    if key is None:
        key = os.environ.get(KEY_ENV) or DEFAULT_KEY
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, bytes) or len(key) == 0:
        raise PayloadError(f"key={key!r} is invalid; give a non-empty string",
                           hint="pass --key or set PROVENANT_WATERMARK_KEY")
    return key


def detection_keys(key: str | bytes | Sequence[str | bytes] | None) -> tuple[bytes, ...]:
    """The keys a detection tests, the current one first: ``key`` (one, or a sequence of
    them, the current one first), else ``$PROVENANT_WATERMARK_KEY`` (or the default)
    followed by the retired keys of ``$PROVENANT_WATERMARK_RETIRED_KEYS``. Repeats are
    dropped; each key tested costs the test a share of its false-positive rate."""
    if key is None:
        retired = [k.strip() for k in os.environ.get(RETIRED_KEYS_ENV, "").split(",")]
        keys = [resolve_key(None), *(resolve_key(k) for k in retired if k)]
    elif isinstance(key, (str, bytes)):
        keys = [resolve_key(key)]
    else:
        keys = [resolve_key(k) for k in key]
        if not keys:
            raise PayloadError("no watermark key was given; give at least one",
                               hint="pass --key or set PROVENANT_WATERMARK_KEY")
    unique = tuple(dict.fromkeys(keys))
    if len(unique) > MAX_KEYS:
        raise PayloadError(f"{len(unique)} watermark keys were given; at most {MAX_KEYS} are "
                           "allowed (each one tested lowers how weak a mark can be found)",
                           hint=f"drop the oldest keys from {RETIRED_KEYS_ENV}")
    return unique


def key_id(key: bytes) -> str:
    """A public name for a secret key (8 hex digits of an HMAC of a fixed label under it):
    it tells keys apart in reports and logs without revealing them."""
    return hmac.new(key, b"provenant.watermark.key-id", hashlib.sha256).hexdigest()[:8]


_HEX = re.compile(r"^(0x)?[0-9a-fA-F]{16}$")


def parse_payload(payload: bytes | str | int) -> np.ndarray:
    """A 64-bit payload (8 bytes, 16 hex digits, or an int) as a ``(64,)`` uint8 bit array."""
    if isinstance(payload, (bytes, bytearray)):
        if len(payload) != 8:
            raise PayloadError(f"payload has {len(payload)} bytes; exactly 8 (64 bits) are allowed")
        raw = bytes(payload)
    elif isinstance(payload, str):
        if not _HEX.match(payload.strip()):
            raise PayloadError(f"payload={payload!r} is invalid; allowed: 16 hexadecimal digits")
        raw = bytes.fromhex(payload.strip().removeprefix("0x"))
    elif isinstance(payload, (int, np.integer)) and not isinstance(payload, bool):
        if not 0 <= int(payload) < 2**64:
            raise PayloadError(f"payload={payload} is out of range; allowed: 0 <= payload < 2**64")
        raw = int(payload).to_bytes(8, "big")
    else:
        raise PayloadError(f"payload of type {type(payload).__name__} is invalid; "
                           "allowed: 8 bytes, 16 hex digits or an int")
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8))  # (64,)


def derive_rng(key: bytes, label: str) -> np.random.Generator:
    """A numpy Generator seeded by HMAC-SHA256(key, label): independent streams per label."""
    digest = hmac.new(key, label.encode("ascii"), hashlib.sha256).digest()
    return np.random.Generator(np.random.PCG64(np.frombuffer(digest, dtype=np.uint64)))
