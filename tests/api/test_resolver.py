"""``verify --resolver``: another installation's resolution service, asked over HTTP for a
stripped copy whose watermark cannot be read here (see provenant/resolver.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import provenant.provenance as prov
from provenant.cli import main
from provenant.errors import ProvenanceWarning
from provenant.media import iter_frames, write_video
from provenant.store import ManifestStore


def test_a_stripped_copy_is_resolved_by_the_platform_that_marked_it(
        live_server: str, clip2s: Path, workdir: Path, capsys,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform (the live server, whose store is the data dir's) stamped the clip; the
    newsroom has neither its key nor its store: its verify asks the platform's service and
    checks the manifest it sends."""
    from watermark.evidence import stamper

    monkeypatch.setattr(prov, "stampers", lambda: {"watermark": stamper})
    stamped = prov.stamp(clip2s, workdir / "stamped.mp4")
    stripped = write_video(iter_frames(stamped.path), workdir / "stripped.mp4", fps=24, crf=23)
    monkeypatch.setattr(prov, "evidence_providers", lambda: ())  # no watermark reading here
    newsroom = ManifestStore(workdir / "newsroom.db")
    alone = prov.verify(stripped, store=newsroom)
    assert alone.recovered is None and alone.verdict.label == "no-evidence"

    report = prov.verify(stripped, store=newsroom, resolver=live_server + "/")
    rec = report.recovered
    assert rec["manifest_id"] == stamped.manifest_id and live_server in rec["via"]
    assert rec["signed_manifest"]["state"] == "Valid"  # checked here, not taken on its word
    assert report.verdict.label == "verified-ai-generated"
    assert any("rests on its word" in r for r in report.verdict.reasons)

    # several services, asked in turn: one that is down costs its part alone
    down = "http://127.0.0.1:9"  # the discard port: nothing listens there
    with pytest.warns(ProvenanceWarning, match="127.0.0.1:9 could not be asked"):
        both = prov.verify(stripped, store=newsroom, resolver=[down, live_server])
    assert both.recovered["manifest_id"] == stamped.manifest_id
    assert both.verdict.label == "verified-ai-generated"
    assert any("127.0.0.1:9 could not be asked" in r for r in both.verdict.reasons)

    nothing = prov.verify(clip2s, store=newsroom, resolver=live_server)  # no mark: no match
    assert nothing.recovered is None and nothing.verdict.label == "no-evidence"
    assert main(["verify", str(stripped), "--resolver", down, "--resolver", live_server,
                 "--json"]) == 0
    assert stamped.manifest_id in capsys.readouterr().out
