from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import c2pa
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provenant.boxes import flip_media_byte
from provenant.credentials import (
    callback_credentials,
    ec_p256_callback,
    ensure_dev_credentials,
    load_credentials,
)
from provenant.errors import CredentialError, InputError, MediaError, UnsupportedMediaError
from provenant.manifest import SignOptions, read_manifest, sign_file
from provenant.media import read_image


def _anchor(creds) -> bytes:
    return x509.load_pem_x509_certificates(creds.cert_chain_pem)[-1].public_bytes(
        serialization.Encoding.PEM)


def test_signed_mp4_is_valid_and_declares_ai(signed: Path) -> None:
    ev = read_manifest(signed)
    assert ev.present and ev.state == "Valid" and ev.ai_generated is True
    assert ev.development_credentials and "Development" in ev.signer
    assert ev.actions[0]["action"] == "c2pa.created"
    assert ev.actions[0]["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert ev.manifest_id.startswith("urn:c2pa:")
    assert [f.code for f in ev.failures] == ["signingCredential.untrusted"]


def test_an_independent_reader_agrees(signed: Path) -> None:
    with open(signed, "rb") as fh:
        reader = c2pa.Reader("video/mp4", fh)
        store = json.loads(reader.json())
        assert reader.get_validation_state() == "Valid"
    manifest = store["manifests"][store["active_manifest"]]
    assert manifest["claim_generator_info"][0]["name"] == "Provenant"
    assert manifest["thumbnail"]["format"] == "image/jpeg"  # the poster
    assert read_manifest(signed).manifest_id == store["active_manifest"]


def test_trusted_only_with_the_anchor_configured(signed: Path, creds, workdir: Path) -> None:
    assert read_manifest(signed, trust_anchors=_anchor(creds)).state == "Trusted"
    pem = workdir / "anchors.pem"
    pem.write_bytes(_anchor(creds))
    assert read_manifest(signed, trust_anchors=pem).state == "Trusted"
    other = ensure_dev_credentials(workdir / "other")  # a different CA trusts nothing of ours
    assert read_manifest(signed, trust_anchors=_anchor(other)).state == "Valid"


def test_flipping_one_media_byte_makes_it_invalid(signed: Path, workdir: Path) -> None:
    tampered = workdir / "t.mp4"
    flip_media_byte(signed, tampered)
    ev = read_manifest(tampered)
    assert ev.state == "Invalid"
    codes = {f.code for f in ev.failures}
    assert "assertion.bmffHash.mismatch" in codes
    assert all(f.explanation and f.explanation != f.code for f in ev.failures)


def test_unsigned_media_has_no_manifest(clip: Path, png: Path) -> None:
    assert read_manifest(clip).present is False
    assert read_manifest(png).present is False


@pytest.mark.parametrize("fixture", ["png", "jpeg", "webp"])
def test_images_sign_and_validate(fixture: str, request, creds, workdir: Path) -> None:
    src: Path = request.getfixturevalue(fixture)
    out = workdir / f"signed{src.suffix}"
    sign_file(src, out, creds, SignOptions(source_type="digitalCapture"))
    ev = read_manifest(out)
    assert ev.state == "Valid" and ev.ai_generated is False
    assert np.array_equal(read_image(out), read_image(src))  # the pictures are untouched
    data = bytearray(out.read_bytes())
    marker = {".png": b"IDAT", ".jpg": b"\xff\xda", ".webp": b"VP8"}[src.suffix]
    data[data.index(marker) + 40] ^= 0xFF  # one byte of the coded picture
    (workdir / f"t{src.suffix}").write_bytes(bytes(data))
    assert read_manifest(workdir / f"t{src.suffix}").state == "Invalid"


def test_parent_extra_assertions_and_soft_binding(signed: Path, clip: Path, creds, workdir: Path) -> None:
    out = workdir / "edit.mp4"
    note = {"label": "org.example.note", "data": {"text": "colour graded"}}
    opts = SignOptions(source_type="compositeWithTrainedAlgorithmicMedia", parent=signed,
                       extra_assertions=(note,), watermarked=True,
                       soft_bindings=(("io.provenant.watermark.v2", "0011223344556677"),))
    sign_file(clip, out, creds, opts)
    ev = read_manifest(out)
    assert ev.state == "Valid"
    assert [a["action"] for a in ev.actions] == ["c2pa.opened", "c2pa.edited", "c2pa.watermarked"]
    assert ev.ingredients[0]["relationship"] == "parentOf"
    assert ev.ingredients[0]["active_manifest"] == read_manifest(signed).manifest_id
    assert ev.soft_bindings == [{"alg": "io.provenant.watermark.v2", "value": "0011223344556677"}]
    with open(out, "rb") as fh:
        store = json.loads(c2pa.Reader("video/mp4", fh).json())
    labels = [a["label"] for a in store["manifests"][store["active_manifest"]]["assertions"]]
    assert "org.example.note" in labels


def test_an_edit_of_ai_generated_media_is_ai_derived(png: Path, creds, workdir: Path) -> None:
    """An AI-generated picture, edited twice by people: each edit declares humanEdits, and
    only the first manifest declares AI. The chain of parents shows it."""
    generated = workdir / "gen.png"
    sign_file(png, generated, creds, SignOptions(source_type="trainedAlgorithmicMedia"))
    first = workdir / "edit1.png"
    sign_file(png, first, creds, SignOptions(source_type="humanEdits", parent=generated))
    ev = read_manifest(first)
    assert ev.ai_generated is True and ev.ai_ingredients == ["gen.png"]
    second = workdir / "edit2.png"
    sign_file(png, second, creds, SignOptions(source_type="minorHumanEdits", parent=first))
    assert read_manifest(second).ai_ingredients == ["gen.png"]  # two parents up
    capture = workdir / "capture.png"
    sign_file(png, capture, creds)
    edit = workdir / "edit3.png"
    sign_file(png, edit, creds, SignOptions(source_type="humanEdits", parent=capture))
    ev = read_manifest(edit)
    assert ev.ai_generated is False and ev.ai_ingredients == []
    assert ev.ingredient_sources == {}  # the edit declares its own source


def test_an_edit_declares_no_source_unless_told_and_defers_to_its_parents(
        png: Path, creds, workdir: Path) -> None:
    capture = workdir / "capture.png"
    sign_file(png, capture, creds)
    first = workdir / "edit1.png"
    result = sign_file(png, first, creds, SignOptions(parent=capture))
    assert result.source_type is None
    ev = read_manifest(first)
    assert ev.state == "Valid"
    assert [a.get("digitalSourceType") for a in ev.actions] == [None, None]
    assert ev.ingredient_sources == {"capture.png": ["digitalCapture"]}
    assert ev.ai_generated is False
    second = workdir / "edit2.png"  # an edit of the edit: two parents up
    sign_file(png, second, creds, SignOptions(parent=first))
    assert read_manifest(second).ingredient_sources == {"capture.png": ["digitalCapture"]}
    generated = workdir / "gen.png"
    sign_file(png, generated, creds, SignOptions(source_type="trainedAlgorithmicMedia"))
    third = workdir / "edit3.png"
    sign_file(png, third, creds, SignOptions(parent=generated))
    ev = read_manifest(third)
    assert ev.ai_generated is True and ev.ai_ingredients == ["gen.png"]
    unknown = workdir / "edit4.png"  # its parent carries no manifest: nothing is declared
    sign_file(png, unknown, creds, SignOptions(parent=png))
    ev = read_manifest(unknown)
    assert ev.ai_generated is None and ev.ingredient_sources == {}
    assert sign_file(png, workdir / "new.png", creds).source_type == "digitalCapture"


def test_a_parent_changed_after_signing_is_not_relied_on(clip: Path, creds,
                                                         workdir: Path) -> None:
    """An edit of a capture whose pictures were changed after it was signed still validates
    (the edit's own manifest is intact), but the parent's digitalCapture is no evidence."""
    capture = sign_file(clip, workdir / "capture.mp4", creds).path
    changed = workdir / "changed.mp4"
    flip_media_byte(capture, changed)
    assert read_manifest(changed).state == "Invalid"
    edit = workdir / "edit.mp4"
    sign_file(clip, edit, creds, SignOptions(parent=changed))
    ev = read_manifest(edit)
    assert ev.state == "Valid"
    assert ev.ingredient_sources == {}
    assert ev.altered_ingredients == {"changed.mp4": ["assertion.bmffHash.mismatch"]}
    assert ev.ai_generated is None
    intact = workdir / "edit2.mp4"
    sign_file(clip, intact, creds, SignOptions(parent=capture))
    ev = read_manifest(intact)
    assert ev.altered_ingredients == {} and ev.ingredient_sources == {
        "capture.mp4": ["digitalCapture"]}


def test_callback_signer(clip: Path, creds, workdir: Path) -> None:
    cb = callback_credentials(creds.cert_chain_pem, ec_p256_callback(creds.private_key_pem))
    out = workdir / "cb.mp4"
    sign_file(clip, out, cb)
    assert read_manifest(out).state == "Valid"


def _cert_pair(workdir: Path, *, org: bool, self_signed: bool) -> tuple[Path, Path]:
    now = dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, "bad")]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org"))
    name = x509.Name(attrs)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cp, kp = workdir / "c.pem", workdir / "k.pem"
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    return cp, kp


def test_bad_certificates_give_clear_errors(workdir: Path, creds) -> None:
    cp, kp = _cert_pair(workdir, org=False, self_signed=True)
    with pytest.raises(CredentialError) as err:
        load_credentials(cp, kp)
    msg = str(err.value)
    assert "O=" in msg and "self-signed" in msg and "digitalSignature" in msg and "AuthorityKey" in msg
    with pytest.raises(CredentialError, match="does not exist"):
        load_credentials(workdir / "nope.pem", kp)
    chain = workdir / "chain.pem"
    chain.write_bytes(creds.cert_chain_pem)
    with pytest.raises(CredentialError, match="matches none of the 2 certificates"):
        load_credentials(chain, kp)
    good_key = workdir / "good.key"
    good_key.write_bytes(creds.private_key_pem)
    assert load_credentials(chain, good_key).signer_name == creds.signer_name


def test_dev_credentials_are_labelled_and_private(tmp_path: Path) -> None:
    creds = ensure_dev_credentials(tmp_path / "dev")
    assert creds.development and "Development" in creds.signer_name
    for key in ("signer.key", "ca.key"):
        assert (tmp_path / "dev" / key).stat().st_mode & 0o777 == 0o600
    again = ensure_dev_credentials(tmp_path / "dev")
    assert again.cert_chain_pem == creds.cert_chain_pem  # created once, then reused


def _credentials_after(barrier, folder: str, out) -> None:  # in a child process
    barrier.wait()
    creds = ensure_dev_credentials(Path(folder))
    out.put((creds.cert_chain_pem, creds.private_key_pem))


def test_processes_starting_together_share_one_whole_set_of_dev_credentials(
        tmp_path: Path) -> None:
    """Eight processes creating the credentials at once (a batch of stamps on a new machine)
    all get the set left on disk, whose CA is the one their chains end in; no staging folder
    is left. Written in place, 19 of 39 stamps started together were signed under a CA that
    was not the one kept, and one failed on a half-written key."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=_credentials_after, args=(barrier, str(tmp_path / "dev"), out))
             for _ in range(8)]
    for p in procs:
        p.start()
    got = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    folder = tmp_path / "dev"
    kept = ((folder / "signer.pem").read_bytes(), (folder / "signer.key").read_bytes())
    assert all(g == kept for g in got)
    assert kept[0].endswith((folder / "ca.pem").read_bytes())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev"]


def test_bad_inputs_to_sign(creds, workdir: Path, clip: Path) -> None:
    junk = workdir / "junk.mp4"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(UnsupportedMediaError):
        sign_file(junk, workdir / "o.mp4", creds)
    trunc = workdir / "trunc.mp4"
    trunc.write_bytes(clip.read_bytes()[:200])
    with pytest.raises(MediaError):
        sign_file(trunc, workdir / "o.mp4", creds)
    with pytest.raises(InputError, match="source_type"):
        SignOptions(source_type="madeUp")
    with pytest.raises(InputError, match="label"):
        SignOptions(extra_assertions=({"data": 1},))
    assert not (workdir / "o.mp4").exists()


def test_an_oversized_manifest_is_bad_input_not_a_signing_failure(creds, workdir: Path,
                                                                 clip: Path) -> None:
    huge = SignOptions(extra_assertions=({"label": "org.example.notes",
                                          "data": {"text": "x" * (1 << 20)}},))
    with pytest.raises(InputError, match="over the C2PA SDK's limit"):
        sign_file(clip, workdir / "o.mp4", creds, huge)
    assert list(workdir.iterdir()) == []  # the temporary copy is gone too


def test_a_signed_copy_keeps_its_format_and_its_name_must_say_so(
    creds, workdir: Path, png: Path, clip: Path
) -> None:
    with pytest.raises(InputError, match="suffix '.mp4'.*PNG"):
        sign_file(png, workdir / "o.mp4", creds)
    with pytest.raises(InputError, match="suffix '.png'"):
        sign_file(clip, workdir / "o.png", creds)
    with pytest.raises(InputError, match="no suffix"):
        sign_file(clip, workdir / "o", creds)
    assert list(workdir.iterdir()) == []  # refused before anything was written


def test_a_corrupt_manifest_reads_as_invalid(signed: Path, workdir: Path) -> None:
    data = bytearray(signed.read_bytes())
    pos = data.find(b"c2pa.signature")
    assert pos > 0
    data[pos + 40: pos + 60] = b"\x00" * 20
    bad = workdir / "badsig.mp4"
    bad.write_bytes(bytes(data))
    ev = read_manifest(bad)
    assert ev.present and ev.state == "Invalid" and ev.failures


def test_a_truncated_video_is_a_media_error_not_a_signing_failure(clip: Path, creds,
                                                                   workdir: Path) -> None:
    """Cut after its index (which comes first), the clip still probes and plays in part, and
    the SDK signed it as Valid: a damaged copy vouched for. It is refused as bad input
    (exit 2), naming the box that runs past the end."""
    data = clip.read_bytes()
    cut = workdir / "cut.mp4"
    cut.write_bytes(data[: len(data) * 95 // 100])
    with pytest.raises(MediaError, match="truncated") as info:
        sign_file(cut, workdir / "signed.mp4", creds)
    assert info.value.exit_code == 2
    assert not (workdir / "signed.mp4").exists()
