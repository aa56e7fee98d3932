"""Closed captions (ATSC A/53 in the pictures) survive a re-encode, frame for frame; FFmpeg's
decoders are the judge of what was written."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest

from provenant.captions import Captions, _escape, caption_sei, insert_before_picture
from provenant.media import iter_timed_frames, probe, write_video
from watermark import detect_file, embed_file

PAYLOAD = "0123456789abcdef"


def _moving(n: int, h: int = 144, w: int = 176) -> list[np.ndarray]:
    base = np.random.default_rng(3).integers(0, 256, (h, w + n, 3), dtype=np.uint8)
    return [np.ascontiguousarray(base[:, i:i + w]) for i in range(n)]


def _triplets(pts: int) -> bytes:
    """Caption bytes that differ from frame to frame: 1 to 40 triplets (more than one SEI
    message holds)."""
    return bytes([0xFC, 0x80 | pts % 100, 0x80]) * (1 + pts * 7 % 40)


def _mpeg2_user_data(triplets: bytes) -> bytes:
    """A53 captions as MPEG-2 carries them: a user data start code, "GA94", cc_data."""
    return (b"\x00\x00\x01\xb2GA94\x03" + bytes([0x40 | len(triplets) // 3, 0xFF]) + triplets
            + b"\xff")


def captioned_clip(path: Path, codec: str = "libx264", n: int = 30, fmt: str | None = None,
                   pix_fmt: str = "yuv420p", options: dict[str, str] | None = None,
                   flags: int = 0) -> list[bytes]:
    """A clip whose every picture carries captions of its own; returns them in display
    order."""
    sent: dict[int, bytes] = {}
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 176, 144, pix_fmt
        stream.codec_context.flags |= flags
        stream.options = options or {}

        def mux(packets) -> None:
            for packet in packets:
                cc = _triplets(packet.pts)
                data = bytes(packet)
                if codec == "mpeg2video":  # one cc_data(), so at most 31 triplets
                    cc = cc[:3 * 31]
                    first_slice = re.search(b"\x00\x00\x01[\x01-\xaf]", data).start()
                    data = data[:first_slice] + _mpeg2_user_data(cc) + data[first_slice:]
                else:
                    hevc = codec == "libx265"
                    data = insert_before_picture(data, caption_sei(cc, hevc), hevc)
                sent[packet.pts] = cc
                copy = av.Packet(data)
                copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
                copy.stream, copy.is_keyframe = stream, packet.is_keyframe
                out.mux(copy)

        for i, rgb in enumerate(_moving(n)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts = i
            mux(stream.encode(frame))
        mux(stream.encode())
    return [sent[i] for i in range(n)]


def read_captions(path: Path) -> list[bytes]:
    """Each decoded frame's A53 caption bytes, as FFmpeg's decoder exports them."""
    with av.open(str(path)) as container:
        return [b"".join(bytes(s) for s in frame.side_data if s.type.name == "A53_CC")
                for frame in container.decode(video=0)]


def test_escape_keeps_the_payload_from_reading_as_a_start_code() -> None:
    assert _escape(b"\x00\x00\x01\x00\x00\x00\x00\x00\x04") == \
        b"\x00\x00\x03\x01\x00\x00\x03\x00\x00\x03\x00\x04"
    assert _escape(b"\xb5\x00\x31GA94") == b"\xb5\x00\x31GA94"


def test_sei_goes_before_the_first_slice() -> None:
    sps, pps = b"\x00\x00\x00\x01\x67\x64", b"\x00\x00\x00\x01\x68\xee"
    idr = b"\x00\x00\x01\x65\x88"
    nal = caption_sei(b"\xfc\x94\x20")
    assert insert_before_picture(sps + pps + idr, nal) == sps + pps + nal + idr
    # HEVC: a VPS (type 32) is not a slice; an IDR slice (type 19) is
    vps, slice_ = b"\x00\x00\x00\x01\x40\x01", b"\x00\x00\x00\x01\x26\x01"
    hevc_nal = caption_sei(b"\xfc\x94\x20", hevc=True)
    assert hevc_nal[4] >> 1 & 0x3F == 39  # a prefix SEI
    assert insert_before_picture(vps + slice_, hevc_nal, hevc=True) == vps + hevc_nal + slice_


def test_what_is_written_is_what_ffmpeg_reads(workdir: Path) -> None:
    sent = captioned_clip(workdir / "cc.mp4")
    assert read_captions(workdir / "cc.mp4") == sent
    assert max(len(cc) for cc in sent) > 31 * 3  # split over two SEI messages, read as one


@pytest.mark.parametrize("codec, fmt, suffix", [("libx264", None, ".mp4"),
                                                 ("mpeg2video", "mpegts", ".ts")])
def test_watermarking_keeps_each_frames_captions(workdir: Path, codec: str, fmt: str | None,
                                                 suffix: str) -> None:
    src = workdir / f"captioned{suffix}"
    sent = captioned_clip(src, codec, fmt=fmt)
    assert read_captions(src) == sent
    out = embed_file(src, workdir / "marked.mp4", PAYLOAD)
    assert read_captions(out) == sent  # in display order, through B-frame reordering
    assert detect_file(out).payload == PAYLOAD


def test_ten_bit_and_interlaced_sources_keep_their_captions(workdir: Path) -> None:
    from av.codec.context import Flags

    deep = workdir / "deep.mp4"
    sent = captioned_clip(deep, "libx265", pix_fmt="yuv420p10le",
                          options={"x265-params": "log-level=error"})
    out = embed_file(deep, workdir / "deep_marked.mp4", PAYLOAD)
    assert probe(out).colour.bit_depth == 10
    assert read_captions(out) == sent
    woven = workdir / "woven.mp4"
    sent = captioned_clip(woven, options={"x264-params": "tff=1"},
                          flags=Flags.interlaced_dct | Flags.interlaced_me)
    out = embed_file(woven, workdir / "woven_marked.mp4", PAYLOAD)
    assert probe(out).field_order == "tff"
    assert read_captions(out) == sent


def test_a_clip_without_captions_gets_none(workdir: Path, clip: Path) -> None:
    out = embed_file(clip, workdir / "plain.mp4", PAYLOAD)
    assert not any(read_captions(out))


def test_entries_leave_as_they_are_written(workdir: Path) -> None:
    src = workdir / "cc.mp4"
    sent = captioned_clip(src, n=12)
    captions = Captions()
    frames = iter_timed_frames(src, "yuv420p", captions=captions)
    out = write_video(frames, workdir / "copy.mp4", 25, pixel_format="yuv420p",
                      captions=captions)
    assert len(captions) == 0
    assert read_captions(out) == sent
