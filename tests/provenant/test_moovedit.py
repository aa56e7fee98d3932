"""The MP4 index editor: boxes put into a finished file's sample entry, every chunk offset
moved with them, and damaged or foreign files refused rather than misread."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest

from provenant.moovedit import Box, read_moov, rewrite_moov, sample_entry, video_track
from tests.conftest import make_clip_with_audio


def _packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as c:
        return [(p.stream.index, bytes(p)) for p in c.demux() if p.size]


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _grow_entry(path: Path, size: int) -> None:
    found = read_moov(path)
    assert found is not None
    entry = sample_entry(video_track(found[0]))
    entry.children.append(Box(b"free", bytes(size)))
    rewrite_moov(path, *found)


@pytest.mark.parametrize("faststart", [True, False])
def test_a_grown_index_leaves_every_packet_readable(workdir: Path, faststart: bool) -> None:
    """Index first (as the writer puts it) the chunk offsets move with it; index last, they
    stay: either way each track's packets and the pictures read back byte for byte."""
    src = make_clip_with_audio(workdir / "clip.mp4", frames=12,
                               options={"movflags": "+faststart"} if faststart else None)
    before, pictures = _packets(src), _frames(src)
    _, start, size = read_moov(src)
    _grow_entry(src, 1000)
    _, new_start, new_size = read_moov(src)
    assert (new_start, new_size) == (start, size + 1008)
    assert _packets(src) == before
    assert all((x == y).all() for x, y in zip(_frames(src), pictures, strict=True))


def test_several_tracks_all_move(workdir: Path) -> None:
    src = make_clip_with_audio(workdir / "two.mp4", tracks=2)
    before = _packets(src)
    _grow_entry(src, 4096)
    assert _packets(src) == before


def _table_file(path: Path, offsets: list[int], wide: bool = False) -> Path:
    """A skeleton MP4: a video track whose chunk offsets are ``offsets``, then an mdat."""
    table = Box(b"co64" if wide else b"stco", bytes(4) + struct.pack(
        f">I{len(offsets)}{'Q' if wide else 'I'}", len(offsets), *offsets))
    entry = Box(b"avc1", bytes(78))
    stsd = Box(b"stsd", struct.pack(">II", 0, 1), [entry])
    hdlr = Box(b"hdlr", bytes(8) + b"vide" + bytes(13))
    trak = Box(b"trak", b"", [Box(b"mdia", b"", [hdlr, Box(b"minf", b"", [
        Box(b"stbl", b"", [stsd, table])])])])
    ftyp = Box(b"ftyp", b"isom" + bytes(4))
    path.write_bytes(ftyp.serialise() + Box(b"moov", b"", [trak]).serialise()
                     + Box(b"mdat", bytes(64)).serialise())
    return path


def _table(path: Path) -> tuple[bytes, list[int]]:
    moov = read_moov(path)[0]
    table = moov.first(b"trak", b"mdia", b"minf", b"stbl").children[-1]
    count = struct.unpack(">I", table.body[4:8])[0]
    wide = table.kind == b"co64"
    return table.kind, list(struct.unpack(f">{count}{'Q' if wide else 'I'}",
                                          table.body[8:8 + count * (8 if wide else 4)]))


def test_offsets_past_4_gib_become_64_bit(workdir: Path) -> None:
    """A 32-bit offset the growth would push past 4 GiB makes the table 64-bit (the index
    grows again by 4 bytes per chunk); offsets before the index never move."""
    path = _table_file(workdir / "big.mp4", [4, 0xFFFFFFF0])
    _, start, _ = read_moov(path)
    assert start == 16
    _grow_entry(path, 100)
    kind, offsets = _table(path)
    assert kind == b"co64"
    assert offsets == [4, 0xFFFFFFF0 + 108 + 8]  # the entry's box, and 4 more per offset
    small = _table_file(workdir / "small.mp4", [4, 5000])
    _grow_entry(small, 100)
    assert _table(small) == (b"stco", [4, 5108])


@pytest.mark.parametrize("content", [
    b"\x1a\x45\xdf\xa3" + bytes(60),  # Matroska
    b"not a media file at all" * 10,
    None,  # an index cut short
    b"",
])
def test_foreign_or_damaged_files_have_no_index(workdir: Path, content: bytes | None) -> None:
    path = workdir / "odd.mp4"
    if content is None:
        _table_file(path, [4])
        data = path.read_bytes()
        moov_size = struct.unpack(">I", data[16:20])[0]
        # the track claims more than the index holds
        path.write_bytes(data[:24] + struct.pack(">I", moov_size) + data[28:])
    else:
        path.write_bytes(content)
    assert read_moov(path) is None


def test_an_index_too_large_is_not_read(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import provenant.moovedit as moovedit

    path = _table_file(workdir / "skeleton.mp4", [4])
    assert read_moov(path) is not None
    monkeypatch.setattr(moovedit, "MAX_MOOV_BYTES", 50)
    assert read_moov(path) is None


def test_an_index_of_countless_boxes_is_refused_quickly(workdir: Path) -> None:
    """A crafted index of a million empty boxes is not parsed box by box into memory."""
    path = workdir / "crafted.mp4"
    path.write_bytes(Box(b"ftyp", b"isom" + bytes(4)).serialise()
                     + Box(b"moov", b"", [Box(b"free")] * 1_000_000).serialise())
    assert read_moov(path) is None
