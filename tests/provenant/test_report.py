from __future__ import annotations

import json

import pytest

from provenant.report import (
    C2paEvidence,
    ClassifierEvidence,
    Failure,
    VerificationReport,
    WatermarkEvidence,
    decide_verdict,
    render_html,
    render_json,
    render_text,
)

VALID_AI = C2paEvidence(present=True, state="Valid", signer="Org", ai_generated=True)
VALID_CAPTURE = C2paEvidence(present=True, state="Trusted", signer="News Org", ai_generated=False)
INVALID = C2paEvidence(present=True, state="Invalid", signer="Org", ai_generated=True,
                       failures=[Failure("signingCredential.untrusted", "x"),
                                 Failure("assertion.bmffHash.mismatch", "y")])
WM = WatermarkEvidence(True, "00112233aabbccdd", 1e-12, 32, "io.provenant.watermark.v2")
HIGH = ClassifierEvidence(0.97, 0.5, [0.9, 0.99], "m")
LOW = ClassifierEvidence(0.02, 0.5, [0.01], "m")


@pytest.mark.parametrize(
    "report, label, cites",
    [
        (VerificationReport("f", c2pa=INVALID, watermark=WM), "tampered", "assertion.bmffHash.mismatch"),
        (VerificationReport("f", c2pa=VALID_AI), "verified-ai-generated", "Org"),
        (VerificationReport("f", c2pa=VALID_CAPTURE, classifier=HIGH), "signed-capture", "trusted"),
        (VerificationReport("f", c2pa=C2paEvidence(False), watermark=WM,
                            recovered={"manifest_id": "urn:x", "signer": "Gen Inc", "ai_generated": True}),
         "verified-ai-generated", "1.00e-12"),
        (VerificationReport("f", c2pa=C2paEvidence(False), classifier=HIGH), "likely-ai-generated", "0.970"),
        (VerificationReport("f", c2pa=C2paEvidence(False), classifier=LOW), "no-evidence", "0.020"),
        (VerificationReport("f", c2pa=C2paEvidence(False)), "no-evidence", "no C2PA manifest"),
    ],
)
def test_verdicts_cite_their_evidence(report: VerificationReport, label: str, cites: str) -> None:
    verdict = decide_verdict(report)
    assert verdict.label == label
    assert any(cites in r for r in verdict.reasons), verdict.reasons


def test_an_expired_certificate_alone_is_not_tampering() -> None:
    expired = C2paEvidence(present=True, state="Invalid", signer="Camera Co", ai_generated=False,
                           failures=[Failure("signingCredential.untrusted", "x"),
                                     Failure("signingCredential.expired", "y")])
    verdict = decide_verdict(VerificationReport("f", c2pa=expired))
    assert verdict.label == "signed-capture" and "no sign of tampering" in verdict.reasons[1]
    changed = C2paEvidence(present=True, state="Invalid", signer="Camera Co", ai_generated=False,
                           failures=[*expired.failures,
                                     Failure("assertion.dataHash.mismatch", "z")])
    assert decide_verdict(VerificationReport("f", c2pa=changed)).label == "tampered"


def test_tampered_reason_names_integrity_codes_not_trust_codes() -> None:
    reasons = decide_verdict(VerificationReport("f", c2pa=INVALID)).reasons
    assert "signingCredential.untrusted" not in reasons[0]


def test_json_has_the_documented_top_level() -> None:
    r = VerificationReport("f", c2pa=VALID_AI)
    r.verdict = decide_verdict(r)
    doc = json.loads(render_json(r))
    assert list(doc) == ["file", "c2pa", "watermark", "recovered", "classifier", "verdict"]
    assert set(doc["c2pa"]) >= {"present", "state", "signer", "ai_generated", "actions",
                                "ingredients", "failures", "soft_bindings"}
    assert doc["watermark"] is None and doc["verdict"]["label"] == "verified-ai-generated"


def test_text_is_short_and_leads_with_the_verdict() -> None:
    r = VerificationReport("clip.mp4", c2pa=INVALID)
    r.verdict = decide_verdict(r)
    text = render_text(r)
    assert text.splitlines()[1] == "Verdict: TAMPERED"
    assert "note signingCredential.untrusted" in text and "! assertion.bmffHash.mismatch" in text
    assert len(text.splitlines()) < 15


def test_an_unreadable_store_is_tampered_without_inventing_a_signer() -> None:
    forged = C2paEvidence(present=True, state="Invalid", signer=None,
                          failures=[Failure("manifest.unreadable", "expected JUMD")])
    r = VerificationReport("clip.mp4", c2pa=forged)
    r.verdict = decide_verdict(r)
    assert r.verdict.label == "tampered"
    assert "cannot be read" in r.verdict.reasons[0] and "signed by" not in r.verdict.reasons[0]
    text = render_text(r)
    assert "None" not in text and "signer unknown" in text


CAPTURE_RECORD = {"manifest_id": "urn:cap", "signer": "News Org", "ai_generated": False,
                  "source_type": "digitalCapture"}


@pytest.mark.parametrize("clf, label", [(None, "no-evidence"), (HIGH, "likely-ai-generated")])
def test_a_watermark_leading_to_a_capture_manifest_is_cited_but_proves_nothing_unaltered(
        clf: ClassifierEvidence | None, label: str) -> None:
    """A watermark survives edits, so a stripped capture's recovered manifest is a link, not
    a signed-capture verdict: the label stays with the rest of the evidence."""
    r = VerificationReport("f", c2pa=C2paEvidence(False), watermark=WM,
                           recovered=CAPTURE_RECORD, classifier=clf)
    verdict = decide_verdict(r)
    assert verdict.label == label
    link = [x for x in verdict.reasons if "urn:cap" in x]
    assert len(link) == 1 and "News Org" in link[0] and "digitalCapture" in link[0]
    assert "unaltered" in link[0]
    r.verdict = verdict
    assert ("Recovered manifest: urn:cap (signed by News Org, digitalCapture)"
            in render_text(r).splitlines())


def test_a_watermark_with_no_record_says_so() -> None:
    r = VerificationReport("f", c2pa=C2paEvidence(False), watermark=WM, classifier=LOW)
    reasons = decide_verdict(r).reasons
    assert any("matches no manifest" in x for x in reasons)
    ai = VerificationReport("f", c2pa=C2paEvidence(False), watermark=WM,
                            recovered={"manifest_id": "urn:x", "ai_generated": True})
    assert not any("matches no manifest" in x for x in decide_verdict(ai).reasons)


@pytest.mark.parametrize("candidates, words", [(1, "the one payload"),
                                               (1200, "among the 1,200 payloads")])
def test_store_aided_detection_is_worded_by_count(candidates: int, words: str) -> None:
    wm = WatermarkEvidence(True, "00112233aabbccdd", 1e-9, 8, "alg", method="lookup",
                           candidates=candidates)
    r = VerificationReport("f", c2pa=VALID_AI, watermark=wm)
    assert any(words in x for x in decide_verdict(r).reasons)


def test_a_watermark_found_in_a_changed_copy_says_how_it_was_changed() -> None:
    wm = WatermarkEvidence(True, "00112233aabbccdd", 1e-9, 8, "alg", transform="mirrored")
    r = VerificationReport("f", c2pa=VALID_AI, watermark=wm)
    assert any("this copy had been mirrored" in x for x in decide_verdict(r).reasons)
    assert "this copy had been mirrored" in render_text(r)
    assert json.loads(render_json(r))["watermark"]["transform"] == "mirrored"
    plain = VerificationReport("f", c2pa=VALID_AI, watermark=WM)
    assert "copy had been" not in render_text(plain)


def test_html_for_notebooks_escapes_what_the_file_says() -> None:
    hostile = C2paEvidence(present=True, state="Valid", signer="<script>x()</script>",
                           ai_generated=True)
    r = VerificationReport("<img src=x onerror=y>.mp4", c2pa=hostile, watermark=WM)
    r.verdict = decide_verdict(r)
    page = r._repr_html_()
    assert page == render_html(r)
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "VERIFIED-AI-GENERATED" in page
    assert page.count("<li>") == len(r.verdict.reasons) and "Watermark: found" in page


def test_ai_declared_through_an_ingredient_is_named() -> None:
    edit = C2paEvidence(present=True, state="Valid", signer="Desk", ai_generated=True,
                        actions=[{"action": "c2pa.opened"},
                                 {"action": "c2pa.edited", "digitalSourceType":
                                  "http://cv.iptc.org/newscodes/digitalsourcetype/humanEdits"}],
                        ai_ingredients=["gen.png"])
    report = VerificationReport("f", c2pa=edit)
    report.verdict = decide_verdict(report)
    assert report.verdict.label == "verified-ai-generated"
    assert "made from 'gen.png', whose own manifest declares it AI-generated" in \
        report.verdict.reasons[0]
    assert "AI-generated declared: yes (through its ingredient 'gen.png')" in render_text(report)
    assert json.loads(render_json(report))["c2pa"]["ai_ingredients"] == ["gen.png"]


def test_a_manifest_that_declares_no_source_is_not_called_a_capture() -> None:
    silent = C2paEvidence(present=True, state="Valid", signer="Org", ai_generated=None,
                          actions=[{"action": "c2pa.edited"}])
    verdict = decide_verdict(VerificationReport("f", c2pa=silent))
    assert verdict.label == "signed-capture"
    assert "does not say how the content was made" in verdict.reasons[0]
    assert "non-AI" not in verdict.reasons[0]


def test_an_edit_of_a_changed_parent_says_its_declaration_is_not_relied_on() -> None:
    edit = C2paEvidence(present=True, state="Valid", signer="Desk", ai_generated=None,
                        actions=[{"action": "c2pa.opened"}, {"action": "c2pa.edited"}],
                        ingredients=[{"title": "cap.mp4", "relationship": "parentOf"}],
                        altered_ingredients={"cap.mp4": ["assertion.bmffHash.mismatch"]})
    report = VerificationReport("f", c2pa=edit)
    report.verdict = decide_verdict(report)
    assert "does not say how the content was made" in report.verdict.reasons[0]
    assert "made from 'cap.mp4', which had been changed since it was signed " \
        "(assertion.bmffHash.mismatch), so what that file's manifest declares is not relied " \
        "on" in report.verdict.reasons[0]
    assert "ingredient: cap.mp4 [parentOf] (changed since it was signed: " \
        "assertion.bmffHash.mismatch)" in render_text(report)


def test_an_edit_that_declares_no_source_cites_its_parents() -> None:
    edit = C2paEvidence(present=True, state="Valid", signer="Desk", ai_generated=False,
                        actions=[{"action": "c2pa.opened"}, {"action": "c2pa.edited"}],
                        ingredient_sources={"a.jpg": ["digitalCapture"],
                                            "b.jpg": ["computationalCapture"]})
    verdict = decide_verdict(VerificationReport("f", c2pa=edit))
    assert verdict.label == "signed-capture"
    assert verdict.reasons[0].endswith(
        "declares no source of its own; it was made from 'a.jpg' (digitalCapture), 'b.jpg' "
        "(computationalCapture), whose own manifests declare non-AI sources.")
