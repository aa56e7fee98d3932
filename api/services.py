"""The library calls behind the endpoints, and the capability checks.

Everything here is synchronous and runs on a worker thread (the request pool or the job
pool). Components are imported lazily and checked at call time, so an endpoint starts to
work as soon as its component lands, and answers 501 ``capability_unavailable`` until then
(never a fake result).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from api.jobs import JobContext, JobOutput
from provenant.errors import (CapabilityUnavailableError, InputError, NotFittedError,
                              collect_notices)
from provenant.media import IMAGE_SUFFIXES, MediaLimits
from provenant.store import ManifestStore

__all__ = [
    "SUFFIXES", "capabilities", "require_watermark", "require_classifier", "require_generator",
    "check_prompt",
    "verify_file", "detect_file", "watermark_detect_file", "run_sign", "run_watermark_embed",
    "run_watermark_audit", "run_generate", "JOB_RUNNERS",
]

#: Output suffix by sniffed media type.
SUFFIXES = {"video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm",
            "video/x-matroska": ".mkv", "image/png": ".png", "image/jpeg": ".jpg",
            "image/webp": ".webp", "image/heic": ".heic", "image/avif": ".avif",
            "image/gif": ".gif", "video/x-msvideo": ".avi", "video/mp2t": ".ts",
            "video/mpeg": ".mpg", "application/mxf": ".mxf",
            "video/x-flv": ".flv", "video/x-ms-asf": ".wmv", "image/tiff": ".tif"}
#: The generator's public function that generates, watermarks, signs and registers a clip:
#: ``generate_clip(prompt, dst, *, num_frames, seed, steps, guidance) -> SignResult``.
_GENERATOR_FUNCTION = "generate_clip"


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except Exception:  # missing, or broken while its engineer works on it
        return None


def require_watermark() -> ModuleType:
    wm = _import("watermark")
    if wm is None or not callable(getattr(wm, "detect_file", None)) \
            or not callable(getattr(wm, "embed_file", None)):
        raise CapabilityUnavailableError(
            "the watermark component is not available: watermark.embed_file/detect_file "
            "cannot be imported")
    return wm


def require_classifier() -> Callable[[Path], Any]:
    """A function ``path -> ClassifierEvidence``: ``detector.detect_file`` when the detector is
    importable, else the ``classifier`` evidence provider of whatever detector is installed."""
    det = _import("detector")
    fn = getattr(det, "detect_file", None) if det is not None else None
    if callable(fn):
        return fn
    from provenant.plugins import evidence_providers
    from provenant.report import VerificationReport

    for provider in evidence_providers():
        if getattr(provider, "name", None) == "classifier":
            def via_provider(path: Path, provider: Any = provider) -> Any:
                report = VerificationReport(file=str(path))
                provider(path, report, {})
                if report.classifier is None:
                    raise CapabilityUnavailableError("the classifier gave no score for this file "
                                                     "(no trained detector is installed)")
                return report.classifier
            return via_provider
    raise CapabilityUnavailableError(
        "AI-video detection is not available yet: neither detector.detect_file nor a "
        "'classifier' evidence provider is installed")


def require_generator() -> Any:
    """``generator.generate_clip``, once the generator, its weights and the watermark stamper
    (every generated clip is watermarked and signed) are all installed."""
    gen = _import("generator")
    fn = getattr(gen, _GENERATOR_FUNCTION, None) if gen is not None else None
    if not callable(fn):
        raise CapabilityUnavailableError(
            f"video generation is not available yet: generator.{_GENERATOR_FUNCTION} "
            "cannot be imported")
    ready = getattr(_import("generator.generate"), "default_weights_available", None)
    if callable(ready) and not ready():
        raise CapabilityUnavailableError(
            "video generation is not available yet: no trained generator weights are "
            "installed", hint="train them with `provenant train generator`")
    from provenant.plugins import stampers

    if "watermark" not in stampers():
        raise CapabilityUnavailableError(
            "video generation is not available: generated clips must be watermarked, and "
            "no 'watermark' stamper is installed")
    return fn


def check_prompt(prompt: str) -> None:
    """The generator's prompt grammar, before a job is queued (``PromptError``: 422)."""
    parse = getattr(_import("generator"), "parse_prompt", None)
    if callable(parse):
        parse(prompt)


def capabilities() -> dict[str, bool]:
    found = {}
    for name, check in (("watermark", require_watermark), ("detector", require_classifier),
                        ("generator", require_generator)):
        try:
            check()
            found[name] = True
        except CapabilityUnavailableError:
            found[name] = False
    return {"c2pa": True, **found}


# -- synchronous work (request pool) ---------------------------------------------------------
def verify_file(path: Path, name: str | None, store: ManifestStore,
                limits: MediaLimits | None = None, manifest: bytes | None = None
                ) -> dict[str, Any]:
    from provenant.provenance import verify

    report = verify(path, store=store, limits=limits, manifest=manifest).to_dict()
    report["file"] = name or "upload"
    return report


def detect_file(path: Path, name: str | None) -> dict[str, Any]:
    """The classifier's evidence; a missing trained model is :class:`NotFittedError` (501)."""
    from dataclasses import asdict

    fn = require_classifier()
    try:
        evidence = fn(path)
    except NotFittedError:
        raise CapabilityUnavailableError(
            "AI-video detection is not available yet: the detector is installed but this "
            "server has no trained detector model", hint="train one with "
            "`provenant train detector`, or install the shipped weights") from None
    return {"file": name or "upload", **asdict(evidence)}


def watermark_detect_file(path: Path, name: str | None,
                          store: ManifestStore | None = None) -> dict[str, Any]:
    """The watermark test of one upload; with ``store``, its issued payloads are tested too."""
    wm = require_watermark()
    candidates = None
    if store is not None:
        from watermark.evidence import store_candidates

        candidates = store_candidates(store)
    result = wm.detect_file(path, candidates=candidates)
    confidences = [float(c) for c in getattr(result, "bit_confidences", [])]
    return {"file": name or "upload", "detected": bool(result.detected),
            "payload": result.payload, "p_value": float(result.p_value),
            "frames_used": int(result.frames_used),
            "algorithm": getattr(wm, "ALGORITHM", "io.provenant.watermark.v2"),
            "false_positive_rate": _default_fpr(wm), "bit_confidences": confidences,
            "method": getattr(result, "method", "decode"),
            "candidates": int(getattr(result, "candidates", 0)),
            "transform": getattr(result, "transform", None),
            "key_id": getattr(result, "key_id", None),
            "key_retired": bool(getattr(result, "key_retired", False))}


def _default_fpr(wm: ModuleType) -> float | None:
    config = getattr(wm, "WatermarkConfig", None)
    fpr = getattr(config(), "fpr", None) if callable(config) else None
    return float(fpr) if fpr is not None else None


# -- job runners (also run synchronously by the sign/embed endpoints) ------------------------
def _signed(result: Any) -> dict[str, Any]:
    return {"manifest_id": result.manifest_id, "signer": result.signer,
            "development_credentials": result.development_credentials,
            "source_type": result.source_type,
            "soft_bindings": [{"alg": a, "value": v} for a, v in result.soft_bindings]}


def _warnings(notes: list[str]) -> dict[str, Any]:
    """``{"warnings": notes}`` when the library said the copy goes without something
    (picture subtitles an MP4 cannot hold, a second video track), else nothing."""
    return {"warnings": notes} if notes else {}


def _input(ctx: JobContext) -> Path:
    if ctx.input_path is None or not ctx.input_path.exists():
        raise InputError("the job's input file is missing", hint="submit the job again")
    return ctx.input_path


def _marked_suffix(src: Path, suffix: str, keep_animation: bool = False) -> str:
    """What a re-encoded (watermarked) copy is written as: an image keeps its format (a
    still GIF becomes a PNG: the watermark is not written into a palette; a TIFF too, which
    is read, not written), a video (an animated GIF, PNG, WebP or AVIF too) is MP4, but an
    animated GIF, PNG, WebP or AVIF stays one with ``keep_animation``."""
    if suffix == ".tif":
        return ".png"
    if suffix in IMAGE_SUFFIXES + (".gif",):
        from provenant.animwrite import ANIMATION_SUFFIXES
        from provenant.media import probe

        if probe(src).kind == "video":
            return suffix if keep_animation and suffix in ANIMATION_SUFFIXES else ".mp4"
        return ".png" if suffix == ".gif" else suffix
    return ".mp4"


def download_name(filename: str | None, stem: str, suffix: str) -> str:
    """The name a result is downloaded as: ``holiday.mp4`` signed is ``holiday-signed.mp4``."""
    base = Path(filename or "upload").stem[:100] or "upload"
    return f"{base}-{stem}{suffix}"


def run_sign(ctx: JobContext) -> JobOutput:
    from provenant.manifest import SignOptions
    from provenant.provenance import sign, stamp

    src = _input(ctx)
    dst = ctx.workdir / f"signed{ctx.params.get('suffix', src.suffix)}"
    if ctx.params.get("watermark"):
        dst = dst.with_suffix(_marked_suffix(src, dst.suffix, ctx.params.get("keep_animation",
                                                                             False)))
    # titled as the client receives the copy, not as the server's work file is named
    title = ctx.params.get("title") or download_name(ctx.params.get("filename"), "signed",
                                                     dst.suffix)
    options = SignOptions(source_type=ctx.params["source_type"], title=title)
    if ctx.params.get("watermark"):
        with collect_notices() as notes:  # what the copy goes without, as warnings
            result = stamp(src, dst, options, default_source_type="digitalCapture")
        return JobOutput({**_signed(result), **_warnings(notes)}, dst)
    return JobOutput(_signed(sign(src, dst, options)), dst)


def run_watermark_embed(ctx: JobContext) -> JobOutput:
    wm = require_watermark()
    src = _input(ctx)
    suffix = _marked_suffix(src, ctx.params.get("suffix", src.suffix),
                            ctx.params.get("keep_animation", False))
    dst = ctx.workdir / f"watermarked{suffix}"
    with collect_notices() as notes:  # what the copy goes without, as warnings
        wm.embed_file(src, dst, ctx.params["payload"])
    return JobOutput({"payload": ctx.params["payload"].lower().removeprefix("0x"),
                      "algorithm": getattr(wm, "ALGORITHM", "io.provenant.watermark.v2"),
                      **_warnings(notes)}, dst)


def run_watermark_audit(ctx: JobContext) -> JobOutput:
    require_watermark()
    from provenant.store import open_store
    from watermark.audit import audit_file
    from watermark.evidence import store_candidates

    p = ctx.params
    report = audit_file(_input(ctx), payload=p.get("payload"), attacks=p.get("attacks"),
                        seed=p.get("seed", 0), max_seconds=p.get("seconds", 10.0),
                        candidates=store_candidates(open_store()), progress=False,
                        name=p.get("filename") or "upload")
    return JobOutput(report.to_dict())


def run_generate(ctx: JobContext) -> JobOutput:
    fn = require_generator()
    p = ctx.params
    dst = ctx.workdir / "generated.mp4"
    options = {"num_frames": p.get("frames"), "seed": p.get("seed"), "steps": p.get("steps"),
               "guidance": p.get("guidance")}
    result = fn(p["prompt"], dst, **{k: v for k, v in options.items() if v is not None})
    return JobOutput({"prompt": p["prompt"], **_signed(result)}, dst)


JOB_RUNNERS = {"sign": run_sign, "watermark_embed": run_watermark_embed,
               "watermark_audit": run_watermark_audit, "generate": run_generate}
