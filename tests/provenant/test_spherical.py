"""A 360° video stays 360° through a re-encode: its projection and stereo boxes (Spherical
Video V2 in the sample entry, V1 in the track) are carried from an MP4/MOV source into an
MP4/MOV copy, as FFmpeg's own reader then reports them; where they cannot be, a notice
names the loss."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import pytest

from provenant.errors import ProvenanceWarning, collect_notices
from provenant.moovedit import Box, read_moov, rewrite_moov, sample_entry, tracks, video_track
from provenant.spherical import SPHERICAL_V1_UUID, carry_projection, read_projection
from tests.conftest import make_clip, make_clip_with_audio
from watermark import detect_file, embed_file

PAYLOAD = "0123456789abcdef"


def _full(kind: bytes, payload: bytes) -> Box:
    return Box(kind, bytes(4) + payload)


EQUIRECTANGULAR = _full(b"equi", bytes(16))
#: A tile of the sphere: bounds top, bottom, left, right (0.32 fixed point), all different
TILE = _full(b"equi", struct.pack(">IIII", 1 << 28, 2 << 28, 3 << 28, 1 << 29))
CUBEMAP = _full(b"cbmp", struct.pack(">II", 0, 8))


def _v2_boxes(shape: Box = EQUIRECTANGULAR, stereo: int = 1) -> list[Box]:
    """A projection facing 10° yaw, -5° pitch, 2° roll; stereo top-bottom (1) or side by
    side (2)."""
    pose = _full(b"prhd", struct.pack(">iii", 10 << 16, -5 << 16, 2 << 16))
    projection = Box(b"proj", b"", [pose, shape])
    return [_full(b"st3d", bytes([stereo])),
            Box(b"sv3d", b"", [_full(b"svhd", b"rig\0"), projection])]


V1_XML = (b'<rdf:SphericalVideo xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
          b'xmlns:GSpherical="http://ns.google.com/videos/1.0/spherical/">'
          b'<GSpherical:Spherical>true</GSpherical:Spherical>'
          b'<GSpherical:Stitched>true</GSpherical:Stitched>'
          b'<GSpherical:StitchingSoftware>rig</GSpherical:StitchingSoftware>'
          b'<GSpherical:ProjectionType>equirectangular</GSpherical:ProjectionType>'
          b'</rdf:SphericalVideo>')


def _spherical_clip(path: Path, v1: bool = False, boxes: list[Box] | None = None) -> Path:
    make_clip(path, frames=24)
    found = read_moov(path)
    trak = video_track(found[0])
    if v1:
        trak.children.append(Box(b"uuid", SPHERICAL_V1_UUID + V1_XML))
    else:
        sample_entry(trak).children.extend(boxes or _v2_boxes())
    rewrite_moov(path, *found)
    return path


def _remux(src: Path, dst: Path) -> Path:
    """``src``'s video packets in another container, its stream parameters (projection
    included) copied as FFmpeg copies them."""
    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        stream = o.add_stream_from_template(i.streams.video[0])
        for packet in i.demux(i.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                o.mux(packet)
    return dst


def _side_data(path: Path) -> dict[str, bytes]:
    """What FFmpeg's decoder reports with the first picture."""
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return {s.type.name: bytes(s) for s in frame.side_data if s.type.name != "SEI_UNREGISTERED"}


@pytest.mark.parametrize("v1, suffix", [(False, ".mp4"), (False, ".mov"), (True, ".mp4")])
def test_a_watermarked_copy_stays_360(workdir: Path, v1: bool, suffix: str) -> None:
    src = _spherical_clip(workdir / f"rig{suffix}", v1)
    reported = _side_data(src)
    assert set(reported) == ({"SPHERICAL"} if v1 else {"SPHERICAL", "STEREO3D"})
    out = embed_file(src, workdir / f"marked{suffix}", PAYLOAD)
    assert _side_data(out) == reported  # the same projection, view and stereo layout
    assert read_projection(out) == read_projection(src)
    assert detect_file(out).payload == PAYLOAD


def test_a_plain_video_is_left_as_written(workdir: Path) -> None:
    src = make_clip(workdir / "flat.mp4")
    out = make_clip(workdir / "copy.mp4")
    before = out.read_bytes()
    with collect_notices() as notices:
        assert carry_projection(src, out) is False
    assert notices == [] and out.read_bytes() == before
    assert read_projection(src) is None and _side_data(out) == {}


def test_a_matroska_copy_names_what_it_loses(workdir: Path) -> None:
    src = _spherical_clip(workdir / "rig.mp4")
    with pytest.warns(ProvenanceWarning, match=r"its 360° projection and stereo 3D layout are "
                      r"not carried into marked\.mkv .*flat panorama"):
        out = embed_file(src, workdir / "marked.mkv", PAYLOAD)
    assert _side_data(out) == {}


@pytest.mark.parametrize("shape, stereo", [(EQUIRECTANGULAR, 1), (TILE, 2), (CUBEMAP, 1)])
def test_a_matroska_360_video_becomes_a_360_mp4(workdir: Path, shape: Box,
                                                 stereo: int) -> None:
    """A Matroska or WebM file (as a platform's 360 video downloads) says it in its
    Projection and StereoMode elements: the MP4 copy says the same in its own boxes, as
    FFmpeg reads them back (projection kind, view, bounds or cube padding, eyes)."""
    mkv = _remux(_spherical_clip(workdir / "rig.mp4", boxes=_v2_boxes(shape, stereo)),
                 workdir / "download.mkv")
    reported = _side_data(mkv)
    assert set(reported) == {"SPHERICAL", "STEREO3D"}
    with collect_notices() as notices:
        out = embed_file(mkv, workdir / "marked.mp4", PAYLOAD)
    assert notices == []
    assert _side_data(out) == reported


def test_stamping_keeps_the_projection_and_signs_the_result(workdir: Path) -> None:
    from provenant.provenance import stamp, verify

    src = _spherical_clip(workdir / "rig.mp4")
    out = workdir / "stamped.mp4"
    stamp(src, out)
    assert _side_data(out) == _side_data(src)
    report = verify(out).to_dict()
    assert report["c2pa"]["state"] == "Valid"
    assert report["watermark"]["detected"]


def test_spatial_sound_stays_spatial(workdir: Path) -> None:
    """A 360 video's ambisonic sound (first order, four channels, an SA3D box in its audio
    sample entry) keeps the box that says so; the sound itself is copied as it was."""
    src = make_clip_with_audio(workdir / "ambisonic.mp4", size=(128, 96), layout="quad")
    found = read_moov(src)
    # version 0, periphonic, order 1, ACN channel order, SN3D, 4 channels mapped as they are
    sa3d = Box(b"SA3D", struct.pack(">BBIBBI4I", 0, 0, 1, 0, 0, 4, 0, 1, 2, 3))
    sample_entry(tracks(found[0], b"soun")[0]).children.append(sa3d)
    sample_entry(video_track(found[0])).children.extend(_v2_boxes())
    rewrite_moov(src, *found)
    assert read_projection(src).audio == (sa3d,)
    out = embed_file(src, workdir / "marked.mp4", PAYLOAD)
    assert read_projection(out) == read_projection(src)
    with av.open(str(src)) as a, av.open(str(out)) as b:
        assert [bytes(p) for p in a.demux(audio=0) if p.size] == [
            bytes(p) for p in b.demux(audio=0) if p.size]
    with pytest.warns(ProvenanceWarning, match="spatial .ambisonic. sound.*sound that does "
                      "not turn with the view"):
        embed_file(src, workdir / "marked.mkv", PAYLOAD)
