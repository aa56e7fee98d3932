"""The CLI, called in-process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from provenant.boxes import flip_media_byte
from provenant.cli import main
from provenant.config import get_settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sign_then_verify_json(capsys, clip: Path, workdir: Path) -> None:
    s = workdir / "s.mp4"
    code, out, _ = run(capsys, "sign", str(clip), "-o", str(s), "--json")
    assert code == 0
    signed = json.loads(out)
    assert signed["development_credentials"] is True
    code, out, _ = run(capsys, "verify", str(s), "--json")
    report = json.loads(out)
    assert code == 0
    assert report["c2pa"]["present"] is True and report["c2pa"]["state"] == "Valid"
    assert report["c2pa"]["manifest_id"] == signed["manifest_id"]
    ca = get_settings().credentials_dir / "ca.pem"
    code, out, _ = run(capsys, "verify", str(s), "--json", "--trust-anchors", str(ca))
    assert json.loads(out)["c2pa"]["state"] == "Trusted"


def test_tampered_file_is_reported_with_exit_0(capsys, clip: Path, workdir: Path) -> None:
    s, t = workdir / "s.mp4", workdir / "t.mp4"
    assert run(capsys, "sign", str(clip), "-o", str(s))[0] == 0
    flip_media_byte(s, t)
    code, out, _ = run(capsys, "verify", str(t), "--json")
    report = json.loads(out)
    assert code == 0 and report["c2pa"]["state"] == "Invalid"
    assert "assertion.bmffHash.mismatch" in [f["code"] for f in report["c2pa"]["failures"]]
    assert report["verdict"]["label"] == "tampered"
    code, out, _ = run(capsys, "verify", str(t))
    assert "TAMPERED" in out


def test_sign_with_parent_and_assertions(capsys, clip: Path, workdir: Path) -> None:
    parent = workdir / "p.mp4"
    run(capsys, "sign", str(clip), "-o", str(parent))
    notes = workdir / "a.json"
    notes.write_text(json.dumps([{"label": "org.example.note", "data": {"t": 1}}]))
    code, out, err = run(capsys, "sign", str(clip), "-o", str(workdir / "e.mp4"), "--parent",
                         str(parent), "--assertions", f"@{notes}", "--source-type", "minorHumanEdits")
    assert code == 0, err
    code, out, _ = run(capsys, "verify", str(workdir / "e.mp4"), "--json")
    c2pa = json.loads(out)["c2pa"]
    assert [a["action"] for a in c2pa["actions"]] == ["c2pa.opened", "c2pa.edited"]
    assert c2pa["ingredients"][0]["title"] == "p.mp4"


def test_an_edit_signed_without_a_source_type_declares_none(capsys, clip: Path,
                                                             workdir: Path) -> None:
    """It used to declare digitalCapture: an edited clip called a camera's capture."""
    parent = workdir / "p.mp4"
    run(capsys, "sign", str(clip), "-o", str(parent))
    code, out, err = run(capsys, "sign", str(clip), "-o", str(workdir / "e.mp4"), "--parent",
                         str(parent), "--json")
    assert code == 0, err
    assert json.loads(out)["source_type"] is None
    code, out, _ = run(capsys, "verify", str(workdir / "e.mp4"), "--json")
    report = json.loads(out)
    edited = [a for a in report["c2pa"]["actions"] if a["action"] == "c2pa.edited"]
    assert edited and "digitalSourceType" not in edited[0]
    assert report["c2pa"]["ingredient_sources"] == {"p.mp4": ["digitalCapture"]}
    assert report["c2pa"]["ai_generated"] is False
    assert report["verdict"]["label"] == "signed-capture"
    assert "it was made from 'p.mp4', whose own manifest declares a non-AI source " \
        "(digitalCapture)" in report["verdict"]["reasons"][0]


def test_store_lookup(capsys, clip: Path, workdir: Path) -> None:
    code, out, _ = run(capsys, "sign", str(clip), "-o", str(workdir / "s.mp4"), "--json")
    mid = json.loads(out)["manifest_id"]
    code, out, _ = run(capsys, "store", "get", mid)
    assert code == 0 and json.loads(out)["manifest_id"] == mid
    assert json.loads(out)["signed_copy_bytes"] > 1000  # the manifest as signed is kept
    code, _, err = run(capsys, "store", "get", "urn:c2pa:nope")
    assert code == 2 and "no manifest" in err


def test_store_find_by_binding_or_by_watermark_key(capsys, workdir: Path) -> None:
    from provenant.store import ManifestRecord, open_store

    store = open_store()
    for i, key in enumerate(["aaaa1111", "aaaa1111", "bbbb2222"]):
        store.register(ManifestRecord(f"urn:c2pa:k{i}", created_at=10.0 + i,
                                      soft_bindings=(("alg.x", "00ff"),),
                                      details={"watermark_key_id": key}))
    code, out, _ = run(capsys, "store", "find", "--key-id", "aaaa1111", "--limit", "1")
    found = json.loads(out)
    assert code == 0 and found["total"] == 2 and found["key_id"] == "aaaa1111"
    assert [m["manifest_id"] for m in found["matches"]] == ["urn:c2pa:k1"]  # newest first
    code, out, _ = run(capsys, "store", "find", "--alg", "alg.x", "--value", "00ff")
    assert code == 0 and len(json.loads(out)["matches"]) == 3
    for argv, words in ((("--alg", "alg.x"), "needs --alg and --value, or --key-id"),
                        ((), "needs --alg and --value, or --key-id"),
                        (("--key-id", "aaaa1111", "--alg", "alg.x"), "cannot be combined"),
                        (("--key-id", "aaaa1111", "--limit", "0"), "--limit=0 is invalid"),
                        (("--key-id", "aaaa1111", "--limit", str(2**70)), "from 1 to 1,000,000"),
                        (("--key-id", "a" * 129), "--key-id is invalid"),
                        (("--key-id", ""), "--key-id is invalid")):
        code, _, err = run(capsys, "store", "find", *argv)
        assert code == 2 and words in err and "Traceback" not in err


def test_store_export_writes_the_signed_manifest(capsys, clip: Path, workdir: Path) -> None:
    """The manifest as signed, as a .c2pa file that `verify --manifest` checks."""
    code, out, _ = run(capsys, "sign", str(clip), "-o", str(workdir / "s.mp4"), "--json")
    mid = json.loads(out)["manifest_id"]
    code, out, _ = run(capsys, "store", "export", mid, "-o", str(workdir / "m.c2pa"))
    assert code == 0 and "--manifest" in out
    assert (workdir / "m.c2pa").read_bytes()[4:8] == b"jumb"
    stripped = workdir / "bare.mp4"  # the signed bytes, with no manifest of its own
    stripped.write_bytes(clip.read_bytes())
    code, out, _ = run(capsys, "verify", str(stripped), "--manifest", str(workdir / "m.c2pa"),
                       "--json")
    report = json.loads(out)
    assert code == 0 and report["c2pa"]["manifest_id"] == mid
    assert report["c2pa"]["manifest_source"] == "m.c2pa"
    assert report["c2pa"]["state"] == "Valid"  # the bytes it was signed over
    for argv, words in ((("urn:c2pa:nope", "-o", str(workdir / "x.c2pa")), "no manifest"),
                        ((mid, "-o", str(workdir / "x.json")), ".c2pa"),
                        ((mid, "-o", str(workdir / "nowhere" / "x.c2pa")), "does not exist")):
        code, _, err = run(capsys, "store", "export", *argv)
        assert code == 2 and words in err


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 50, None, "truncated", "dir"])
def test_bad_input_exits_2_with_one_line(capsys, workdir: Path, clip: Path, content) -> None:
    path = workdir / "bad.mp4"
    if content == "truncated":
        path.write_bytes(clip.read_bytes()[:300])
    elif content == "dir":
        path = workdir
    elif content is not None:
        path.write_bytes(content)
    for argv in (["verify", str(path)], ["sign", str(path), "-o", str(workdir / "o.mp4")]):
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert err.startswith("provenant: error:")


def test_one_unreadable_file_with_json_gets_its_error_object_on_stdout(capsys,
                                                                       workdir: Path) -> None:
    """As with several files: a script reading ``--json`` gets ``{file, error}`` (once), and
    the exit status and the stderr line are as without ``--json``."""
    bad = workdir / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 50)
    for argv in (["verify", str(bad), "--json"], ["watermark", "detect", str(bad), "--json"],
                 ["verify", str(workdir / "missing.mp4"), "--json"]):
        code, out, err = run(capsys, *argv)
        answer = json.loads(out)
        assert code == 2 and answer["file"] == argv[-2]
        assert answer["error"]["code"] in ("unsupported_media", "media")
        assert len(err.strip().splitlines()) == 1 and err.startswith("provenant: error:")
    # the commands that write a file answer a failure with --json as the HTTP API does
    for argv in (["stamp", str(bad), "-o", str(workdir / "o.mp4"), "--json"],
                 ["sign", str(bad), "-o", str(workdir / "o.mp4"), "--json"],
                 ["watermark", "embed", str(bad), "-o", str(workdir / "o.mp4"), "--payload",
                  "0123456789abcdef", "--json"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and json.loads(out)["error"]["code"] == "unsupported_media"


def test_a_damaged_png_gets_our_line_alone_not_opencvs(capfd, workdir: Path) -> None:
    """OpenCV wrote its own line to the process's stderr ("[ WARN:0@5.2] global
    grfmt_png.cpp:792 readFromStreamOrBuffer PNG input buffer is incomplete") ahead of the
    plain-words error; ``--verbose`` keeps it for whoever debugs."""
    import cv2
    import numpy as np

    from provenant.media import write_image

    log = cv2.utils.logging
    before = log.getLogLevel()
    data = write_image(np.full((64, 64, 3), 90, np.uint8), workdir / "p.png").read_bytes()
    (workdir / "bad.png").write_bytes(data[:40] + b"x" * 100)
    try:
        log.setLogLevel(log.LOG_LEVEL_WARNING)  # as a fresh process starts
        assert main(["detect", str(workdir / "bad.png")]) == 2
        err = capfd.readouterr().err
        assert err.startswith("provenant: error:") and len(err.strip().splitlines()) == 1
    finally:
        log.setLogLevel(before)


def test_bad_usage_exits_2(capsys, clip: Path, workdir: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sign", str(clip)])  # no -o
    assert exc.value.code == 2
    code, _, err = run(capsys, "sign", str(clip), "-o", str(workdir / "x.mp4"), "--assertions", "{bad")
    assert code == 2 and "not valid JSON" in err
    code, _, err = run(capsys, "verify", str(clip), "--trust-anchors", str(workdir / "none.pem"))
    assert code == 2 and "trust anchors" in err
    code, _, err = run(capsys, "sign", str(clip), "-o", str(workdir / "no" / "x.mp4"))
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "sign", str(clip), "-o", str(workdir / "x.mp4"), "--cert", str(clip))
    assert code == 2 and "--key" in err


def test_credentials_command_points_at_the_dev_anchor(capsys) -> None:
    code, out, _ = run(capsys, "credentials", "--json")
    info = json.loads(out)
    assert code == 0 and info["development"] and Path(info["dev_trust_anchor"]).is_file()


def test_internal_failure_exits_1(capsys, clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import provenant.provenance as prov

    def boom(*a, **k):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(prov, "verify", boom)
    code, _, err = run(capsys, "verify", str(clip))
    assert code == 1 and "internal error" in err and "Traceback" not in err


def test_components_share_command_groups() -> None:
    import argparse

    from provenant.cli import command_group

    root = argparse.ArgumentParser().add_subparsers(dest="command")
    a = command_group(root, "train", "train models")
    a.add_parser("generator").set_defaults(which="g")
    b = command_group(root, "train", "train models")
    b.add_parser("detector").set_defaults(which="d")
    assert a is b and set(a.choices) == {"generator", "detector"}


def test_verify_of_several_files_and_a_folder_gives_one_report_each(
    capsys, clip: Path, png: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import provenant.provenance

    monkeypatch.setattr(provenant.provenance, "evidence_providers", lambda: ())
    inbox = workdir / "inbox"
    inbox.mkdir()
    assert run(capsys, "sign", str(clip), "-o", str(inbox / "a-signed.mp4"))[0] == 0
    (inbox / "b-still.png").write_bytes(png.read_bytes())
    (inbox / "c-broken.mp4").write_bytes(clip.read_bytes()[:300])
    (inbox / "notes.txt").write_text("not media, and not named as media: skipped")
    code, out, err = run(capsys, "verify", str(inbox), "--json")
    lines = [json.loads(line) for line in out.splitlines()]  # JSON Lines, in name order
    assert [Path(r["file"]).name for r in lines] == ["a-signed.mp4", "b-still.png", "c-broken.mp4"]
    assert lines[0]["verdict"]["label"] == "signed-capture"  # sign declares a capture by default
    assert lines[1]["c2pa"]["present"] is False
    assert lines[2]["error"]["code"] == "media" and "c-broken.mp4" in lines[2]["error"]["message"]
    assert code == 2 and "1 of 3 files could not be read" in err
    code, out, _ = run(capsys, "verify", str(inbox / "a-signed.mp4"), str(png))
    assert code == 0 and out.count("Verdict:") == 2
    assert out.rstrip().endswith("2 files: 1 signed-capture, 1 no-evidence")  # a desk's tally
    code, out, _ = run(capsys, "verify", str(inbox))
    assert out.rstrip().endswith("3 files: 1 signed-capture, 1 no-evidence, "
                                 "1 could not be read")
    assert run(capsys, "verify", str(workdir / "inbox" / "missing"), str(png))[0] == 2


def test_verify_of_a_folder_reads_the_credentials_of_formats_it_does_not_examine(
    capsys, png: Path, workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A camera's folder: a signed WAV and an unsigned DNG beside a photo and a TIFF.
    ``verify`` reports the WAV's credentials and says the DNG carries none, and examines the
    TIFF like the photo; ``detect``-style commands skip the WAV and the DNG."""
    import wave

    from PIL import Image

    from provenant.credentials import ensure_dev_credentials
    from provenant.filelist import expand_files
    from tests.provenant.test_credential_only import _sdk_sign, save_dng

    inbox = workdir / "inbox"
    inbox.mkdir()
    (inbox / "a.png").write_bytes(png.read_bytes())
    Image.new("RGB", (64, 64), (10, 200, 10)).save(inbox / "b.tiff")
    save_dng(inbox / "d.dng", np.full((16, 16, 3), 90, np.uint8))
    with wave.open(str(inbox / "raw.wav"), "wb") as w:  # a short silence
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(bytes(1600))
    creds = ensure_dev_credentials(tmp_path_factory.mktemp("creds"))
    _sdk_sign(inbox / "raw.wav", inbox / "c.wav", "audio/wav", creds)
    (inbox / "raw.wav").unlink()
    code, out, err = run(capsys, "verify", str(inbox), "--json")
    lines = {Path(r["file"]).name: r for r in map(json.loads, out.splitlines())}
    assert sorted(lines) == ["a.png", "b.tiff", "c.wav", "d.dng"]
    assert lines["c.wav"]["c2pa"]["state"] == "Valid"
    assert lines["b.tiff"]["watermark"] is not None  # examined, as the photo is
    assert "carries no C2PA manifest" in lines["d.dng"]["error"]["message"]
    assert code == 2 and "1 of 4 files" in err
    assert [p.name for p in expand_files([str(inbox)])] == ["a.png", "b.tiff"]  # detect's


def test_verify_of_a_folder_without_media_is_bad_input(capsys, workdir: Path) -> None:
    (workdir / "notes.txt").write_text("x")
    code, _, err = run(capsys, "verify", str(workdir))
    assert code == 2 and "no media files" in err


def test_a_bad_setting_is_bad_input_naming_the_variable(capsys, clip: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVENANT_MAX_PIXELS", "lots")
    get_settings.cache_clear()
    try:
        code, _, err = run(capsys, "verify", str(clip))
    finally:
        monkeypatch.delenv("PROVENANT_MAX_PIXELS")
        get_settings.cache_clear()
    assert code == 2 and "PROVENANT_MAX_PIXELS='lots'" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_terminal_that_cannot_show_a_character_gets_a_question_mark(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A legacy console or PYTHONIOENCODING=ascii: a report's em dash turned the whole
    report into an internal error."""
    import io

    from provenant.cli import _tolerant_output

    raw = io.BytesIO()
    ascii_out = io.TextIOWrapper(raw, encoding="ascii", write_through=True)
    monkeypatch.setattr("sys.stdout", ascii_out)
    _tolerant_output()
    print("before \u2014 after")
    assert raw.getvalue() == b"before ? after\n"



_SIGTERM_MIDWAY = """
import os, signal, sys
import provenant.manifest as manifest
from provenant.cli import main
real = manifest.copy_and_hash
def killed_midway(src, tmp, boxes):
    real(src, tmp, boxes)  # the temporary copy is written, then the process is told to stop
    os.kill(os.getpid(), signal.SIGTERM)
manifest.copy_and_hash = killed_midway
code = main(["sign", sys.argv[1], "-o", sys.argv[2]])
assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored after the command
sys.exit(code)
"""


def test_sigterm_unwinds_a_command_like_ctrl_c(clip: Path, workdir: Path) -> None:
    import subprocess
    import sys

    out = workdir / "out" / "signed.mp4"
    out.parent.mkdir()
    run = subprocess.run([sys.executable, "-c", _SIGTERM_MIDWAY, str(clip), str(out)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 143, run.stderr  # before: killed (-15), the temporary copy left
    assert "provenant: terminated" in run.stderr
    assert list(out.parent.iterdir()) == []  # neither the output nor its temporary copy
