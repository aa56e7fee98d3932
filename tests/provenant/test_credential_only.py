"""Formats whose content credentials are read though their content is not examined."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import c2pa
import numpy as np
import pytest
from PIL import Image

from provenant import provenance as prov
from provenant.credentials import ensure_dev_credentials
from provenant.errors import AudioOnlyError, UnsupportedMediaError
from provenant.manifest import read_manifest
from provenant.sniff import credential_only_mime
from provenant.store import ManifestStore


#: A little-endian TIFF header and a first directory that names a DNG version (1.4).
DNG_HEAD = (b"II*\x00\x08\x00\x00\x00" + b"\x01\x00"  # one entry:
            + bytes.fromhex("12c6") + b"\x01\x00\x04\x00\x00\x00" + bytes([1, 4, 0, 0])  # 50706
            + b"\x00\x00\x00\x00")


def save_dng(path: Path, picture: np.ndarray) -> Path:
    """``picture`` as a TIFF whose first directory names a DNG version: what a DNG is to
    the readers (a camera's raw data is beside the point here)."""
    from PIL import TiffImagePlugin

    directory = TiffImagePlugin.ImageFileDirectory_v2()
    directory.tagtype[50706] = 7  # four bytes, as Pillow takes them without a warning
    directory[50706] = bytes([1, 4, 0, 0])
    Image.fromarray(picture).save(path, format="TIFF", tiffinfo=directory)
    return path


def _write(path: Path, head: bytes) -> Path:
    path.write_bytes(head + b"\x00" * 64)
    return path


@pytest.mark.parametrize("head, mime", [
    (b"GIF89a\x01\x00\x01\x00", None),  # examined: GIFs are read (an animated one as video)
    (b"II*\x00\x08\x00\x00\x00", None),  # examined: a TIFF is read as an image
    (DNG_HEAD, "image/tiff"),  # a DNG: TIFF-structured, read for its credentials alone
    (b"\xff\x0a\xfa\x7f", "image/jxl"),
    (b"RIFF\x00\x00\x00\x00AVI LIST", None),  # examined: AVI is read as video
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
    (b"\xff\xfb\x90\x64", "audio/mpeg"),  # an MPEG-1 layer III frame header
    (b"fLaC\x00\x00\x00\x22", "audio/flac"),
    (b"%PDF-1.7\n", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", None),  # examined, not credential-only
    (b"RIFF\x00\x00\x00\x00XXXX", None),
    (b"hello world", None),
])
def test_credential_only_formats_are_recognised(workdir: Path, head: bytes, mime) -> None:
    assert credential_only_mime(_write(workdir / "x.bin", head)) == mime


def _sdk_sign(src: Path, dst: Path, mime: str, creds) -> Path:
    """Sign with the C2PA SDK directly (Provenant signs only the formats it examines)."""
    definition = {"claim_generator_info": [{"name": "test", "version": "1"}], "title": src.name,
                  "format": mime, "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                      {"action": "c2pa.created", "digitalSourceType":
                       "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}]}
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(
        creds.alg.encode(), creds.cert_chain_pem, creds.private_key_pem, creds.tsa_url))
    try:
        with open(src, "rb") as source, open(dst, "w+b") as dest:
            c2pa.Builder.from_json(json.dumps(definition)).sign(signer, mime, source, dest)
    finally:
        signer.close()
    return dst


@pytest.fixture(scope="module")
def unsigned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("credential-only")
    picture = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    save_dng(folder / "a.dng", picture)
    with wave.open(str(folder / "a.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(np.zeros(800, np.int16).tobytes())
    return {"image/tiff": folder / "a.dng", "audio/wav": folder / "a.wav",
            "audio/mp4": _write_m4a(folder / "a.m4a")}


def _write_m4a(path: Path) -> Path:
    """A voice memo: AAC sound in an MP4 (brand ``M4A``) with no video stream."""
    import av

    with av.open(str(path), "w", format="ipod") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for i in range(8):
            samples = 0.2 * np.sin(np.arange(i * 1024, (i + 1) * 1024) / 16000 * 2 * np.pi * 440)
            frame = av.AudioFrame.from_ndarray(samples.astype(np.float32)[None], format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def signed(unsigned: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    creds = ensure_dev_credentials(tmp_path_factory.mktemp("creds"))
    return {mime: _sdk_sign(path, path.with_name("signed" + path.suffix), mime, creds)
            for mime, path in unsigned.items()}


@pytest.mark.parametrize("mime", ["image/tiff", "audio/wav", "audio/mp4"])
def test_verify_reports_the_credentials_of_a_format_it_does_not_examine(
        signed: dict[str, Path], workdir: Path, mime: str) -> None:
    report = prov.verify(signed[mime], store=ManifestStore(workdir / "s.db"))
    assert report.c2pa.present and report.c2pa.state == "Valid"
    assert report.verdict.label == "signed-capture"
    assert report.watermark is None and report.classifier is None
    assert "content was not examined" in report.verdict.reasons[-1]
    assert str(signed[mime].parent) not in report.verdict.reasons[-1]  # no server paths


def test_tampering_with_such_a_file_is_reported(signed: dict[str, Path], workdir: Path) -> None:
    data = bytearray(signed["audio/wav"].read_bytes())
    data[data.index(b"data") + 100] ^= 0xFF  # a sample
    bad = workdir / "bad.wav"
    bad.write_bytes(bytes(data))
    report = prov.verify(bad, store=ManifestStore(workdir / "s.db"))
    assert report.c2pa.state == "Invalid" and report.verdict.label == "tampered"


@pytest.mark.parametrize("mime", ["image/tiff", "audio/wav", "audio/mp4"])
def test_without_credentials_such_a_file_is_an_error(unsigned: dict[str, Path], workdir: Path,
                                                     mime: str) -> None:
    assert read_manifest(unsigned[mime]).present is False
    with pytest.raises(UnsupportedMediaError, match="carries no C2PA manifest") as caught:
        prov.verify(unsigned[mime], store=ManifestStore(workdir / "s.db"))
    assert ("sound recording" in caught.value.hint) == (mime == "audio/mp4")


def test_a_sound_recording_in_an_mp4_is_named_as_such(unsigned: dict[str, Path]) -> None:
    """An M4A is an MP4 (sniffed as one): the probe finds sound and no pictures, and says so,
    for the watermark too, with a hint that names what can be done."""
    from provenant.media import probe
    from watermark import detect_file

    for read in (probe, detect_file):
        with pytest.raises(AudioOnlyError, match="sound recording: it has audio but no video") \
                as caught:
            read(unsigned["audio/mp4"])
        assert "content credentials" in caught.value.hint


def test_a_folder_verify_reads_m4a_files(signed: dict[str, Path], workdir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from provenant.cli import main

    folder = workdir / "memos"
    folder.mkdir()
    (folder / "memo.m4a").write_bytes(signed["audio/mp4"].read_bytes())
    main(["verify", str(folder), "--json"])
    out = capsys.readouterr().out
    assert "memo.m4a" in out and "signed-capture" in out


def test_unrecognised_content_is_still_refused(workdir: Path) -> None:
    path = _write(workdir / "x.bin", b"hello world")
    with pytest.raises(UnsupportedMediaError, match="unrecognised"):
        read_manifest(path)
