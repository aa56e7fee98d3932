"""The verification report: schema (dataclasses), verdict rule, and human/JSON renderers.

Top level (see DESIGN.md): ``file``, ``c2pa``, ``watermark``, ``recovered``, ``classifier``,
``verdict``. Parts whose evidence was not gathered stay ``None`` (JSON ``null``).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "Failure",
    "C2paEvidence",
    "WatermarkEvidence",
    "ClassifierEvidence",
    "Verdict",
    "VerificationReport",
    "decide_verdict",
    "render_json",
    "render_text",
    "render_html",
]

ValidationState = Literal["Trusted", "Valid", "Invalid"]
VerdictLabel = Literal[
    "verified-ai-generated", "tampered", "likely-ai-generated", "signed-capture", "no-evidence"
]


#: Codes about who signed, not about what was signed: they never make a manifest "tampered".
_TRUST_CODES = ("signingCredential.untrusted", "signingCredential.ocsp", "timeStamp.untrusted")


@dataclass
class Failure:
    code: str
    explanation: str


@dataclass
class C2paEvidence:
    present: bool
    state: ValidationState | None = None
    signer: str | None = None
    ai_generated: bool | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    ingredients: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    soft_bindings: list[dict[str, str]] = field(default_factory=list)
    manifest_id: str | None = None
    development_credentials: bool = False


@dataclass
class WatermarkEvidence:
    detected: bool
    payload: str | None  # hex
    p_value: float
    frames_used: int
    algorithm: str = ""
    false_positive_rate: float | None = None
    #: "decode" (the payload read blindly) or "lookup" (matched among the payloads the
    #: manifest store has issued; ``candidates`` of them were tested).
    method: str = "decode"
    candidates: int = 0
    #: Set when the watermark was found in a changed copy: "mirrored", "rotated 90°
    #: clockwise", "rotated 5° anticlockwise"... (the change the detection undid).
    transform: str | None = None


@dataclass
class ClassifierEvidence:
    score: float
    threshold: float
    #: One calibrated score per window of consecutive frames the classifier read, in order.
    frame_scores: list[float]
    model: str


@dataclass
class Verdict:
    label: VerdictLabel
    reasons: list[str]


@dataclass
class VerificationReport:
    file: str
    c2pa: C2paEvidence | None = None
    watermark: WatermarkEvidence | None = None
    recovered: dict[str, Any] | None = None
    classifier: ClassifierEvidence | None = None
    verdict: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _repr_html_(self) -> str:  # how a notebook shows a report
        return render_html(self)


def _signer_phrase(c2pa: C2paEvidence) -> str:
    who = c2pa.signer or "an unnamed signer"
    if c2pa.development_credentials and "development" not in who.lower():
        who += " (development credentials)"
    return who


def _manifest_declares_ai(manifest: dict[str, Any] | None) -> bool:
    return bool(manifest and manifest.get("ai_generated"))


def _frames(n: int) -> str:
    return "1 frame" if n == 1 else f"{n} frames"


def _transform_note(wm: WatermarkEvidence) -> str:
    return f"; this copy had been {wm.transform}" if wm.transform else ""


def _lookup_note(wm: WatermarkEvidence) -> str:
    if wm.method != "lookup":
        return ""
    if wm.candidates == 1:
        return ", matched to the one payload the manifest store has issued"
    return f", matched among the {wm.candidates:,} payloads the manifest store has issued"


def _unresolved_watermark_reason(report: VerificationReport) -> str | None:
    """What a found watermark says when it does not lead to an AI declaration."""
    rec = report.recovered
    if rec is None:
        return ("Its payload matches no manifest in this installation's manifest store, so "
                "who embedded it cannot be told here.")
    if _manifest_declares_ai(rec):
        return None
    source = f" ({rec['source_type']})" if rec.get("source_type") else ""
    return (f"The watermark resolves to manifest {rec.get('manifest_id')} in the manifest "
            f"store, issued by {rec.get('signer') or 'an unnamed signer'}, which declares a "
            f"non-AI source{source}; the file's own metadata was stripped. A watermark "
            "survives edits, so this links the file to that manifest but does not show the "
            "pictures are unaltered.")


def decide_verdict(report: VerificationReport) -> Verdict:
    """Fuse the evidence into one label with plain-sentence reasons citing that evidence.

    Order of precedence: an invalid signature (tampered) outranks everything; then a valid
    manifest (or one recovered through the watermark) that declares AI; then a valid manifest
    of a non-AI source; then the classifier; otherwise no evidence.
    """
    c2pa, wm, clf = report.c2pa, report.watermark, report.classifier
    reasons: list[str] = []
    if c2pa and c2pa.present and c2pa.state == "Invalid":
        codes = ", ".join(f.code for f in c2pa.failures if not f.code.startswith(_TRUST_CODES))
        codes = codes or "unknown failure"
        if any(f.code == "manifest.unreadable" for f in c2pa.failures):
            reasons.append(
                "The file carries a C2PA manifest store that cannot be read "
                f"({codes}): it was damaged or forged, so nothing it claims can be trusted."
            )
        else:
            reasons.append(
                f"The file carries a C2PA manifest signed by {_signer_phrase(c2pa)}, but it no "
                f"longer validates ({codes}): the content or the manifest was changed after "
                "signing."
            )
        return Verdict("tampered", reasons)
    if wm and wm.detected:
        reasons.append(
            f"A Provenant watermark was found (payload {wm.payload}, p-value {wm.p_value:.2e} "
            f"over {_frames(wm.frames_used)}{_lookup_note(wm)}{_transform_note(wm)})."
        )
    if c2pa and c2pa.present and c2pa.state in ("Valid", "Trusted"):
        trust = "a trusted" if c2pa.state == "Trusted" else "a valid (but not trust-listed)"
        if c2pa.ai_generated:
            reasons.insert(0, f"It has {trust} C2PA manifest signed by {_signer_phrase(c2pa)} "
                              "that declares the content AI-generated.")
            return Verdict("verified-ai-generated", reasons)
        reasons.insert(0, f"It has {trust} C2PA manifest signed by {_signer_phrase(c2pa)} "
                          "that declares a non-AI source.")
        return Verdict("signed-capture", reasons)
    if _manifest_declares_ai(report.recovered):
        rec = report.recovered or {}
        reasons.append(
            f"The watermark resolves to manifest {rec.get('manifest_id')} in the manifest store, "
            f"issued by {rec.get('signer') or 'an unnamed signer'}, which declares the content "
            "AI-generated; the file's own metadata was stripped."
        )
        return Verdict("verified-ai-generated", reasons)
    if wm and wm.detected:
        unresolved = _unresolved_watermark_reason(report)
        reasons += [unresolved] if unresolved else []
    if clf is not None:
        cmp = "above" if clf.score >= clf.threshold else "below"
        reasons.append(
            f"The classifier ({clf.model}) scores it {clf.score:.3f}, {cmp} its threshold "
            f"{clf.threshold:.3f}."
        )
        if clf.score >= clf.threshold:
            reasons.append("No provenance declares it AI-generated, so this label rests on the "
                           "classifier alone.")
            return Verdict("likely-ai-generated", reasons)
    if not (c2pa and c2pa.present):
        reasons.append("The file carries no C2PA manifest.")
    if wm is not None and not wm.detected:
        reasons.append(f"No Provenant watermark was found (p-value {wm.p_value:.2g}).")
    return Verdict("no-evidence", reasons)


def render_json(report: VerificationReport) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str)


def render_text(report: VerificationReport) -> str:
    """A short summary for a newsroom editor."""
    lines = [f"File: {report.file}"]
    if report.verdict:
        lines.append(f"Verdict: {report.verdict.label.upper()}")
        lines.extend(f"  - {r}" for r in report.verdict.reasons)
    c2pa = report.c2pa
    if c2pa is not None:
        if not c2pa.present:
            lines.append("Content credentials: none")
        else:
            dev = " [development credentials]" if c2pa.development_credentials else ""
            signer = f"signed by {c2pa.signer}" if c2pa.signer else "signer unknown"
            lines.append(f"Content credentials: {c2pa.state} — {signer}{dev}")
            if c2pa.ai_generated is not None:
                lines.append(f"  AI-generated declared: {'yes' if c2pa.ai_generated else 'no'}")
            for a in c2pa.actions:
                src = a.get("digitalSourceType", "")
                src = f" ({src.rsplit('/', 1)[-1]})" if src else ""
                lines.append(f"  action: {a.get('action')}{src}")
            for ing in c2pa.ingredients:
                lines.append(f"  ingredient: {ing.get('title')} [{ing.get('relationship')}]")
            for f in c2pa.failures:
                mark = "note" if f.code.startswith(_TRUST_CODES) else "!"
                lines.append(f"  {mark} {f.code}: {f.explanation}")
    if report.watermark is not None:
        wm = report.watermark
        state = f"found, payload {wm.payload}" if wm.detected else "not found"
        lines.append(f"Watermark: {state} (p={wm.p_value:.2e}, {_frames(wm.frames_used)}"
                     f"{_transform_note(wm)})")
    if report.recovered is not None:
        rec = report.recovered
        facts = [f"signed by {rec['signer']}" if rec.get("signer") else "signer unknown"]
        facts += [rec["source_type"]] if rec.get("source_type") else []
        lines.append(f"Recovered manifest: {rec.get('manifest_id')} ({', '.join(facts)})")
    if report.classifier is not None:
        clf = report.classifier
        lines.append(f"Classifier: {clf.score:.3f} (threshold {clf.threshold:.3f}, {clf.model})")
    return "\n".join(lines)


_LABEL_COLOURS = {"tampered": "#b00020", "verified-ai-generated": "#5b2a86",
                  "likely-ai-generated": "#b35c00", "signed-capture": "#1b6e3a",
                  "no-evidence": "#555555"}


def render_html(report: VerificationReport) -> str:
    """The text summary as an HTML fragment (for notebooks); every value is escaped."""
    text = render_text(report).splitlines()
    evidence = [line for line in text[1:] if not line.startswith(("Verdict:", "  - "))]
    parts = [f"<div><p><b>File:</b> <code>{html.escape(report.file)}</code></p>"]
    if report.verdict:
        colour = _LABEL_COLOURS.get(report.verdict.label, "#555555")
        parts.append(f'<p><span style="background:{colour};color:white;padding:2px 6px;'
                     f'border-radius:3px;font-weight:bold">'
                     f"{html.escape(report.verdict.label.upper())}</span></p>")
        parts.append("<ul>" + "".join(f"<li>{html.escape(r)}</li>"
                                      for r in report.verdict.reasons) + "</ul>")
    parts.append(f"<pre>{html.escape(chr(10).join(evidence))}</pre></div>")
    return "".join(parts)
