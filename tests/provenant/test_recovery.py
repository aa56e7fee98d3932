"""Recovery through the watermark: the store keeps each manifest as it was signed, and a
stripped copy's recovered manifest has that copy's signature checked against the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import provenant.provenance as prov
from provenant.config import get_settings
from provenant.manifest import SignOptions
from provenant.media import iter_frames, write_video
from provenant.store import ManifestRecord, ManifestStore
from tests.provenant.test_provenance import CopyStamper, PayloadProvider

ALG = CopyStamper.soft_binding_alg


@pytest.fixture()
def stamped(clip: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch):
    """A clip stamped as AI-generated, a re-encoded (stripped) copy of it, and its store."""
    stamper = CopyStamper()
    monkeypatch.setattr(prov, "stampers", lambda: {"copy": stamper})
    store = ManifestStore(workdir / "s.db")
    result = prov.stamp(clip, workdir / "stamped.mp4", store=store, stamper="copy")
    stripped = write_video(iter_frames(result.path), workdir / "stripped.mp4", fps=24)
    monkeypatch.setattr(prov, "evidence_providers",
                        lambda: (PayloadProvider(stamper.payloads[0].hex()),))
    return result, stripped, store


def _dev_anchor() -> Path:
    return get_settings().credentials_dir / "ca.pem"


def test_signing_keeps_the_signed_manifest_store(png: Path, clip: Path, workdir: Path) -> None:
    store = ManifestStore(workdir / "s.db")
    for src, name in ((png, "a.png"), (clip, "a.mp4")):  # the SDK's path and the appending one
        result = prov.sign(src, workdir / name, store=store)
        data = store.signed_manifest(result.manifest_id)
        assert data == result.manifest_store and data[4:8] == b"jumb"
        assert prov.read_manifest(result.path, manifest=data).manifest_id == result.manifest_id


def test_a_stripped_copy_has_its_recovered_manifest_checked(stamped) -> None:
    result, stripped, store = stamped
    report = prov.verify(stripped, store=store)
    assert not report.c2pa.present and report.recovered["manifest_id"] == result.manifest_id
    copy = report.recovered["signed_manifest"]
    assert copy["state"] == "Valid" and copy["content_matches"] is False  # re-encoded
    assert copy["ai_generated"] is True and "assertion.bmffHash.mismatch" in copy["codes"]
    assert report.verdict.label == "verified-ai-generated"
    assert any("its signature checks out" in r and "other bytes" in r
               for r in report.verdict.reasons)
    trusted = prov.verify(stripped, store=store, trust_anchors=_dev_anchor())
    assert trusted.recovered["signed_manifest"]["state"] == "Trusted"
    # the file itself, manifest intact: the copy matches, and no stripped-copy reason is given
    intact = prov.verify(result.path, store=store)
    assert intact.recovered["signed_manifest"]["content_matches"] is True
    assert not any("store keeps that manifest" in r for r in intact.verdict.reasons)


def _replace_copy(store: ManifestStore, manifest_id: str, data: bytes) -> None:
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE signed_manifests SET data = ? WHERE manifest_id = ?",
                     (data, manifest_id))


def test_an_altered_copy_is_not_relied_on(stamped) -> None:
    result, stripped, store = stamped
    data = bytearray(store.signed_manifest(result.manifest_id))
    data[-40] ^= 0xFF  # inside the signature, at the end of the store
    _replace_copy(store, result.manifest_id, bytes(data))
    report = prov.verify(stripped, store=store)
    assert report.recovered["signed_manifest"]["state"] == "Invalid"
    assert report.verdict.label != "verified-ai-generated"  # the record says AI; not relied on
    assert any("fails its check" in r for r in report.verdict.reasons)
    _replace_copy(store, result.manifest_id, b"not a manifest store at all")
    copy = prov.verify(stripped, store=store).recovered["signed_manifest"]  # no error
    assert copy["state"] == "Invalid" and "not a C2PA manifest store" in copy["summary"]


def test_a_copy_of_another_manifest_is_invalid(stamped, png: Path, workdir: Path) -> None:
    """A store that answers with some other signed manifest (valid in itself) is caught:
    the copy must be the record's manifest and carry the watermark's binding."""
    result, stripped, store = stamped
    other = prov.sign(png, workdir / "other.png",
                      SignOptions(source_type="trainedAlgorithmicMedia"), store=store)
    _replace_copy(store, result.manifest_id, other.manifest_store)
    copy = prov.verify(stripped, store=store).recovered["signed_manifest"]
    assert copy["state"] == "Invalid" and other.manifest_id in copy["summary"]


def test_records_from_before_signed_copies_say_so(stamped) -> None:
    result, stripped, store = stamped
    with sqlite3.connect(store.path) as conn:
        conn.execute("DELETE FROM signed_manifests")
    report = prov.verify(stripped, store=store)
    assert report.recovered["signed_manifest"] is None
    assert report.verdict.label == "verified-ai-generated"  # the record's word, as before
    assert any("keeps no signed copy" in r for r in report.verdict.reasons)


def test_an_older_store_read_only_has_no_copies(workdir: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A store made before the table existed, read where it cannot be upgraded."""
    path = workdir / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE manifests (manifest_id TEXT PRIMARY KEY, created_at REAL NOT NULL,"
            " signer TEXT, source_type TEXT, ai_generated INTEGER NOT NULL, title TEXT,"
            " development INTEGER NOT NULL, details TEXT NOT NULL);"
            "CREATE TABLE soft_bindings (alg TEXT NOT NULL, value TEXT NOT NULL,"
            " manifest_id TEXT NOT NULL, PRIMARY KEY (alg, value, manifest_id));"
            "INSERT INTO manifests VALUES ('urn:old', 1.0, 'Old', NULL, 1, NULL, 0, '{}');"
            f"INSERT INTO soft_bindings VALUES ('{ALG}', '00000000000000aa', 'urn:old');")
    real = sqlite3.connect

    def read_only_mount(database, *args, **kwargs):
        if "immutable=1" not in str(database):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only_mount)
    store = ManifestStore(path, read_only_ok=True)
    assert store.find_by_binding(ALG, "00000000000000aa")[0].manifest_id == "urn:old"
    assert store.signed_manifest("urn:old") is None
    monkeypatch.setattr(sqlite3, "connect", real)
    upgraded = ManifestStore(path)  # opened where it can be written: the table is added
    upgraded.register(ManifestRecord("urn:new"), signed=b"\0\0\0\x10jumbsigned")
    assert upgraded.signed_manifest("urn:new") == b"\0\0\0\x10jumbsigned"
    assert upgraded.signed_manifest("urn:old") is None
    upgraded.register(ManifestRecord("urn:new"))  # registered again without one: none kept
    assert upgraded.signed_manifest("urn:new") is None
