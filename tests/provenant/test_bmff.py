from __future__ import annotations

import base64
import json
import shutil
import struct
from pathlib import Path

import av
import c2pa
import pytest

from provenant.bmff import C2PA_UUID, appendable_boxes, copy_and_hash
from provenant.boxes import top_level_boxes
from provenant.boxes import flip_media_byte
from provenant.manifest import SignOptions, _definition, _sign_rewriting, read_manifest, sign_file
from provenant.media import probe
from tests.conftest import make_clip_with_audio


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _sdk_hash(path: Path) -> tuple[bytes, dict]:
    with open(path, "rb") as fh:
        store = json.loads(c2pa.Reader("video/mp4", fh).detailed_json())
    manifest = store["manifests"][store["active_manifest"]]
    data = manifest["assertion_store"]["c2pa.hash.bmff.v3"]
    return base64.b64decode(data["hash"]), data


def test_our_v3_hash_equals_the_sdks(clip: Path, creds, tmp_path: Path) -> None:
    """The SDK's own rewriting path hashes its output; our digest of that output must match."""
    out = tmp_path / "sdk.mp4"
    _sign_rewriting(probe(clip), out, _definition(probe(clip), SignOptions()), SignOptions(),
                    creds, None)
    boxes, exact = top_level_boxes(out)
    assert exact and any(b.kind == b"uuid" and b.tag == C2PA_UUID for b in boxes)
    sdk_digest, data = _sdk_hash(out)
    ours = copy_and_hash(out, tmp_path / "copy.mp4", boxes)
    assert ours == sdk_digest
    assert (tmp_path / "copy.mp4").read_bytes() == out.read_bytes()
    assert {e["xpath"] for e in data["exclusions"]} >= {"/uuid", "/ftyp"}
    # the SDK puts its store before the media (after ftyp): re-signing it is the SDK's job
    assert [b.kind for b in boxes][:2] == [b"ftyp", b"uuid"] and appendable_boxes(out) is None


def test_sign_appends_the_manifest_and_leaves_every_other_byte(clip: Path, creds,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "s.mp4"
    sign_file(clip, out, creds)
    original = clip.read_bytes()
    signed = out.read_bytes()
    assert signed[:len(original)] == original
    boxes, exact = top_level_boxes(out)
    assert exact and boxes[-1].kind == b"uuid" and boxes[-1].tag == C2PA_UUID
    ev = read_manifest(out)
    assert ev.present and ev.state == "Valid", ev.failures
    with open(out, "rb") as fh:  # the SDK's reader, on its own, agrees
        assert c2pa.Reader("video/mp4", fh).get_validation_state() == "Valid"


@pytest.mark.parametrize("where", ["mdat", "moov"])
def test_appended_manifest_still_catches_tampering(clip: Path, creds, tmp_path: Path,
                                                   where: str) -> None:
    out = tmp_path / "s.mp4"
    sign_file(clip, out, creds)
    bad = tmp_path / "bad.mp4"
    if where == "mdat":
        flip_media_byte(out, bad)
    else:
        data = bytearray(out.read_bytes())
        moov = next(b for b in top_level_boxes(out)[0] if b.kind == b"moov")
        data[moov.start + moov.size - 1] ^= 0x01
        bad.write_bytes(bytes(data))
    ev = read_manifest(bad)
    assert ev.state == "Invalid"
    assert "assertion.bmffHash.mismatch" in [f.code for f in ev.failures]


def test_resigning_and_audio_and_mov(clip: Path, creds, tmp_path: Path) -> None:
    once = tmp_path / "once.mp4"
    sign_file(clip, once, creds)
    boxes = appendable_boxes(once)  # its store was appended: copied up to it, replaced
    assert boxes is not None and boxes[-1].start + boxes[-1].size == clip.stat().st_size
    twice = tmp_path / "twice.mp4"
    sign_file(once, twice, creds, SignOptions(parent=once))
    ev = read_manifest(twice)
    assert ev.state == "Valid" and ev.ingredients
    stores = [b for b in top_level_boxes(twice)[0] if b.kind == b"uuid" and b.tag == C2PA_UUID]
    assert len(stores) == 1 and stores[0].start == clip.stat().st_size  # one store, last
    audio = make_clip_with_audio(tmp_path / "a.mp4")
    sign_file(audio, tmp_path / "sa.mp4", creds)
    assert read_manifest(tmp_path / "sa.mp4").state == "Valid"
    with av.open(str(tmp_path / "sa.mp4")) as c:  # still plays: both tracks there
        assert len(c.streams.audio) == 1 and len(c.streams.video) == 1
    mov = tmp_path / "m.mov"
    with av.open(str(clip)) as inp, av.open(str(mov), "w", format="mov") as outp:
        vs = outp.add_stream_from_template(inp.streams.video[0])
        for pkt in inp.demux(inp.streams.video[0]):
            if pkt.dts is not None:
                pkt.stream = vs
                outp.mux(pkt)
    assert appendable_boxes(mov) is not None
    sign_file(mov, tmp_path / "sm.mov", creds)
    assert read_manifest(tmp_path / "sm.mov").state == "Valid"


def test_files_that_cannot_be_appended_to(clip: Path, tmp_path: Path) -> None:
    raw = clip.read_bytes()
    assert appendable_boxes(clip) is not None
    trailing = tmp_path / "trailing.mp4"
    trailing.write_bytes(raw + b"junk")
    assert appendable_boxes(trailing) is None
    to_end = tmp_path / "to_end.mp4"
    to_end.write_bytes(raw + struct.pack(">I4s", 0, b"free") + b"abc")
    assert appendable_boxes(to_end) is None
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(raw[:-10])
    boxes, exact = top_level_boxes(truncated)
    assert not exact and boxes[-1].start + boxes[-1].size == len(raw)  # listed, declared size
    assert appendable_boxes(truncated) is None
    fragmented = tmp_path / "frag.mp4"
    fragmented.write_bytes(raw + _box(b"moof", b"\0" * 8))
    assert appendable_boxes(fragmented) is None
    big_uuid = tmp_path / "big_uuid.mp4"
    payload = C2PA_UUID + b"\0" * 8
    big_uuid.write_bytes(raw + struct.pack(">I4sQ", 1, b"uuid", 16 + len(payload)) + payload)
    assert top_level_boxes(big_uuid)[1] and appendable_boxes(big_uuid) is None
    no_ftyp = tmp_path / "noftyp.mp4"
    no_ftyp.write_bytes(_box(b"free", b"") + raw)
    assert appendable_boxes(no_ftyp) is None


def test_odd_but_valid_layouts_sign(clip: Path, creds, tmp_path: Path) -> None:
    """A foreign uuid box and a trailing free box are hashed / excluded like the SDK does."""
    odd = tmp_path / "odd.mp4"
    odd.write_bytes(clip.read_bytes() + _box(b"uuid", b"\x11" * 16 + b"vendor data")
                    + _box(b"free", b"\0" * 32))
    sign_file(odd, tmp_path / "s.mp4", creds)
    assert read_manifest(tmp_path / "s.mp4").state == "Valid"
    shutil.copyfile(tmp_path / "s.mp4", tmp_path / "t.mp4")
    data = bytearray((tmp_path / "t.mp4").read_bytes())
    data[data.find(b"vendor data")] ^= 0xFF  # the foreign box is covered by the hash
    (tmp_path / "t.mp4").write_bytes(bytes(data))
    assert read_manifest(tmp_path / "t.mp4").state == "Invalid"


def test_a_failed_copy_names_the_output_and_leaves_nothing(clip: Path, creds, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys) -> None:
    import provenant.bmff as bmff
    from provenant.cli import main

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bmff.shutil, "copyfile", full_disk)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(OSError, match="No space left") as info:
        sign_file(clip, out_dir / "s.mp4", creds)
    assert info.value.filename == str(out_dir / "s.mp4")
    assert list(out_dir.iterdir()) == []
    # as every other command that fills the disk: exit 2 naming the output (sign said 1)
    assert main(["sign", str(clip), "-o", str(out_dir / "s.mp4")]) == 2
    assert f"No space left on device: {out_dir / 's.mp4'}" in capsys.readouterr().err
