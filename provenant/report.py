"""The verification report, its verdict rule, and human/JSON renderers (the evidence parts'
dataclasses are in :mod:`provenant.report_schema`).

Top level (see DESIGN.md): ``file``, ``c2pa``, ``watermark``, ``recovered``, ``classifier``,
``verdict``. Parts whose evidence was not gathered stay ``None`` (JSON ``null``).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from typing import Any

from provenant.report_schema import (C2paEvidence, ClassifierEvidence, Failure, Verdict,
                                     WatermarkEvidence)

__all__ = ["AI_SOURCE_TYPES", "Failure", "C2paEvidence", "WatermarkEvidence",
           "ClassifierEvidence", "Verdict", "VerificationReport", "decide_verdict",
           "declared_sources", "render_json", "render_text", "render_html", "KEY_MISMATCH_FIELD"]

#: IPTC digitalSourceType terms that declare AI-generated content (wholly or in part).
AI_SOURCE_TYPES = frozenset({
    "trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia",
    "compositeSynthetic",
})

#: Codes about who signed, not about what was signed: they never make a manifest "tampered".
TRUST_CODES = ("signingCredential.untrusted", "signingCredential.ocsp", "timeStamp.untrusted")
#: A certificate checked outside its validity (signed before it expired, no trusted
#: timestamp): the SDK says Invalid, yet content and claims are as signed; not "tampered".
EXPIRED_CODES = ("signingCredential.expired",)
#: A recovered record's field, set where the store says its mark was made with another
#: watermark key than the one that found the mark here: ``{"issued_with", "found_with"}``
#: (key ids). The payload was then written by whoever holds the finding key, and the
#: record is not relied on (see :func:`provenant.recovery.recover_from_store`).
KEY_MISMATCH_FIELD = "watermark_key_mismatch"


def credential_expired_only(c2pa: C2paEvidence) -> bool:
    """Whether ``c2pa`` is Invalid only because its signer's certificate has expired."""
    codes = [f.code for f in c2pa.failures]
    return (c2pa.present and c2pa.state == "Invalid" and any(c in EXPIRED_CODES for c in codes)
            and all(c.startswith(TRUST_CODES + EXPIRED_CODES) for c in codes))


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
    """A recovered record's AI declaration: its signed copy's where the store keeps one
    (none where that copy fails its check), else the record's."""
    if (manifest or {}).get(KEY_MISMATCH_FIELD):
        return False  # the mark is not the stamp's: the record says nothing of this file
    copy = (manifest or {}).get("signed_manifest")
    if copy is not None:
        return copy.get("state") != "Invalid" and bool(copy.get("ai_generated"))
    return bool(manifest and manifest.get("ai_generated"))


def declared_sources(actions: list[dict[str, Any]]) -> set[str]:
    """The IPTC digitalSourceType terms C2PA actions declare (each URL's last part)."""
    return {str(a.get("digitalSourceType", "")).rsplit("/", 1)[-1] for a in actions} - {""}


def _ai_through_ingredients(c2pa: C2paEvidence) -> bool:
    """Whether the AI declaration comes from ingredients alone, not the active manifest's own
    actions."""
    return bool(c2pa.ai_ingredients) and not declared_sources(c2pa.actions) & AI_SOURCE_TYPES


def _non_ai_reason(signed: str, c2pa: C2paEvidence) -> str:
    """The first reason of a valid manifest that declares no AI."""
    altered = "".join(
        f" It was made from '{title}', which had been changed since it was signed "
        f"({', '.join(codes)}), so what that file's manifest declares is not relied on."
        for title, codes in list(c2pa.altered_ingredients.items())[:3])
    if c2pa.ai_generated is None:
        return (f"{signed} that does not say how the content was made (no digital source "
                f"type).{altered}")
    if declared_sources(c2pa.actions) or not c2pa.ingredient_sources:
        return f"{signed} that declares a non-AI source."
    items = list(c2pa.ingredient_sources.items())
    if len(items) == 1:
        made = (f"'{items[0][0]}', whose own manifest declares a non-AI source "
                f"({', '.join(items[0][1])})")
    else:
        made = ", ".join(f"'{title}' ({', '.join(terms)})" for title, terms in items[:3])
        made += (f" and {len(items) - 3} more" if len(items) > 3 else "") + \
            ", whose own manifests declare non-AI sources"
    return f"{signed} that declares no source of its own; it was made from {made}.{altered}"


def _titles(titles: list[str]) -> str:
    quoted = [f"'{t}'" for t in titles[:3]] + ([f"{len(titles) - 3} more"] if len(titles) > 3
                                               else [])
    return ", ".join(quoted)


def _frames(n: int) -> str:
    return "1 frame" if n == 1 else f"{n} frames"


def _transform_note(wm: WatermarkEvidence) -> str:
    return f"; this copy had been {wm.transform}" if wm.transform else ""


def _retired_key_note(wm: WatermarkEvidence) -> str:
    return (f"; made with the retired key {wm.key_id}: before that key was retired, or by "
            "someone who still holds it" if wm.key_retired else "")


def _lookup_note(wm: WatermarkEvidence) -> str:
    if wm.method != "lookup":
        return ""
    if wm.candidates == 1:
        return ", matched to the one payload the manifest store has issued"
    return f", matched among the {wm.candidates:,} payloads the manifest store has issued"


def _unresolved_watermark_reason(report: VerificationReport, store_readable: bool) -> str | None:
    """What a found watermark says when it does not lead to an AI declaration."""
    rec = report.recovered
    if rec is None and not store_readable:
        return ("The manifest store could not be read, so its payload was not looked up and "
                "who embedded it cannot be told here.")
    if rec is None:
        return ("Its payload matches no manifest in this installation's manifest store, so "
                "who embedded it cannot be told here.")
    mismatch = rec.get(KEY_MISMATCH_FIELD)
    if mismatch:
        return (f"Its payload names manifest {rec.get('manifest_id')} in the manifest store, "
                f"but that manifest's mark was made with the watermark key "
                f"{mismatch.get('issued_with')} and this one with the key "
                f"{mismatch.get('found_with')}: whoever holds that key copied the payload onto "
                "these pictures, so the manifest says nothing of where they came from.")
    if _manifest_declares_ai(rec):
        return None
    where = rec.get("via", "the manifest store")
    if (rec.get("signed_manifest") or {}).get("state") == "Invalid":
        return (f"The watermark resolves to manifest {rec.get('manifest_id')} in {where}, but "
                "the signed copy of it fails its check, so what it says of the file is not "
                "relied on.")
    declares = (f"declares a non-AI source ({rec['source_type']})" if rec.get("source_type")
                else "does not declare the content AI-generated")
    return (f"The watermark resolves to manifest {rec.get('manifest_id')} in {where}, "
            f"issued by {rec.get('signer') or 'an unnamed signer'}, which {declares}; "
            "the file's own metadata was stripped. A watermark survives edits, so this links "
            "the file to that manifest but does not show the pictures are unaltered.")


def decide_verdict(report: VerificationReport, *, store_readable: bool = True) -> Verdict:
    """:func:`_decide`, with where the manifest was, when not in the file, said last."""
    verdict = _decide(report, store_readable)
    c2pa = report.c2pa
    if c2pa is not None and not c2pa.present and c2pa.remote_url:
        verdict.reasons.append(
            f"The file links to content credentials kept elsewhere ({c2pa.remote_url}); this "
            "verification works offline and did not fetch them. Download that manifest and "
            "verify again with it (--manifest) to have it checked against the file.")
    elif c2pa is not None and c2pa.present and c2pa.manifest_source:
        verdict.reasons.append(
            f"The manifest was read from {c2pa.manifest_source}, not from the file itself, and "
            "checked against the file's content.")
    return verdict


def _decide(report: VerificationReport, store_readable: bool) -> Verdict:
    """Fuse the evidence into one label with plain-sentence reasons citing that evidence
    (``store_readable=False``: the manifest store could not be read, so a found watermark
    was not looked up there).

    Order of precedence: an invalid signature (tampered) outranks everything; then a valid
    manifest (or one recovered through the watermark) that declares AI; then a valid manifest
    of a non-AI source; then the classifier; otherwise no evidence.
    """
    c2pa, wm, clf = report.c2pa, report.watermark, report.classifier
    reasons: list[str] = []
    expired = c2pa is not None and credential_expired_only(c2pa)
    if c2pa and c2pa.present and c2pa.state == "Invalid" and not expired:
        codes = ", ".join(f.code for f in c2pa.failures if not f.code.startswith(TRUST_CODES))
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
            f"over {_frames(wm.frames_used)}{_lookup_note(wm)}{_transform_note(wm)}"
            f"{_retired_key_note(wm)})."
        )
    if c2pa and c2pa.present and (c2pa.state in ("Valid", "Trusted") or expired):
        trust = "a trusted" if c2pa.state == "Trusted" else "a valid (but not trust-listed)"
        signed = f"It has {trust} C2PA manifest signed by {_signer_phrase(c2pa)}"
        if expired:
            signed = (f"It has a C2PA manifest, signed by {_signer_phrase(c2pa)} with a "
                      "certificate that has expired since,")
            reasons.append("No trusted timestamp shows it was signed while the certificate "
                           "was valid, so who signed it is not confirmed; the content is as "
                           "it was signed, and an expired certificate is no sign of "
                           "tampering (a timestamp added when signing, --tsa-url, keeps a "
                           "signature checkable after its certificate expires).")
        if c2pa.ai_generated:
            reasons.insert(0, f"{signed} that declares the content AI-generated."
                           if not _ai_through_ingredients(c2pa) else
                           f"{signed}; it was made from {_titles(c2pa.ai_ingredients)}, "
                           + ("whose own manifest declares it" if len(c2pa.ai_ingredients) == 1
                              else "whose own manifests declare them")
                           + " AI-generated, so the content derives from AI-generated media.")
            return Verdict("verified-ai-generated", reasons)
        reasons.insert(0, _non_ai_reason(signed, c2pa))
        return Verdict("signed-capture", reasons)
    if _manifest_declares_ai(report.recovered):
        rec = report.recovered or {}
        who = rec.get("signer") or "an unnamed signer"
        reasons.append(
            f"The watermark resolves to manifest {rec.get('manifest_id')} in "
            f"{rec.get('via', 'the manifest store')}, issued by {who}, which declares the "
            "content AI-generated; the file's own metadata was stripped.")
        return Verdict("verified-ai-generated", reasons)
    if wm and wm.detected:
        unresolved = _unresolved_watermark_reason(report, store_readable)
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
    if not (c2pa and (c2pa.present or c2pa.remote_url)):
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
            lines.append(f"Content credentials: kept elsewhere, at {c2pa.remote_url} (not "
                         "fetched)" if c2pa.remote_url else "Content credentials: none")
        else:
            dev = " [development credentials]" if c2pa.development_credentials else ""
            signer = f"signed by {c2pa.signer}" if c2pa.signer else "signer unknown"
            source = f" (manifest from {c2pa.manifest_source})" if c2pa.manifest_source else ""
            lines.append(f"Content credentials: {c2pa.state} — {signer}{dev}{source}")
            if c2pa.signed_at:
                lines.append(f"  Timestamped by a timestamp authority: {c2pa.signed_at}")
            if c2pa.ai_generated is not None:
                by = f" (through its ingredient {_titles(c2pa.ai_ingredients)})" \
                    if c2pa.ai_generated and _ai_through_ingredients(c2pa) else ""
                lines.append(f"  AI-generated declared: {'yes' if c2pa.ai_generated else 'no'}"
                             f"{by}")
            for a in c2pa.actions:
                src = a.get("digitalSourceType", "")
                src = f" ({src.rsplit('/', 1)[-1]})" if src else ""
                lines.append(f"  action: {a.get('action')}{src}")
            for ing in c2pa.ingredients:
                codes = c2pa.altered_ingredients.get(str(ing.get("title")))
                changed = f" (changed since it was signed: {', '.join(codes)})" if codes else ""
                lines.append(f"  ingredient: {ing.get('title')} [{ing.get('relationship')}]"
                             f"{changed}")
            for f in c2pa.failures:
                mark = "note" if f.code.startswith(TRUST_CODES) else "!"
                lines.append(f"  {mark} {f.code}: {f.explanation}")
    if report.watermark is not None:
        wm = report.watermark
        state = f"found, payload {wm.payload}" if wm.detected else "not found"
        retired = f"; retired key {wm.key_id}" if wm.key_retired else ""
        lines.append(f"Watermark: {state} (p={wm.p_value:.2e}, {_frames(wm.frames_used)}"
                     f"{_transform_note(wm)}{retired})")
    if report.recovered is not None:
        rec = report.recovered
        facts = [f"signed by {rec['signer']}" if rec.get("signer") else "signer unknown"]
        facts += [rec["source_type"]] if rec.get("source_type") else []
        facts += [f"through {rec['via']}"] if rec.get("via") else []
        lines.append(f"Recovered manifest: {rec.get('manifest_id')} ({', '.join(facts)})")
        if rec.get(KEY_MISMATCH_FIELD):
            keys = rec[KEY_MISMATCH_FIELD]
            lines.append(f"  ! its mark was made with the key {keys.get('issued_with')}, this "
                         f"one with {keys.get('found_with')}: not relied on")
        if rec.get("signed_manifest"):
            lines.append(f"  its signed copy: {rec['signed_manifest'].get('summary')}")
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
