"""The core's orchestration: sign + register, stamp through a stamper, verify + recover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import provenant.provenance as prov
from provenant.errors import CapabilityUnavailableError, ConfigurationError, InputError, MediaError
from provenant.manifest import SignOptions, read_manifest
from provenant.media import iter_frames, probe, read_image, write_image, write_video
from provenant.report import VerificationReport, WatermarkEvidence
from provenant.store import ManifestStore


class CopyStamper:
    """A real (if trivial) stamper: re-encodes the clip and remembers the payload it was given."""

    name = "copy"
    soft_binding_alg = "org.example.test"

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def __call__(self, src: Path, dst: Path, payload: bytes) -> dict[str, Any]:
        self.payloads.append(payload)
        write_video(iter_frames(src), dst, fps=probe(src).fps)
        return {"alg": self.soft_binding_alg, "value": payload.hex()}


class ImageCopyStamper(CopyStamper):
    """The same for a still: writes the image again, in the format ``dst`` names."""

    def __call__(self, src: Path, dst: Path, payload: bytes) -> dict[str, Any]:
        self.payloads.append(payload)
        write_image(read_image(src), dst)
        return {"alg": self.soft_binding_alg, "value": payload.hex()}


class PayloadProvider:
    """An evidence provider that 'detects' a fixed payload, to test the recovery step."""

    name, order = "fake-watermark", 10

    def __init__(self, payload: str) -> None:
        self.payload = payload

    def __call__(self, path: Path, report: VerificationReport, options: dict) -> None:
        report.watermark = WatermarkEvidence(True, self.payload, 1e-9, 8, "org.example.test")


def test_sign_registers_the_manifest(clip: Path, workdir: Path) -> None:
    store = ManifestStore(workdir / "s.db")
    result = prov.sign(clip, workdir / "s.mp4", SignOptions(source_type="trainedAlgorithmicMedia"),
                       store=store)
    rec = store.get(result.manifest_id)
    assert rec.ai_generated and rec.source_type == "trainedAlgorithmicMedia"
    assert rec.signer == result.signer and rec.development


def test_an_edit_of_an_ai_parent_is_registered_as_ai_generated(png: Path, workdir: Path) -> None:
    store = ManifestStore(workdir / "s.db")
    gen = prov.sign(png, workdir / "gen.png", SignOptions(source_type="trainedAlgorithmicMedia"),
                    store=store)
    edit = prov.sign(png, workdir / "edit.png",
                     SignOptions(source_type="humanEdits", parent=gen.path), store=store)
    assert store.get(edit.manifest_id).ai_generated  # a stripped copy recovers it as AI-made
    capture = prov.sign(png, workdir / "cap.png", store=store)
    edit = prov.sign(png, workdir / "edit2.png",
                     SignOptions(source_type="humanEdits", parent=capture.path), store=store)
    assert not store.get(edit.manifest_id).ai_generated


def test_stamp_signs_with_soft_binding_and_recovers_after_stripping(
    clip: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamper = CopyStamper()
    monkeypatch.setattr(prov, "stampers", lambda: {"copy": stamper})
    store = ManifestStore(workdir / "s.db")
    result = prov.stamp(clip, workdir / "stamped.mp4", store=store, stamper="copy")
    value = stamper.payloads[0].hex()
    assert len(stamper.payloads[0]) == 8
    assert result.soft_bindings == (("org.example.test", value),)
    report = prov.verify(workdir / "stamped.mp4", store=store)
    assert report.c2pa.state == "Valid"
    assert [a["action"] for a in report.c2pa.actions] == ["c2pa.created", "c2pa.watermarked"]
    assert report.c2pa.soft_bindings == [{"alg": "org.example.test", "value": value}]
    assert not list(workdir.glob(".stamped.*"))  # the intermediate file is gone

    stripped = write_video(iter_frames(workdir / "stamped.mp4"), workdir / "stripped.mp4", fps=24)
    monkeypatch.setattr(prov, "evidence_providers", lambda: (PayloadProvider(value),))
    report = prov.verify(stripped, store=store)
    assert report.c2pa.present is False
    assert report.recovered["manifest_id"] == result.manifest_id
    assert report.verdict.label == "verified-ai-generated"
    assert any(result.manifest_id in r for r in report.verdict.reasons)


@pytest.mark.parametrize("declared, label", [("digitalCapture", "signed-capture"),
                                              ("trainedAlgorithmicMedia", "verified-ai-generated")])
def test_stamping_a_signed_file_keeps_its_history(
    png: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch, declared: str, label: str
) -> None:
    """A camera's (or another generator's) signed picture was stamped as new AI content, its
    manifest dropped by the re-encode; it is the parent now, and says how it was made."""
    monkeypatch.setattr(prov, "stampers", lambda: {"copy": ImageCopyStamper()})
    store = ManifestStore(workdir / "s.db")
    signed = prov.sign(png, workdir / "signed.png", SignOptions(source_type=declared),
                       store=store)
    result = prov.stamp(signed.path, workdir / "stamped.png", store=store, stamper="copy")
    report = prov.verify(result.path, store=store)
    assert [a["action"] for a in report.c2pa.actions] == ["c2pa.opened", "c2pa.watermarked"]
    assert [(i["title"], i["relationship"]) for i in report.c2pa.ingredients] == [
        ("signed.png", "parentOf")]
    assert report.c2pa.ingredients[0]["active_manifest"] == signed.manifest_id
    assert result.source_type is None  # the parent's declaration stands
    assert report.verdict.label == label
    assert store.get(result.manifest_id).ai_generated is (declared != "digitalCapture")


def test_a_stamp_may_still_declare_a_source_type_over_a_parent(
    png: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prov, "stampers", lambda: {"copy": ImageCopyStamper()})
    signed = prov.sign(png, workdir / "signed.png", store=ManifestStore(workdir / "s.db"))
    result = prov.stamp(signed.path, workdir / "stamped.png",
                        SignOptions(source_type="compositeWithTrainedAlgorithmicMedia"),
                        store=ManifestStore(workdir / "s.db"), stamper="copy")
    actions = read_manifest(result.path).actions
    assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.edited", "c2pa.watermarked"]
    assert actions[1]["digitalSourceType"].endswith("compositeWithTrainedAlgorithmicMedia")


def test_signing_a_signed_file_again_keeps_its_manifest_as_the_parent(png: Path,
                                                                     workdir: Path) -> None:
    """Signing an AI-declared picture again replaced its manifest with one that said it was
    a camera capture (the default), so a second signature laundered the declaration."""
    store = ManifestStore(workdir / "s.db")
    ai = prov.sign(png, workdir / "ai.png", SignOptions(source_type="trainedAlgorithmicMedia"),
                   store=store)
    again = prov.sign(ai.path, workdir / "again.png", SignOptions(title="again"), store=store)
    report = prov.verify(again.path, store=store)
    assert [a["action"] for a in report.c2pa.actions] == ["c2pa.opened", "c2pa.edited"]
    assert report.c2pa.ingredients[0]["active_manifest"] == ai.manifest_id
    assert report.verdict.label == "verified-ai-generated"
    assert store.get(again.manifest_id).ai_generated
    fresh = prov.sign(png, workdir / "fresh.png", store=store)  # no manifest: created
    assert [a["action"] for a in read_manifest(fresh.path).actions] == ["c2pa.created"]


def test_an_unknown_payload_recovers_nothing(clip: Path, workdir: Path, monkeypatch) -> None:
    monkeypatch.setattr(prov, "evidence_providers", lambda: (PayloadProvider("ffffffffffffffff"),))
    report = prov.verify(clip, store=ManifestStore(workdir / "s.db"))
    assert report.recovered is None and report.verdict.label == "no-evidence"


def test_stamp_without_a_stamper_says_what_is_missing(clip: Path, workdir: Path, monkeypatch) -> None:
    monkeypatch.setattr(prov, "stampers", lambda: {})
    with pytest.raises(CapabilityUnavailableError, match="no 'watermark' stamper"):
        prov.stamp(clip, workdir / "x.mp4")


def test_half_configured_signing_identity_is_refused(monkeypatch, workdir: Path) -> None:
    from provenant.config import get_settings

    monkeypatch.setenv("PROVENANT_SIGN_CERT", str(workdir / "c.pem"))
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="both"):
        prov.default_credentials()


def test_limits_flow_through_sign_verify_and_stamp(clip: Path, workdir: Path, monkeypatch) -> None:
    from provenant.errors import MediaLimitError
    from provenant.media import MediaLimits

    tight = MediaLimits(max_pixels=100)
    with pytest.raises(MediaLimitError):
        prov.sign(clip, workdir / "s.mp4", limits=tight)
    with pytest.raises(MediaLimitError):
        prov.verify(clip, limits=tight)
    stamper = CopyStamper()
    monkeypatch.setattr(prov, "stampers", lambda: {"copy": stamper})
    with pytest.raises(MediaLimitError):
        prov.stamp(clip, workdir / "x.mp4", stamper="copy", limits=tight)
    assert stamper.payloads == []  # refused before the stamper ran
    seen = {}

    class Spy:
        name, order = "spy", 10

        def __call__(self, path, report, options):
            seen.update(options)

    monkeypatch.setattr(prov, "evidence_providers", lambda: (Spy(),))
    loose = MediaLimits(max_pixels=10**8)
    store = ManifestStore(workdir / "s.db")
    prov.verify(clip, limits=loose, options={"key": "k"}, store=store)
    assert seen == {"key": "k", "limits": loose, "store": store}  # store: the lookup test


@pytest.mark.parametrize("name, mime",
                         [("stamped.png", "image/png"), ("stamped.jpg", "image/jpeg"),
                          ("stamped.webp", "image/webp")])
def test_a_stamped_image_stays_an_image(png: Path, workdir: Path, monkeypatch,
                                        name: str, mime: str) -> None:
    stamper = ImageCopyStamper()
    monkeypatch.setattr(prov, "stampers", lambda: {"copy": stamper})
    result = prov.stamp(png, workdir / name, store=ManifestStore(workdir / "s.db"),
                        stamper="copy")
    assert probe(result.path).mime == mime
    ev = read_manifest(result.path)
    assert ev.state == "Valid" and ev.ai_generated is True
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_stamp_refuses_an_output_name_of_the_wrong_kind(png: Path, clip: Path, workdir: Path,
                                                       monkeypatch) -> None:
    stamper = CopyStamper()
    monkeypatch.setattr(prov, "stampers", lambda: {"copy": stamper})
    with pytest.raises(InputError, match=r"an image \(PNG, JPEG, WebP, HEIC or AVIF\)"):
        prov.stamp(png, workdir / "x.mp4", stamper="copy")
    with pytest.raises(InputError, match="MP4"):
        prov.stamp(clip, workdir / "x.webm", stamper="copy")
    assert stamper.payloads == [] and list(workdir.iterdir()) == []


def test_signed_and_stamped_outputs_are_as_readable_as_other_files(png: Path, workdir: Path,
                                                                  monkeypatch) -> None:
    import os

    monkeypatch.setattr(prov, "stampers", lambda: {"copy": ImageCopyStamper()})
    mask = os.umask(0o022)
    try:
        signed = prov.sign(png, workdir / "signed.png", store=ManifestStore(workdir / "s.db"))
        stamped = prov.stamp(png, workdir / "stamped.png", store=ManifestStore(workdir / "s.db"),
                             stamper="copy")
    finally:
        os.umask(mask)
    for result in (signed, stamped):  # not a temporary file's private 0600
        assert result.path.stat().st_mode & 0o777 == 0o644


def test_stamp_never_overwrites_its_input(clip: Path, workdir: Path, monkeypatch) -> None:
    stamper = CopyStamper()
    monkeypatch.setattr(prov, "stampers", lambda: {"copy": stamper})
    original = workdir / "mine.mp4"
    original.write_bytes(clip.read_bytes())
    with pytest.raises(InputError, match="is the input file"):
        prov.stamp(original, workdir / "." / "mine.mp4", stamper="copy")
    assert original.read_bytes() == clip.read_bytes() and stamper.payloads == []


class PixelReader:
    """An evidence provider that decodes the pictures, as the watermark and classifier do."""

    name, order = "pixels", 10

    def __call__(self, path: Path, report: VerificationReport, options: dict) -> None:
        for _ in iter_frames(path):
            pass


def _damage_png_pixels(src: Path, dst: Path) -> None:
    """Invert a byte inside the first IDAT chunk's data (its CRC then fails)."""
    data = bytearray(src.read_bytes())
    data[data.index(b"IDAT") + 8] ^= 0xFF
    dst.write_bytes(bytes(data))


def test_a_signed_image_whose_pixels_no_longer_decode_reads_as_tampered(
    png: Path, workdir: Path, monkeypatch
) -> None:
    signed = prov.sign(png, workdir / "s.png", store=ManifestStore(workdir / "s.db")).path
    _damage_png_pixels(signed, workdir / "damaged.png")
    monkeypatch.setattr(prov, "evidence_providers", lambda: (PixelReader(),))
    report = prov.verify(workdir / "damaged.png", store=ManifestStore(workdir / "s.db"))
    assert report.c2pa.state == "Invalid" and report.verdict.label == "tampered"
    reason = report.verdict.reasons[-1]
    assert "could not be read" in reason and str(workdir) not in reason


def test_undecodable_pixels_without_a_manifest_are_an_error(png: Path, workdir: Path,
                                                           monkeypatch) -> None:
    from provenant.errors import MediaError

    _damage_png_pixels(png, workdir / "damaged.png")
    monkeypatch.setattr(prov, "evidence_providers", lambda: (PixelReader(),))
    with pytest.raises(MediaError, match="cannot be decoded"):
        prov.verify(workdir / "damaged.png", store=ManifestStore(workdir / "s.db"))


def test_a_truncated_video_is_not_stamped(clip: Path, workdir: Path) -> None:
    """Cut after its index, the clip decodes in part: stamping would sign what is left as if
    it were the clip (it did, silently)."""
    data = clip.read_bytes()
    cut = workdir / "cut.mp4"
    cut.write_bytes(data[: len(data) * 95 // 100])
    with pytest.raises(MediaError, match="truncated: its 'mdat' box"):
        prov.stamp(cut, workdir / "stamped.mp4", store=ManifestStore(workdir / "s.db"))
    assert not (workdir / "stamped.mp4").exists()


def _damage_store(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    """Point the configured store at a file that is no SQLite database."""
    from provenant.config import get_settings

    (workdir / "data").mkdir()
    (workdir / "data" / "store.sqlite3").write_bytes(b"not a database " * 100)
    monkeypatch.setenv("PROVENANT_DATA_DIR", str(workdir / "data"))
    get_settings.cache_clear()


def test_a_damaged_store_costs_verify_only_the_recovery(clip: Path, workdir: Path,
                                                        monkeypatch) -> None:
    signed = prov.sign(clip, workdir / "s.mp4", SignOptions(source_type="trainedAlgorithmicMedia"),
                       store=ManifestStore(workdir / "s.db"))
    _damage_store(monkeypatch, workdir)
    monkeypatch.setattr(prov, "evidence_providers", lambda: (PayloadProvider("00" * 8),))
    with pytest.warns(UserWarning, match="file is damaged: restore it from a backup"):
        report = prov.verify(signed.path)
    assert report.c2pa.state == "Valid" and report.verdict.label == "verified-ai-generated"
    stripped = write_video(iter_frames(signed.path), workdir / "stripped.mp4", fps=24)
    with pytest.warns(UserWarning):
        report = prov.verify(stripped)
    assert report.verdict.label == "no-evidence" and report.recovered is None
    assert any("store could not be read, so its payload was not looked up" in r
               for r in report.verdict.reasons)
    assert not any("matches no manifest" in r for r in report.verdict.reasons)
    assert not any(str(workdir) in r for r in report.verdict.reasons)  # no server paths


def test_a_damaged_store_stops_sign_and_stamp_before_any_output(clip: Path, workdir: Path,
                                                                monkeypatch) -> None:
    from provenant.errors import StoreError

    stamper = CopyStamper()
    monkeypatch.setattr(prov, "stampers", lambda: {"copy": stamper})
    _damage_store(monkeypatch, workdir)
    with pytest.raises(StoreError, match="not a database") as err:
        prov.stamp(clip, workdir / "stamped.mp4", stamper="copy")
    assert "damaged" in err.value.hint and stamper.payloads == []  # nothing was embedded
    with pytest.raises(StoreError):
        prov.sign(clip, workdir / "signed.mp4")
    assert not (workdir / "stamped.mp4").exists() and not (workdir / "signed.mp4").exists()


def test_a_copy_whose_manifest_cannot_be_registered_is_removed(clip: Path, workdir: Path,
                                                               monkeypatch) -> None:
    from provenant.errors import StoreError

    store = ManifestStore(workdir / "s.db")

    def full(record, signed=None):
        raise StoreError("cannot register manifest: database or disk is full")
    monkeypatch.setattr(store, "register", full)
    with pytest.raises(StoreError, match="the signed copy .*signed.mp4 was removed"):
        prov.sign(clip, workdir / "signed.mp4", store=store)
    assert not list(workdir.glob("*signed*"))  # neither the copy nor a temporary file


def _title(path: Path) -> str:
    import json

    import c2pa

    store = json.loads(c2pa.Reader(str(path)).json())
    return store["manifests"][store["active_manifest"]]["title"]


def test_manifests_are_titled_with_the_output_name_in_any_encoding(
        png: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(prov, "stampers", lambda: {"copy": ImageCopyStamper()})
    store = ManifestStore(workdir / "s.db")
    out = prov.stamp(png, workdir / "holiday.png", store=store, stamper="copy")
    assert _title(out.path) == "holiday.png"  # before: the hidden temporary file's name
    latin1 = workdir / os.fsdecode(b"caf\xe9.png")  # a name that is not UTF-8
    latin1.write_bytes(png.read_bytes())
    signed = prov.sign(latin1, workdir / os.fsdecode(b"caf\xe9-signed.png"), store=store)
    assert _title(signed.path) == "café-signed.png"  # before: the SDK refused the JSON
    assert store.get(signed.manifest_id).title == "café-signed.png"
    stamped = prov.stamp(latin1, workdir / "stamped.png", store=store, stamper="copy")
    assert _title(stamped.path) == "stamped.png"
