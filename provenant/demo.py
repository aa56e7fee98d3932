"""``provenant demo``: the main job on built-in defaults, narrated, with its expectations checked.

Generate a clip (watermarked, signed and registered by construction), verify it (Valid, then
Trusted with the dev trust anchor), tamper with it (Invalid), strip its metadata by
re-encoding and recover the manifest through the watermark, score a super-resolved clip that
has no credentials with the classifier, read real footage, unsigned and signed, and real
footage given the AI clip's watermark payload with a leaked retired key (not relied on).
Without the optional components it falls back to a rendered clip and skips what they provide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provenant.boxes import flip_media_byte
from provenant.config import get_settings
from provenant.manifest import SignOptions
from provenant.media import iter_frames, probe, write_video
from provenant.errors import ProvenanceError
from provenant.plugins import evidence_providers, generators, stampers
from provenant.provenance import default_credentials, sign, stamp, verify
from provenant.report import VerificationReport, render_text
from provenant.samples import render_clip, sample_footage

__all__ = ["run_demo"]


@dataclass
class _Step:
    title: str
    path: Path
    expect: str  # expected verdict label
    report: VerificationReport | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.verdict.label == self.expect


def _say(step: _Step, anchors: Path | None = None, options: dict | None = None) -> _Step:
    step.report = verify(step.path, trust_anchors=anchors, options=options)
    print(f"\n== {step.title}")
    print(render_text(step.report))
    return step


_PROMPT = "a red circle moving left on a blue background"


def _ai_clip(out: Path, creds) -> tuple[Path, str]:
    """The demo's AI clip: from the built-in generator when installed (watermarked, signed and
    registered by construction), else a rendered clip put through ``stamp`` or ``sign``."""
    gens = generators()
    if "builtin" in gens:
        try:
            return gens["builtin"](_PROMPT, out / "generated.mp4", seed=1, credentials=creds).path, \
                f"Generated from the prompt {_PROMPT!r}"
        except ProvenanceError as exc:
            print(f"(the generator is installed but cannot run: {exc}; using a rendered clip)")
    rendered = write_video(render_clip(72, 360, 640, seed=7), out / "rendered.mp4", fps=24)
    options = SignOptions(source_type="algorithmicMedia")
    if "watermark" in stampers():
        return stamp(rendered, out / "stamped.mp4", options, credentials=creds).path, \
            "A rendered clip, stamped (watermarked, signed, registered)"
    return sign(rendered, out / "signed.mp4", options, credentials=creds).path, \
        "A rendered clip, signed"


def _synthetic_clip(out: Path) -> tuple[Path, str]:
    """A synthetic clip without credentials: the sample footage ``carphone`` super-resolved
    from a quarter of its size (what an upscaler makes of low-resolution video; the detector
    holds ``carphone`` out of training), else a rendered clip."""
    import itertools

    import cv2

    source = sample_footage().get("carphone_pristine")
    if source is None:
        return write_video(render_clip(72, 360, 640, seed=11), out / "synthetic.mp4", fps=24), \
            "A synthetic (rendered) clip, without credentials"
    frames = []
    for f in itertools.islice(iter_frames(source), 72):
        h, w = f.shape[:2]
        small = cv2.resize(f, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
        frames.append(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC))
    return write_video(frames, out / "upscaled.mp4", fps=probe(source).fps), \
        "A super-resolved clip (real footage upscaled 4x from a quarter of its size), " \
        "without credentials"


def run_demo(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    creds = default_credentials()
    anchor = get_settings().credentials_dir / "ca.pem" if creds.development else None
    ai, title = _ai_clip(out, creds)
    steps = [
        _say(_Step(f"{title} (no trust anchor set)", ai, "verified-ai-generated")),
        _say(_Step("The same clip, with the dev CA as trust anchor", ai,
                   "verified-ai-generated"), anchor),
    ]
    tampered = out / "tampered.mp4"
    flip_media_byte(ai, tampered)
    steps.append(_say(_Step("One byte of its video data flipped", tampered, "tampered")))
    if "watermark" in stampers():
        stripped = write_video(iter_frames(ai), out / "stripped.mp4", fps=probe(ai).fps, crf=23)
        steps.append(_say(_Step("Re-encoded as a platform would (CRF 23), metadata gone: the "
                                "manifest is recovered through the watermark, and the copy "
                                "the store kept as signed is checked (dev CA as trust anchor)",
                                stripped, "verified-ai-generated"), anchor))
    classifier = any(p.name == "classifier" for p in evidence_providers())
    synthetic, title = _synthetic_clip(out)
    steps.append(_say(_Step(title, synthetic,
                            "likely-ai-generated" if classifier else "no-evidence")))
    real = sample_footage().get("bikes")
    if real is not None:
        steps.append(_say(_Step("Real footage, no credentials", real, "no-evidence")))
        capture = sign(real, out / "bikes-signed.mp4", credentials=creds).path
        steps.append(_say(_Step("Real footage signed as a capture", capture, "signed-capture")))
        copied = _copied_mark(steps, real, out)
        if copied is not None:
            steps.append(copied)
    _summary(steps)
    print(f"\nFiles are in {out}/")
    return 0 if all(s.ok for s in steps) else 1


#: The demo's stand-in for a retired watermark key that leaked.
_LEAKED_KEY = "provenant-demo: a retired key that leaked"


def _copied_mark(steps: list[_Step], real: Path, out: Path) -> _Step | None:
    """Real footage given the AI clip's watermark payload with a leaked retired key, read
    with the deployment's keys and that one retired: the mark is found and its payload names
    the AI clip's manifest, but the store knows another key made that manifest's mark, so
    the copy is not relied on. None without the watermark or a recovered payload."""
    recovered = next((s.report for s in steps if s.report and s.report.recovered), None)
    if "watermark" not in stampers() or recovered is None or recovered.watermark is None:
        return None
    from watermark.config import detection_keys  # installed with the stamper

    copied = out / "copied-mark.mp4"
    stampers()["watermark"](real, copied, bytes.fromhex(recovered.watermark.payload),
                            key=_LEAKED_KEY)
    return _say(_Step("Real footage given that clip's watermark payload with a leaked retired "
                      "key: the store knows another key made that mark, so it is not relied on",
                      copied, "no-evidence"),
                options={"key": [*detection_keys(None), _LEAKED_KEY]})


def _summary(steps: list[_Step]) -> None:
    print("\n== Summary")
    for s in steps:
        label = s.report.verdict.label if s.report else "?"
        c2pa = s.report.c2pa if s.report else None
        state = (c2pa.state or "-") if c2pa and c2pa.present else "unsigned"
        print(f"  [{'ok' if s.ok else 'UNEXPECTED'}] {state:<8} {label:<22} {s.title} ({s.path.name})")
