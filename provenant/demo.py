"""``provenant demo``: the main job on built-in defaults, narrated, with its expectations checked.

Render a clip, sign it, verify it (Valid, then Trusted with the dev trust anchor), tamper with
it (Invalid), and read a real clip. When the watermark component is installed it also stamps
a clip, strips its metadata by re-encoding, and recovers the manifest through the watermark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provenant.boxes import flip_media_byte
from provenant.config import get_settings
from provenant.manifest import SignOptions
from provenant.media import iter_frames, probe, write_video
from provenant.plugins import stampers
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


def _say(step: _Step, anchors: Path | None = None) -> _Step:
    step.report = verify(step.path, trust_anchors=anchors)
    print(f"\n== {step.title}")
    print(render_text(step.report))
    return step


def run_demo(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    creds = default_credentials()
    anchor = get_settings().credentials_dir / "ca.pem" if creds.development else None
    steps: list[_Step] = []

    rendered = write_video(render_clip(48, 256, 256, seed=7), out / "rendered.mp4", fps=24)
    signed = sign(rendered, out / "signed.mp4", SignOptions(source_type="algorithmicMedia"),
                  credentials=creds).path
    steps.append(_say(_Step("A rendered clip, signed (no trust anchor set)", signed,
                            "verified-ai-generated")))
    steps.append(_say(_Step("The same clip, with the dev CA as trust anchor", signed,
                            "verified-ai-generated"), anchor))
    tampered = out / "tampered.mp4"
    flip_media_byte(signed, tampered)
    steps.append(_say(_Step("One byte of its video data flipped", tampered, "tampered")))

    if "watermark" in stampers():
        stamped = stamp(rendered, out / "stamped.mp4", credentials=creds).path
        steps.append(_say(_Step("Stamped: watermarked + signed + registered", stamped,
                                "verified-ai-generated")))
        info = probe(stamped)
        stripped = write_video(iter_frames(stamped), out / "stripped.mp4", fps=info.fps, crf=28)
        steps.append(_say(_Step("Re-encoded (CRF 28), metadata stripped: recovered through the "
                                "watermark", stripped, "verified-ai-generated")))

    real = sample_footage().get("bikes")
    if real is not None:
        steps.append(_say(_Step("Real footage, no credentials", real, "no-evidence")))
        capture = sign(real, out / "bikes-signed.mp4", credentials=creds).path
        steps.append(_say(_Step("Real footage signed as a capture", capture, "signed-capture")))

    print("\n== Summary")
    for s in steps:
        label = s.report.verdict.label if s.report else "?"
        c2pa = s.report.c2pa if s.report else None
        state = (c2pa.state or "-") if c2pa and c2pa.present else "unsigned"
        print(f"  [{'ok' if s.ok else 'UNEXPECTED'}] {state:<8} {label:<22} {s.title} ({s.path.name})")
    print(f"\nFiles are in {out}/")
    return 0 if all(s.ok for s in steps) else 1
