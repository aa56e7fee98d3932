"""Robustness audit of one watermarked file: the attack suite applied to it, one detection each.

The benchmark measures the watermark on its own footage; an audit answers the question for
*this* file: which of the named attacks of :mod:`watermark.attacks` (re-encodes, resizes,
crops, colour, noise, time) the payload it carries survives, with the p-value of each
detection. A still image gets the image suite (``IMAGE_ATTACKS``: JPEG and WebP re-encodes
in place of the video codecs, no time attacks) and is read as a still. It is what a
watermark auditor, or a platform deciding on its upload settings, runs before trusting the
watermark on their own footage.

    >>> report = audit_file("marked.mp4", key="my-secret")
    >>> report.survived, [o.attack for o in report.outcomes if not o.exact]

The first ``max_seconds`` of the video are read into memory (within ``max_pixels`` decoded
pixels, so a 4K file reads fewer frames, and at most ``AUDIT_MAX_FRAMES``), with the codec's
key frames, as an attack would receive them. Each attack draws its random parameters from
``seed`` and its name, so two audits of the same file with the same seed give the same
table.
"""

from __future__ import annotations

import html
import itertools
import os
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from provenant.errors import InputError, MediaError, UnsupportedMediaError
from watermark.api import Candidates, as_codebook, detect, detect_clip
from watermark.attacks import ATTACKS, IMAGE_ATTACKS, Attack, Clip
from watermark.config import WatermarkConfig, parse_payload, resolve_key
from watermark.detection import WatermarkResult

__all__ = ["AttackOutcome", "AuditReport", "audit_clip", "audit_file", "read_clip",
           "attack_file", "attacks_for", "bit_accuracy", "render_text", "render_html",
           "MIN_SIDE", "AUDIT_MAX_PIXELS", "AUDIT_MAX_FRAMES"]

#: The smallest frame side the watermark is specified for; smaller attacked frames are noted.
MIN_SIDE = 128
#: Decoded pixels an audit holds at most: 150 frames of 720p (about 415 MB as RGB).
AUDIT_MAX_PIXELS = 150 * 1280 * 720
#: Frames an audit reads at most (10 s at 30 fps), so a high frame rate cannot multiply
#: the work of every attack.
AUDIT_MAX_FRAMES = 300


@dataclass(frozen=True)
class AttackOutcome:
    """One attack's result. ``exact``: detected (p ≤ fpr) with the expected payload."""

    attack: str
    category: str
    description: str
    exact: bool
    detected: bool
    payload: str | None  # the detected payload (None: nothing detected)
    bit_accuracy: float  # of the best decoded payload against the expected one (0.5: none)
    p_value: float
    z_score: float
    frames: int  # frames of the attacked clip
    width: int
    height: int
    seconds: float  # attack + detection
    params: dict[str, Any]
    note: str | None = None  # e.g. frames below the specified minimum side
    #: "lookup" when only the store-aided test found the payload, else "decode" (blind)
    method: str = "decode"


@dataclass(frozen=True)
class AuditReport:
    """An audit: the expected payload, what was read, and one outcome per attack."""

    file: str
    payload: str
    payload_from: str  # "given" or "detected" (on the file as it is)
    frames: int
    width: int
    height: int
    fps: float
    fpr: float
    seed: int
    outcomes: list[AttackOutcome]
    candidates: int = 0  # issued payloads the store-aided test also tried (0: blind only)
    kind: str = "video"  # or "image": a still, audited with the image suite

    @property
    def survived(self) -> int:
        return sum(o.exact for o in self.outcomes)

    @property
    def missed(self) -> list[str]:
        return [o.attack for o in self.outcomes if not o.exact]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["summary"] = {"attacks": len(self.outcomes), "survived": self.survived,
                        "missed": self.missed}
        return d

    def _repr_html_(self) -> str:  # how a notebook shows an audit
        return render_html(self)


def read_clip(path: str | os.PathLike[str], max_seconds: float = 10.0,
              max_pixels: int = AUDIT_MAX_PIXELS) -> Clip:
    """The first ``max_seconds`` of a video (at most ``max_pixels`` decoded pixels) as a
    :class:`Clip`, with the frames the codec coded as key frames, all at the first one's
    size."""
    from provenant.framesize import one_size
    from provenant.media import iter_keyed_frames, probe

    if not max_seconds > 0:
        raise InputError(f"max_seconds={max_seconds!r} is invalid; allowed: a positive number")
    info = probe(path)
    if info.kind != "video":
        raise UnsupportedMediaError(
            f"{path} is an image; an audit applies video attacks (codecs, time) to a video",
            hint="watermark a short clip to audit, or test the image with "
                 "`provenant watermark detect`")
    fps = info.fps or 25.0
    limit = max(1, min(int(round(max_seconds * fps)), AUDIT_MAX_FRAMES,
                       max_pixels // max(1, info.width * info.height)))
    frames: list[np.ndarray] = []
    keys: list[int] = []
    for frame, key in itertools.islice(one_size(iter_keyed_frames(info.path)), limit):
        if key:
            keys.append(len(frames))
        frames.append(frame)
    if not frames:
        raise MediaError(f"{path} has no decodable video frames")
    return Clip(frames, fps, tuple(keys))


def attacks_for(kind: str) -> dict[str, Attack]:
    """The attack suite for a ``kind`` of media: ``"image"`` gets ``IMAGE_ATTACKS``, a video
    ``ATTACKS``."""
    return IMAGE_ATTACKS if kind == "image" else ATTACKS


def _read(path: str | os.PathLike[str], kind: str, max_seconds: float) -> Clip:
    """A video's first seconds (:func:`read_clip`), or a still image as a one-frame clip."""
    from provenant.media import read_image

    if kind == "image":
        return Clip([read_image(path)], 1.0, (0,))
    return read_clip(path, max_seconds)


def _attack_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def bit_accuracy(decoded: str | None, expected: str) -> float:
    """Share of the 64 payload bits ``decoded`` (hex; None: nothing decoded, 0.5) gets right."""
    if decoded is None:
        return 0.5
    a = np.unpackbits(np.frombuffer(bytes.fromhex(decoded), np.uint8))
    b = np.unpackbits(np.frombuffer(bytes.fromhex(expected), np.uint8))
    return float(np.mean(a == b))


def _check_attacks(attacks: Iterable[str] | None, kind: str | None = "video") -> list[str]:
    """The attack names to run on ``kind`` of media (None: either kind, a check made before
    the file is opened)."""
    suite = attacks_for(kind) if kind is not None else {**ATTACKS, **IMAGE_ATTACKS}
    names = list(suite) if attacks is None else list(dict.fromkeys(attacks))
    unknown = [n for n in names if n not in suite]
    if unknown or not names:
        raise InputError(f"attacks={unknown or names!r} is invalid for this "
                         f"{kind or 'file'}; allowed: any of {', '.join(suite)}")
    return names


def _detect(clip: Clip, key: bytes, cfg: WatermarkConfig, candidates: Candidates,
            kind: str) -> WatermarkResult:
    if kind == "image":  # a still is read as one: its own chip size, no frame sampling
        return detect(clip.frames[0], key, cfg, candidates=candidates)
    return detect_clip(clip, key, cfg, candidates)


def _one(clip: Clip, name: str, expected: str, key: bytes, cfg: WatermarkConfig,
         seed: int, candidates: Candidates, kind: str) -> AttackOutcome:
    attack = attacks_for(kind)[name]
    params = attack.draw(_attack_rng(seed, name))
    start = time.perf_counter()
    attacked = attack(clip, params)
    h, w = attacked.shape
    result = _detect(attacked, key, cfg, candidates, kind)
    note = (f"under the {MIN_SIDE}-pixel minimum side" if min(h, w) < MIN_SIDE else None)
    exact = bool(result.detected and result.payload == expected)
    blind = result.blind_p_value <= cfg.fpr and result.blind_payload == expected
    return AttackOutcome(
        name, attack.category, attack.description or name.replace("_", " "), exact,
        result.detected, result.payload, bit_accuracy(result.payload or result.decoded,
                                                      expected),
        result.p_value, round(result.z_score, 3), len(attacked.frames), w, h,
        round(time.perf_counter() - start, 3), {k: _plain(v) for k, v in params.items()}, note,
        "lookup" if exact and not blind else "decode")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def audit_clip(clip: Clip, key: str | bytes | None = None, *,
               payload: bytes | str | int | None = None,
               attacks: Sequence[str] | None = None, seed: int = 0,
               config: WatermarkConfig | None = None, candidates: Candidates = None,
               progress: bool | None = None, file: str = "clip",
               kind: str = "video") -> AuditReport:
    """Apply ``attacks`` (default: all of the suite for ``kind``) to ``clip`` and detect
    after each.

    ``payload``: the payload the clip should carry; by default the one detected on the clip
    as it is (an :class:`InputError` if none is). ``candidates``: payloads for the
    store-aided test, as in :func:`watermark.detect`. ``kind="image"``: ``clip`` holds one
    still image, audited with the image suite and read as a still."""
    cfg = config or WatermarkConfig()
    kbytes, names = resolve_key(key), _check_attacks(attacks, kind)
    codebook = as_codebook(candidates)  # built once, tried after every attack
    if payload is not None:
        expected = np.packbits(parse_payload(payload)).tobytes().hex()
        source = "given"
    else:
        found = _detect(clip, kbytes, cfg, codebook, kind)
        if not found.detected:
            raise InputError(
                f"{file} carries no watermark under this key (p={found.p_value:.2g}), so there "
                f"is nothing to audit",
                hint="check the key, or give the payload it should carry to audit anyway")
        expected, source = str(found.payload), "detected"
    outcomes = []
    for name in _progress(names, progress):
        outcomes.append(_one(clip, name, expected, kbytes, cfg, seed, codebook, kind))
    h, w = clip.shape
    return AuditReport(file, expected, source, len(clip.frames), w, h,
                       clip.fps if kind == "video" else 0.0, cfg.fpr, seed, outcomes,
                       len(codebook) if codebook is not None else 0, kind)


def _progress(names: list[str], progress: bool | None) -> Iterable[str]:
    from tqdm.auto import tqdm

    auto = progress is None
    return tqdm(names, unit="attack", desc="audit", delay=2.0 if auto else 0.0, leave=False,
                disable=None if auto else not progress)


def audit_file(path: str | os.PathLike[str], key: str | bytes | None = None, *,
               payload: bytes | str | int | None = None,
               attacks: Sequence[str] | None = None, seed: int = 0, max_seconds: float = 10.0,
               config: WatermarkConfig | None = None, candidates: Candidates = None,
               progress: bool | None = None, name: str | None = None) -> AuditReport:
    """:func:`audit_clip` on the first ``max_seconds`` of a video file, or on an image file
    with the image suite (``name``: how the report and its messages call it; default: the
    path)."""
    from provenant.media import probe

    resolve_key(key), _check_attacks(attacks, None)  # refuse bad arguments before reading
    if payload is not None:
        parse_payload(payload)
    kind = probe(path).kind
    _check_attacks(attacks, kind)
    clip = _read(path, kind, max_seconds)
    return audit_clip(clip, key, payload=payload, attacks=attacks, seed=seed, config=config,
                      candidates=candidates, progress=progress, file=name or str(path),
                      kind=kind)


def attack_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], attack: str, *,
                seed: int = 0, max_seconds: float = 10.0) -> Path:
    """Write ``attack`` applied to the first ``max_seconds`` of ``src`` to ``dst``, encoded
    losslessly (H.264 CRF 0; an image as PNG or lossless WebP), so the file holds what the
    attack left and nothing more."""
    from provenant.media import (check_not_the_input, check_output_suffix, probe, write_image,
                                 write_video)

    _check_attacks([attack], None)
    check_not_the_input(src, dst, "the attack")
    kind = probe(src).kind
    _check_attacks([attack], kind)
    if kind == "image":
        check_output_suffix(dst, (".png", ".webp"), "a lossless image (PNG or WebP)")
    clip = _read(src, kind, max_seconds)
    atk = attacks_for(kind)[attack]
    attacked = atk(clip, atk.draw(_attack_rng(seed, attack)))
    if kind == "image":
        return write_image(attacked.frames[0], dst, lossless=True)
    h, w = attacked.shape
    frames = [np.ascontiguousarray(f[: h - h % 2, : w - w % 2]) for f in attacked.frames]
    return write_video(frames, dst, attacked.fps, crf=0, preset="veryfast")


def render_text(report: AuditReport) -> str:
    """The audit as a table for a terminal."""
    what = (f"a {report.width}x{report.height} image" if report.kind == "image" else
            f"{report.frames} frames of {report.width}x{report.height} at {report.fps:g} fps")
    lines = [f"Watermark audit of {report.file}",
             f"payload {report.payload} ({report.payload_from}); {what}; decision at p <= "
             f"{report.fpr:g}", "",
             f"{'attack':<34} {'result':<10} {'p-value':>9} {'bits':>5}  {'size':<10} note"]
    for o in report.outcomes:
        lines.append(f"{o.attack:<34} {_result_word(o):<10} {o.p_value:>9.2g} "
                     f"{o.bit_accuracy:>5.0%}  "
                     f"{f'{o.width}x{o.height}':<10} {o.note or ''}".rstrip())
    lines += ["", f"survived {report.survived} of {len(report.outcomes)} attacks"
              + (f"; missed: {', '.join(report.missed)}" if report.missed else "")]
    if report.candidates:
        lines.append(f"(* matched among the {report.candidates:,} payloads the manifest store "
                     "has issued; a blind decode did not reach p <= fpr)")
    return "\n".join(lines)


def _result_word(o: AttackOutcome) -> str:
    if o.exact:
        return "recovered" + ("*" if o.method == "lookup" else "")
    return "other" if o.detected else "missed"


def render_html(report: AuditReport) -> str:
    """The audit as an HTML table (for notebooks); every value is escaped."""
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(o.attack)}</td><td>{_result_word(o)}</td><td>{o.p_value:.2g}</td>"
        f"<td>{o.bit_accuracy:.0%}</td><td>{o.width}x{o.height}</td>"
        f"<td>{esc(o.note or '')}</td></tr>" for o in report.outcomes)
    return (f"<div><p><b>Watermark audit of</b> <code>{esc(report.file)}</code>: payload "
            f"{esc(report.payload)} ({esc(report.payload_from)}), {report.frames} frames of "
            f"{report.width}x{report.height}; survived {report.survived} of "
            f"{len(report.outcomes)} attacks</p><table><tr><th>attack</th><th>result</th>"
            f"<th>p-value</th><th>bits</th><th>size</th><th>note</th></tr>{rows}</table></div>")
