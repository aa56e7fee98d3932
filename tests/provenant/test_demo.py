from __future__ import annotations

from pathlib import Path

from provenant.demo import run_demo


def test_demo_meets_every_expectation(tmp_path: Path, capsys) -> None:
    assert run_demo(tmp_path / "demo") == 0
    out = capsys.readouterr().out
    assert "UNEXPECTED" not in out
    for label in ("verified-ai-generated", "tampered", "no-evidence", "signed-capture"):
        assert label in out
    assert "Trusted" in out and "Invalid" in out
    if "== Re-encoded as a platform would" in out:  # the watermark is installed
        stripped = out.split("== Re-encoded as a platform would")[1].split("\n== ")[0]
        assert "its signed copy: Trusted" in stripped  # recovered, and its signature checked
        copied = out.split("== Real footage given that clip's watermark payload")[1]
        assert "copied the payload onto these pictures" in copied  # found, not relied on
        assert "[ok] unsigned no-evidence            Real footage given" in out
