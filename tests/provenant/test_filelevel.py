"""A re-encode carries its source's file-level facts: the start timecode and the chapters
(content tags: test_media.py)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from provenant import media
from provenant.filelevel import MAX_CHAPTERS
from provenant.samples import render_clip
from tests.conftest import encode_clip
from watermark import embed_file


@pytest.mark.parametrize("timecode, rate, suffix", [("10:00:00:00", 25, ".mov"),
                                                    ("01:00:00;00", Fraction(30000, 1001),
                                                     ".mp4")])
def test_a_reencode_keeps_the_start_timecode(workdir: Path, timecode: str,
                                             rate: int | Fraction, suffix: str) -> None:
    """A camera's or an edit's start timecode (a MOV/MP4 ``tmcd`` track; drop-frame at
    29.97) was dropped by a re-encode; the new file has it on the same first frame."""
    src = workdir / f"camera{suffix}"
    with av.open(str(src), "w") as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.metadata["timecode"] = timecode
        for frame in render_clip(6, 48, 64):
            out.mux(v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(v.encode())
    out_path = media.write_video(media.iter_timed_frames(src), workdir / f"out{suffix}",
                                 fps=float(rate), metadata_from=src)
    with av.open(str(out_path)) as b:
        assert [(s.type, s.metadata.get("timecode")) for s in b.streams] == [
            ("video", timecode), ("data", timecode)]
    plain = media.write_video(media.iter_frames(src), workdir / f"plain{suffix}", fps=25)
    with av.open(str(plain)) as c:
        assert len(c.streams) == 1  # only when asked


@pytest.mark.parametrize("timecode, kept", [("01:02:03:04", True), ("not a timecode", False)])
def test_a_matroska_timecode_is_copied_unless_damaged(workdir: Path, timecode: str,
                                                       kept: bool) -> None:
    src = workdir / "odd.mkv"
    with av.open(str(src), "w") as out:
        out.metadata["timecode"] = timecode  # stored as the tag TIMECODE
        v = out.add_stream("libx264", rate=24)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for frame in [np.zeros((48, 64, 3), np.uint8)] * 3:
            out.mux(v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(v.encode())
    out_path = media.write_video(media.iter_frames(src), workdir / "out.mp4", fps=24,
                                 metadata_from=src)
    with av.open(str(out_path)) as b:
        assert "timecode" not in b.metadata
        assert b.streams.video[0].metadata.get("timecode") == (timecode if kept else None)
        assert len(b.streams) == (2 if kept else 1)  # the MP4's timecode track


CHAPTERS = [("Intro", 0, 1000), ("Interview", 1000, 2000)]


def _with_chapters(path: Path, chapters: list[tuple[str, int, int]]) -> Path:
    with av.open(str(path), "w") as out:
        out.set_chapters([{"id": i + 1, "start": start, "end": end,
                           "time_base": Fraction(1, 1000), "metadata": {"title": title}}
                          for i, (title, start, end) in enumerate(chapters)])
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 96, 64, "yuv420p"
        for frame in render_clip(50, 64, 96):
            out.mux(v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(v.encode())
    return path


def _chapters(path: Path) -> list[tuple[str, int, int]]:
    with av.open(str(path)) as container:
        return [(c["metadata"].get("title"), round(c["start"] * c["time_base"] * 1000),
                 round(c["end"] * c["time_base"] * 1000)) for c in container.chapters()]


@pytest.mark.parametrize("source, output", [("talk.mp4", "marked.mp4"),
                                            ("talk.mkv", "marked.mkv"),
                                            ("talk.mkv", "marked.mp4")])
def test_watermarking_keeps_the_chapters(workdir: Path, source: str, output: str) -> None:
    src = _with_chapters(workdir / source, CHAPTERS)
    assert _chapters(src) == CHAPTERS
    assert _chapters(embed_file(src, workdir / output, "0123456789abcdef")) == CHAPTERS


def test_chapters_are_bounded_and_empty_ones_dropped(workdir: Path) -> None:
    many = [(f"part {i}", i, i + 1) for i in range(MAX_CHAPTERS + 5)] + [("empty", 5, 5)]
    src = _with_chapters(workdir / "many.mkv", many)
    out = media.write_video(media.iter_timed_frames(src), workdir / "out.mkv", fps=25,
                            metadata_from=src)
    kept = _chapters(out)
    assert len(kept) == MAX_CHAPTERS and ("empty", 5, 5) not in kept


PHONE_KEYS = {"com.apple.quicktime.location.ISO6709": "+48.8583+002.2945+035.000/",
              "com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 15 Pro",
              "com.apple.quicktime.creationdate": "2026-11-30T10:11:12+0100"}


@pytest.mark.parametrize("suffix", [".mov", ".mp4"])
def test_a_phone_video_keeps_where_when_and_with_what_it_was_shot(workdir: Path,
                                                                  suffix: str) -> None:
    """A phone writes its place, device and local capture time as QuickTime metadata keys,
    which the MP4/MOV muxer writes only when told to: a re-encode dropped them all."""
    src = encode_clip(workdir / "phone.mov", render_clip(6, 96, 128), rate=30,
                      metadata=PHONE_KEYS, muxer_options={"movflags": "use_metadata_tags"})
    marked = embed_file(src, workdir / f"marked{suffix}", "0123456789abcdef")
    with av.open(str(marked)) as b:
        assert {k: b.metadata.get(k) for k in PHONE_KEYS} == PHONE_KEYS
    assert marked.read_bytes()[:64].find(b"moov") > 0  # the index still first


def test_a_video_without_such_keys_is_written_as_before(workdir: Path) -> None:
    src = workdir / "plain.mp4"
    media.write_video(render_clip(4, 96, 128), src, fps=24)
    out = media.write_video(media.iter_timed_frames(src), workdir / "out.mp4", fps=24,
                            metadata_from=src)
    assert b"mdta" not in out.read_bytes()
