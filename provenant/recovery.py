"""Manifest recovery through the watermark, with the recovered manifest's signature checked.

A platform that strips a file's metadata strips its manifest with it; the watermark's payload
still finds the manifest this installation issued (:meth:`ManifestStore.find_by_binding`).
The record's facts are the store's word alone. The store also keeps each manifest store as
it was signed (:meth:`ManifestStore.signed_manifest`), and that copy is validated here
against the file, as ``verify --manifest`` validates a fetched one: its signature, its
certificate under the configured trust anchors, and its hash against the file's content.

A re-encode changes every byte, so the hash of a stripped copy no longer matches: that is
expected and says nothing against the manifest, which is judged on the rest (``state``).
A copy that fails on the rest (a broken signature, a damaged manifest) shows the store was
altered, and its record is not relied on (:func:`provenant.report.decide_verdict`).

Nor is a record whose mark was made with another watermark key than the one that found the
mark here (the store records the key's public id, ``WATERMARK_KEY_FIELD``, for what
``stamp`` marks): anyone who holds a key can write any payload, so a leaked retired key
could copy a real stamp's payload onto other pictures and have them read as that manifest's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provenant.errors import InputError, StoreError, notice
from provenant.manifest import read_manifest
from provenant.media import MediaLimits
from provenant.report import (EXPIRED_CODES, KEY_MISMATCH_FIELD, TRUST_CODES, C2paEvidence,
                              VerificationReport)
from provenant.store import WATERMARK_KEY_FIELD, ManifestRecord, ManifestStore, open_store

__all__ = ["BINDING_CODES", "check_signed_copy", "recover_from_store", "issued_with_another_key",
           "StoreRecovery"]

#: Validation codes of a hash binding that no longer matches the file's bytes.
BINDING_CODES = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch",
                 "assertion.boxesHash.mismatch", "assertion.collectionHash.mismatch")


def _state_apart_from_binding(evidence: C2paEvidence, binding: bool) -> str:
    """The SDK's state, or for a copy signed over other bytes, the state it would have had
    with its hash matching: Invalid where anything but trust is wrong, Valid where the signer
    is not trusted here, else Trusted."""
    if not binding:
        return evidence.state or "Invalid"
    others = [f.code for f in evidence.failures if f.code not in BINDING_CODES]
    if any(not c.startswith(TRUST_CODES + EXPIRED_CODES) for c in others):
        return "Invalid"
    return "Valid" if others else "Trusted"


def check_signed_copy(path: str | Path, data: bytes, manifest_id: str,
                      binding: tuple[str, str] | None, trust_anchors: Path | bytes | None = None,
                      limits: MediaLimits | None = None) -> dict[str, Any]:
    """The report's ``recovered.signed_manifest``: the signed copy ``data`` of manifest
    ``manifest_id``, which the watermark found through ``binding`` (alg, value), validated
    against the file at ``path``. A copy of another manifest, or of one that does not carry
    that binding, is Invalid: a store could otherwise answer with any signed manifest.
    ``binding`` None (another installation's watermark, whose value cannot be read here):
    the copy must carry a soft binding of some value."""
    try:
        evidence = read_manifest(path, trust_anchors, limits=limits, manifest=data)
    except InputError as exc:  # not a manifest store at all: the store's copy was damaged
        return {"state": "Invalid", "signer": None, "signed_at": None, "ai_generated": None,
                "content_matches": False, "codes": ["manifest.unreadable"],
                "summary": f"Invalid ({exc.message})"}
    binding_failed = any(f.code in BINDING_CODES for f in evidence.failures)
    state = _state_apart_from_binding(evidence, binding_failed)
    alg, value = binding or ("", "")
    own = evidence.manifest_id == manifest_id and any(
        binding is None or (b.get("alg") == alg and b.get("value") == value)
        for b in evidence.soft_bindings)
    matches = False
    if state == "Invalid":
        codes = sorted({f.code for f in evidence.failures if f.code not in BINDING_CODES})
        summary = f"Invalid ({', '.join(codes) or 'not valid'})"
    elif not own:
        carries = f"the watermark's binding {value}" if binding else "a soft binding"
        state, summary = "Invalid", (f"Invalid (it is the signed copy of manifest "
                                     f"{evidence.manifest_id}, which does not carry "
                                     f"{carries})")
    else:
        matches = not binding_failed
        signer = f", signed by {evidence.signer}" if evidence.signer else ""
        content = ("its hash matches this file's content" if matches else
                   "signed over other bytes than this file's")
        summary = f"{state}{signer}; {content}"
    return {"state": state, "signer": evidence.signer, "signed_at": evidence.signed_at,
            "ai_generated": evidence.ai_generated, "content_matches": matches,
            "codes": [f.code for f in evidence.failures], "summary": summary}


def recover_from_store(report: VerificationReport, store: ManifestStore, *,
                       trust_anchors: Path | bytes | None = None,
                       limits: MediaLimits | None = None) -> None:
    """Fill ``report.recovered`` from the store through the watermark's payload, with its
    ``signed_manifest`` checked against the file (None where the store keeps no copy)."""
    wm = report.watermark
    if wm is None or not wm.detected or not wm.payload:
        return
    matches = store.find_by_binding(wm.algorithm, wm.payload)
    if not matches:
        return
    # a record made with the key that found the mark (or that names none) before one that
    # names another key
    match = min(matches, key=lambda m: issued_with_another_key(m, wm.key_id) is not None)
    recovered = match.to_dict()
    other = issued_with_another_key(match, wm.key_id)
    if other is not None:
        recovered[KEY_MISMATCH_FIELD] = {"issued_with": other, "found_with": wm.key_id}
    data = store.signed_manifest(match.manifest_id)
    recovered["signed_manifest"] = None if data is None else check_signed_copy(
        report.file, data, match.manifest_id, (wm.algorithm, wm.payload), trust_anchors,
        limits)
    report.recovered = recovered


def issued_with_another_key(record: ManifestRecord, found_with: str | None) -> str | None:
    """The key a record says its mark was made with, where that is not ``found_with`` (the
    key that found the mark): the payload was then written by whoever holds
    ``found_with`` (a leaked retired key, say), not by the stamp that issued the manifest.
    None where they agree or either is unknown (a record from before keys were recorded)."""
    issued = record.details.get(WATERMARK_KEY_FIELD) if isinstance(record.details, dict) else None
    return str(issued) if issued and found_with and str(issued) != found_with else None


def _signer_trust(copy: dict[str, Any]) -> str:
    """Who a signed copy that holds was signed by, as the trust anchors here see it."""
    return ("a trusted signer" if copy["state"] == "Trusted" else
            "a signer that is not on the trust list here")


def _reason(recovered: dict[str, Any]) -> str:
    """What the signed copy adds to a verdict that went through the store (or through
    another installation's resolution service: ``via``)."""
    copy = recovered.get("signed_manifest")
    via = recovered.get("via")
    if via is not None:
        return _remote_reason(recovered, via)
    if copy is None:
        return ("The manifest store keeps no signed copy of that manifest (it was registered "
                "before copies were kept), so its facts rest on the store's word alone.")
    if copy["state"] == "Invalid":
        return f"What the check of the store's signed copy found: {copy['summary']}."
    who = f" (signed by {copy['signer']})" if copy.get("signer") else ""
    content = ("its hash still matches this file's content, so only the metadata that "
               "carried it was removed" if copy["content_matches"] else
               "it was signed over other bytes than this file's, as after any re-encode, so "
               "it shows who declared what, not that these pictures are unaltered")
    return (f"The store keeps that manifest as it was signed, and its signature checks out "
            f"under {_signer_trust(copy)}{who}; {content}.")


def _remote_reason(recovered: dict[str, Any], via: str) -> str:
    copy = recovered["signed_manifest"]
    link = (f"{via[0].upper()}{via[1:]} says the file's watermark leads to manifest "
            f"{recovered['manifest_id']}; that link rests on its word.")
    if copy["state"] == "Invalid":
        return f"{link} The manifest it sent fails its check here: {copy['summary']}."
    declares = "declares" if copy.get("ai_generated") else "does not declare"
    return (f"{link} The manifest, as signed, was checked here: its signature checks out "
            f"under {_signer_trust(copy)}, and it {declares} the content AI-generated.")


class StoreRecovery:
    """The built-in evidence step between the watermark (10) and the classifier (30). A
    store that cannot be read (damaged, locked) costs the recovery alone: ``problem`` says
    why, and the rest of the report stands."""

    name, order = "recovered", 20

    def __init__(self, store: ManifestStore | None, problem: StoreError | None = None, *,
                 trust_anchors: Path | bytes | None = None,
                 limits: MediaLimits | None = None) -> None:
        self.store, self.problem = store, problem
        self.trust_anchors, self.limits = trust_anchors, limits

    @classmethod
    def open(cls, store: ManifestStore | None, *, trust_anchors: Path | bytes | None = None,
             limits: MediaLimits | None = None) -> StoreRecovery:
        try:
            return cls(store or open_store(read_only_ok=True),  # lookups alone
                       trust_anchors=trust_anchors, limits=limits)
        except StoreError as exc:
            return cls(None, exc)

    def __call__(self, path: Path, report: VerificationReport, options: dict[str, Any]) -> None:
        if self.store is None:
            return
        try:
            recover_from_store(report, self.store, trust_anchors=self.trust_anchors,
                               limits=self.limits)
        except StoreError as exc:
            self.problem = exc

    def explain(self, report: VerificationReport) -> None:
        """The signed copy's reason, when a manifest was recovered; else, for a store that
        could not be read, a notice with the details, and the verdict (no server paths) says
        what was missed: a found watermark was not looked up (see
        :func:`provenant.report.decide_verdict`), a missing one was sought without the
        store's payloads, a test that finds fainter watermarks."""
        stripped = report.c2pa is None or not report.c2pa.present
        if report.recovered is not None and report.verdict is not None and stripped \
                and not report.recovered.get(KEY_MISMATCH_FIELD):
            report.verdict.reasons.append(_reason(report.recovered))
        if self.problem is None:
            return
        notice(str(self.problem))
        wm = report.watermark
        if report.verdict is not None and wm is not None and not wm.detected:
            report.verdict.reasons.append(
                "The manifest store could not be read, so the watermark was sought without the "
                "payloads it has issued, a test that finds fainter watermarks.")
