"""Content credentials kept outside the file: a remote link is reported (never fetched), and
a manifest given with --manifest or found as a sidecar is checked against the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenant.cli import main
from provenant.errors import InputError
from provenant.manifest import read_manifest
from provenant.provenance import verify
from provenant.report import render_text
from tests.conftest import sign_with_remote_link

URL = "https://credentials.example.com/manifests/abc.c2pa"


@pytest.fixture(scope="module")
def remote(creds, png: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A PNG that carries only a link to its manifest, and the manifest that link serves."""
    out = tmp_path_factory.mktemp("remote") / "linked.png"
    return out, sign_with_remote_link(png, out, creds, URL)


def test_a_remote_link_is_reported_not_taken_for_no_manifest(remote) -> None:
    path, _ = remote
    report = verify(path)
    assert report.c2pa.present is False and report.c2pa.remote_url == URL
    reasons = " ".join(report.verdict.reasons)
    assert "kept elsewhere" in reasons and "carries no C2PA manifest" not in reasons
    assert f"kept elsewhere, at {URL} (not fetched)" in render_text(report)


def test_the_fetched_manifest_or_a_sidecar_is_checked_against_the_file(
        remote, workdir: Path, capsys) -> None:
    path, manifest = remote
    fetched = workdir / "fetched.c2pa"
    fetched.write_bytes(manifest)
    assert main(["verify", str(path), "--manifest", str(fetched), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["c2pa"]["state"] == "Valid" and out["c2pa"]["manifest_source"] == "fetched.c2pa"
    assert out["verdict"]["label"] == "signed-capture"
    copy = workdir / "linked.png"  # with its sidecar beside it, the manifest is found
    copy.write_bytes(path.read_bytes())
    (workdir / "linked.c2pa").write_bytes(manifest)
    ev = read_manifest(copy)
    assert ev.state == "Valid" and ev.manifest_source == "linked.c2pa" and ev.remote_url == URL


def test_a_manifest_that_is_not_the_files_reads_as_not_matching(remote, jpeg: Path,
                                                                workdir: Path) -> None:
    _, manifest = remote
    report = verify(jpeg, manifest=manifest)
    assert report.c2pa.state == "Invalid" and report.verdict.label == "tampered"
    assert report.c2pa.manifest_source == "given"


def test_bad_manifest_arguments(remote, workdir: Path, png: Path, capsys) -> None:
    path, _ = remote
    (workdir / "not.c2pa").write_bytes(png.read_bytes())
    with pytest.raises(InputError, match="not a C2PA manifest store"):
        read_manifest(path, manifest=workdir / "not.c2pa")
    with pytest.raises(InputError, match="does not exist"):
        read_manifest(path, manifest=workdir / "missing.c2pa")
    _, manifest = remote
    damaged = bytearray(manifest)
    damaged[200:260] = bytes(60)
    (workdir / "Fetched.C2PA").write_bytes(bytes(damaged))
    ev = read_manifest(path, manifest=workdir / "Fetched.C2PA")
    assert ev.state == "Invalid" and ev.failures[0].code == "manifest.unreadable"
    assert ev.failures[0].explanation.startswith("The manifest Fetched.C2PA cannot be read")
    assert main(["verify", str(path), str(png), "--manifest", str(workdir / "not.c2pa")]) == 2
    assert "belongs to one file" in capsys.readouterr().err
