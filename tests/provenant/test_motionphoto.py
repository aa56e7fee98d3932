"""A motion photo keeps its video through a watermark (and a stamp): watermarked with the
photo's payload and appended again, its XMP giving the new length."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provenant.errors import ProvenanceWarning
from provenant.media import probe, write_video
from provenant.motionphoto import read_motion_video
from provenant.provenance import stamp, verify
from provenant.samples import render_clip
from tests.provenant.test_gainmap import _frames, _xmp, ultra_hdr
from watermark import detect_file, embed_file

PAYLOAD = "0123456789abcdef"


def _video(folder: Path) -> bytes:
    return write_video(render_clip(36, 96, 128), folder / "motion.mp4", fps=24).read_bytes()


def _appended(path: Path) -> bytes:
    """The video the copy's XMP names: its Item:Length bytes at the end."""
    length = int(re.search(rb'Item:Semantic="MotionPhoto"[^>]*Item:Length="(\d+)"',
                           _xmp(path)).group(1))
    return path.read_bytes()[-length:]


def test_the_video_is_watermarked_and_kept(workdir: Path) -> None:
    video = _video(workdir)
    gain = ultra_hdr(workdir / "pixel.jpg", motion=video)
    assert read_motion_video(workdir / "pixel.jpg", "image/jpeg") == video
    out = embed_file(workdir / "pixel.jpg", workdir / "marked.jpg", PAYLOAD)
    appended = _appended(out)
    assert appended[4:8] == b"ftyp" and appended != video
    (workdir / "extracted.mp4").write_bytes(appended)
    assert probe(workdir / "extracted.mp4").frame_count == 36
    assert detect_file(workdir / "extracted.mp4").payload == PAYLOAD  # the video is marked
    assert detect_file(out).payload == PAYLOAD
    assert _frames(out)[1] == gain  # the gain map sits between picture and video
    xmp = _xmp(out)
    assert b'GCamera:MotionPhoto="1"' in xmp and b'Item:Semantic="GainMap"' in xmp


def test_a_stamp_keeps_it_and_the_manifest_holds(workdir: Path) -> None:
    ultra_hdr(workdir / "pixel.jpg", motion=_video(workdir))
    out = stamp(workdir / "pixel.jpg", workdir / "stamped.jpg").path
    (workdir / "extracted.mp4").write_bytes(_appended(out))
    assert probe(workdir / "extracted.mp4").frame_count == 36
    assert verify(out).c2pa.state == "Valid"


def test_a_png_copy_is_a_still(workdir: Path) -> None:
    ultra_hdr(workdir / "pixel.jpg", motion=_video(workdir))
    out = embed_file(workdir / "pixel.jpg", workdir / "marked.png", PAYLOAD)
    assert b"MotionPhoto" not in out.read_bytes() and b"ftyp" not in out.read_bytes()


def test_a_damaged_video_is_left_out_with_a_warning(workdir: Path) -> None:
    video = bytearray(_video(workdir))
    video[40:] = bytes(len(video) - 40)  # the header says MP4, the rest is gone
    ultra_hdr(workdir / "pixel.jpg", motion=bytes(video))
    with pytest.warns(ProvenanceWarning, match="motion photo's video is not kept"):
        out = embed_file(workdir / "pixel.jpg", workdir / "marked.jpg", PAYLOAD)
    assert b"MotionPhoto" not in _xmp(out) and detect_file(out).payload == PAYLOAD


@pytest.mark.parametrize("length", [0, 10**12, 12])
def test_a_length_that_names_no_video_is_ignored(workdir: Path, length: int) -> None:
    ultra_hdr(workdir / "odd.jpg", motion=_video(workdir), motion_length=length)
    assert b'Item:Length="%d"' % length in (workdir / "odd.jpg").read_bytes()
    assert read_motion_video(workdir / "odd.jpg", "image/jpeg") is None
    out = embed_file(workdir / "odd.jpg", workdir / "marked.jpg", PAYLOAD)
    assert b"MotionPhoto" not in _xmp(out)


def test_the_older_micro_video_form_is_carried_too(workdir: Path) -> None:
    import cv2
    import numpy as np

    from tests.provenant.test_gainmap import _XMP_SIG, _app, _jpeg

    video = _video(workdir)
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
           b'02/22-rdf-syntax-ns#"><rdf:Description xmlns:GCamera="http://ns.google.com/photos/'
           b'1.0/camera/" GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" '
           b'GCamera:MicroVideoOffset="%d"/></rdf:RDF></x:xmpmeta>' % len(video))
    photo = cv2.GaussianBlur(np.random.default_rng(2).integers(0, 256, (256, 320, 3),
                                                               dtype=np.uint8), (5, 5), 2)
    (workdir / "old.jpg").write_bytes(_jpeg(photo, _app(0xE1, _XMP_SIG + xmp)) + video)
    out = embed_file(workdir / "old.jpg", workdir / "marked.jpg", PAYLOAD)
    offset = int(re.search(rb'GCamera:MicroVideoOffset="(\d+)"', _xmp(out)).group(1))
    (workdir / "extracted.mp4").write_bytes(out.read_bytes()[-offset:])
    assert detect_file(workdir / "extracted.mp4").payload == PAYLOAD
