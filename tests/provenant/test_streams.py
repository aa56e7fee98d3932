"""AVI files, MPEG transport and program streams (broadcast captures, camcorders'
``.mts``/``.m2ts``, HLS segments, ``.mpg``), MXF (news cameras, edit systems), Flash Video and
Windows Media (archives) are read as videos; AVI is signed in place, the others are written as MP4. A re-encode keeps the sound in sync with the pictures whatever
clock the source's streams start on (a transport stream's rarely starts at 0)."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from provenant import media
from provenant.errors import MediaError, UnsupportedMediaError
from provenant.filelist import expand_files
from provenant.manifest import SignOptions, read_manifest
from provenant.provenance import sign, stamp
from provenant.samples import render_clip
from provenant.truncation import truncation
from tests.conftest import encode_clip

RATE = 48000


def _source(path: Path, seconds: float = 1.0, fps: int = 24, seed: int = 5) -> np.ndarray:
    """A transport stream of H.264 (with B-frames, so its first picture comes after its
    first sound) and an MP2 track of white noise, whose samples it returns."""
    noise = (np.random.default_rng(seed).standard_normal(int(RATE * seconds)) * 4000
             ).astype(np.int16)
    with av.open(str(path), "w", format="mpegts") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = 96, 72, "yuv420p"
        audio = out.add_stream("mp2", rate=RATE, layout="mono")
        for frame in render_clip(int(fps * seconds), 72, 96, seed=seed):
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(video.encode())
        for i in range(0, noise.size, 1152):
            frame = av.AudioFrame.from_ndarray(noise[None, i:i + 1152], format="s16",
                                               layout="mono")
            frame.sample_rate, frame.pts = RATE, i
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return noise


def _remux(src: Path, dst: Path, fmt: str, clock: float = 0.0, video_late: float = 0.0,
           **options: str) -> Path:
    """``src``'s packets in another container, every stream's clock moved on by ``clock``
    seconds and the video's by ``video_late`` more."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt, options=options) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        if fmt == "avi":  # one tick per frame, as AVI counts them
            streams[inp.streams.video[0].index].time_base = Fraction(1, 24)
        packets = [p for p in inp.demux() if p.dts is not None]
        for p in packets:
            shift = round((clock + (video_late if p.stream.type == "video" else 0)) / p.time_base)
            p.pts, p.dts = p.pts + shift, p.dts + shift
        for p in sorted(packets, key=lambda p: float(p.dts * p.time_base)):
            p.stream = streams[p.stream.index]
            out.mux(p)
    return dst


def _sound(path: Path) -> tuple[np.ndarray, float]:
    """The first audio track's first channel and when its first sample plays, in seconds
    from the first picture."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        picture = float(video.start_time * video.time_base) if video.start_time else 0.0
        parts, start = [], None
        for frame in container.decode(audio=0):
            start = float(frame.pts * frame.time_base) if start is None else start
            samples = frame.to_ndarray()  # planar: a row per channel; packed: interleaved
            first = samples[0] if frame.format.is_planar else samples.reshape(
                -1, len(frame.layout.channels))[:, 0]
            parts.append(first.astype(np.float64))
    return np.concatenate(parts), start - picture


def _picture_offset(src: Path, out: Path) -> float:
    """How much later (seconds) a sound plays against the pictures in ``out`` than in
    ``src``: 0 when they are in sync."""
    a, a0 = _sound(src)
    b, b0 = _sound(out)
    probe = b[RATE // 4:RATE // 2]
    lag = int(np.argmax(np.correlate(a - a.mean(), probe - probe.mean(), mode="valid")))
    return (b0 + 0.25) - (a0 + lag / RATE)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streams") / "source.ts"
    _source(path)
    return path


@pytest.mark.parametrize("fmt, name, options, mime", [
    ("mp4", "clip.mp4", {}, "video/mp4"),
    ("mpegts", "clip.m2ts", {"mpegts_m2ts_mode": "1"}, "video/mp2t"),
    ("avi", "clip.avi", {}, "video/x-msvideo"),
])
def test_the_same_stream_reads_the_same_in_every_container(
        source: Path, workdir: Path, fmt: str, name: str, options: dict, mime: str) -> None:
    path = _remux(source, workdir / name, fmt, **options)
    info, plain = media.probe(path), media.probe(source)
    assert (plain.mime, plain.kind, plain.frame_count) == ("video/mp2t", "video", 24)
    assert (info.mime, info.kind, info.frame_count, info.has_audio) == (
        mime, "video", 24, True)
    frames, expected = media.read_frames(path), media.read_frames(source)
    assert frames.shape == expected.shape and np.array_equal(frames, expected)
    indices, sampled = media.sample_frames(path, 4)
    assert all(np.array_equal(f, expected[i]) for i, f in zip(indices, sampled))


def test_an_mpeg_program_stream_is_a_video(workdir: Path) -> None:
    path = encode_clip(workdir / "clip.mpg", render_clip(10, 48, 64), "mpeg2video", "mpeg",
                       rate=25)
    info = media.probe(path)  # its frame count is estimated from its time stamps
    assert (info.mime, info.kind) == ("video/mpeg", "video")
    assert len(list(media.iter_frames(path))) == 10


@pytest.mark.parametrize("head", [
    b"\x47" + b"\x00" * 500,  # one sync byte is not a transport stream
    b"\x47" + b"\x00" * 187 + b"\x47" + b"\x00" * 100,  # a file too short to tell
])
def test_a_lone_sync_byte_is_not_a_transport_stream(workdir: Path, head: bytes) -> None:
    (workdir / "x.ts").write_bytes(head)
    with pytest.raises(UnsupportedMediaError, match="unrecognised"):
        media.probe(workdir / "x.ts")


@pytest.mark.parametrize("clock, video_late", [(0.0, 0.0), (3600.0, 0.0), (100.0, 0.5)])
def test_a_re_encode_keeps_the_sound_in_sync_whatever_the_source_clock(
        source: Path, workdir: Path, clock: float, video_late: float) -> None:
    """A broadcast capture's clock reads hours (the sound landed an hour after the pictures,
    in a file an hour long), and the pictures may start after the sound (by B-frames'
    delay at least: the sound came 2 frames late)."""
    src = _remux(source, workdir / "capture.ts", "mpegts", clock, video_late,
                 mpegts_copyts="1")
    out = media.write_video(media.iter_timed_frames(src), workdir / "out.mp4", fps=24,
                            audio_from=src)
    assert abs(_picture_offset(src, out)) <= 1 / RATE + 1e-9
    with av.open(str(out)) as container:
        assert container.duration / 1e6 < 1.2
        assert container.streams.audio[0].start_time * container.streams.audio[0].time_base \
            >= 0  # sound before the first picture is not played before it


def test_a_converted_track_keeps_its_place_too(workdir: Path) -> None:
    """24-bit stereo PCM in Matroska is converted to ALAC; its samples are timed from the
    pictures as well (here the pictures start 0.25 s after the sound)."""
    src = workdir / "camera.mkv"
    noise = np.random.default_rng(2).integers(-2**23, 2**23, (RATE, 2), dtype=np.int64) << 8
    with av.open(str(src), "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.options = {"bf": "0"}
        audio = out.add_stream("pcm_s24le", rate=RATE, layout="stereo")
        packets = []
        for i, frame in enumerate(render_clip(24, 48, 64)):
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts, vf.time_base = 6 + i, Fraction(1, 24)
            packets += video.encode(vf)
        packets += video.encode()
        for i in range(0, RATE, 2048):
            af = av.AudioFrame.from_ndarray(noise[i:i + 2048].reshape(1, -1).astype(np.int32),
                                            format="s32", layout="stereo")
            af.sample_rate, af.pts = RATE, i
            packets += audio.encode(af)
        packets += audio.encode()
        for p in sorted(packets, key=lambda p: float(p.dts * p.time_base)):
            out.mux(p)
    out = media.write_video(media.iter_timed_frames(src), workdir / "out.mp4", fps=24,
                            audio_from=src)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "alac"
    assert abs(_picture_offset(src, out)) <= 1 / RATE + 1e-9


def test_an_avi_is_signed_in_place_and_its_damage_is_found(source: Path, workdir: Path) -> None:
    avi = _remux(source, workdir / "camera.avi", "avi")
    signed = sign(avi, workdir / "signed.avi", SignOptions(title="camera")).path
    evidence = read_manifest(signed)
    assert evidence.present and evidence.state == "Valid"
    assert media.probe(signed).frame_count == media.probe(avi).frame_count
    data = bytearray(signed.read_bytes())
    data[len(data) // 3] ^= 0x55
    (workdir / "tampered.avi").write_bytes(bytes(data))
    assert read_manifest(workdir / "tampered.avi").state == "Invalid"


def test_a_transport_stream_is_stamped_as_an_mp4_and_not_signed_as_it_is(
        source: Path, workdir: Path) -> None:
    ts = _remux(source, workdir / "capture.ts", "mpegts")
    with pytest.raises(UnsupportedMediaError, match="MP4, MOV, AVI"):
        sign(ts, workdir / "signed.ts")
    result = stamp(ts, workdir / "stamped.mp4")
    assert read_manifest(result.path).state == "Valid"
    assert media.probe(result.path).has_audio


def test_verify_says_a_file_is_cut_short(source: Path, workdir: Path) -> None:
    """A signed AVI keeps its manifest at its end: cut, it reads as a file without one, and
    the report says why that may be."""
    from provenant.provenance import verify

    signed = sign(_remux(source, workdir / "camera.avi", "avi"), workdir / "signed.avi").path
    assert not any("cut short" in r for r in verify(signed).verdict.reasons)
    data = signed.read_bytes()
    cut = workdir / "cut.avi"
    cut.write_bytes(data[: len(data) * 2 // 3])
    report = verify(cut)
    assert not report.c2pa.present
    assert any("cut short" in r and "RIFF header" in r for r in report.verdict.reasons)


def test_a_cut_avi_is_refused_by_sign_and_stamp(source: Path, workdir: Path) -> None:
    data = _remux(source, workdir / "camera.avi", "avi").read_bytes()
    cut = workdir / "cut.avi"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert "RIFF header declares" in (truncation(cut, "video/x-msvideo") or "")
    with pytest.raises(MediaError, match="truncated"):
        sign(cut, workdir / "signed.avi")
    with pytest.raises(MediaError, match="truncated"):
        stamp(cut, workdir / "stamped.mp4")


def test_a_large_avi_is_checked_in_each_of_its_riff_chunks(workdir: Path) -> None:
    """Past 1 GiB an AVI (OpenDML) goes on in ``RIFF AVIX`` chunks."""
    def riff(kind: bytes, body: int, declared: int | None = None) -> bytes:
        return b"RIFF" + struct.pack("<I", declared or body + 4) + kind + b"\x00" * body

    whole = workdir / "whole.avi"
    whole.write_bytes(riff(b"AVI ", 101) + b"\x00" + riff(b"AVIX", 40))  # padded to even
    assert truncation(whole, "video/x-msvideo") is None
    cut = workdir / "cut.avi"
    cut.write_bytes(riff(b"AVI ", 100) + riff(b"AVIX", 40, declared=4000))
    assert "declares 4,008 bytes" in (truncation(cut, "video/x-msvideo") or "")


def test_a_folder_gives_its_avi_and_transport_stream_files(workdir: Path) -> None:
    for name in ("a.avi", "b.ts", "c.m2ts", "d.mts", "e.mpg", "notes.txt"):
        (workdir / name).write_bytes(b"")
    assert [p.name for p in expand_files([str(workdir)])] == [
        "a.avi", "b.ts", "c.m2ts", "d.mts", "e.mpg"]


def _mxf(path: Path, tracks: int = 2) -> Path:
    """An MXF of MPEG-2 video and ``tracks`` mono 24-bit PCM tracks, as news cameras and
    edit systems write them."""
    with av.open(str(path), "w", format="mxf") as out:
        video = out.add_stream("mpeg2video", rate=25)
        video.width, video.height, video.pix_fmt = 256, 192, "yuv420p"
        sound = [out.add_stream("pcm_s24le", rate=RATE, layout="mono") for _ in range(tracks)]
        for frame in render_clip(12, 192, 256):
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(video.encode())
        for k, track in enumerate(sound):
            for i in range(0, RATE * 12 // 25, 1920):
                samples = np.full((1, 1920), (k + 1) << 20, np.int32)
                frame = av.AudioFrame.from_ndarray(samples, format="s32", layout="mono")
                frame.sample_rate, frame.pts = RATE, i
                out.mux(track.encode(frame))
            out.mux(track.encode())
    return path


def test_an_mxf_is_a_video_stamped_as_an_mp4_with_every_track(workdir: Path) -> None:
    src = _mxf(workdir / "camera.mxf")
    info = media.probe(src)
    assert (info.mime, info.kind, info.frame_count, info.has_audio) == (
        "application/mxf", "video", 12, True)
    assert len(media.read_frames(src)) == 12
    with pytest.raises(UnsupportedMediaError, match="MP4, MOV, AVI"):
        sign(src, workdir / "signed.mxf")
    result = stamp(src, workdir / "stamped.mp4")
    assert read_manifest(result.path).state == "Valid"
    with av.open(str(result.path)) as container:
        assert len(container.streams.audio) == 2


def test_a_cut_mxf_is_refused_by_stamp(workdir: Path) -> None:
    data = _mxf(workdir / "camera.mxf", tracks=0).read_bytes()
    cut = workdir / "cut.mxf"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert "footer partition" in (truncation(cut, "application/mxf") or "")
    with pytest.raises(MediaError, match="truncated"):
        stamp(cut, workdir / "stamped.mp4")


def _archive_clip(path: Path, container: str, video: str, sound: str) -> Path:
    """A clip as web archives (Flash Video) and Windows (Windows Media, ASF) hold them."""
    with av.open(str(path), "w", format=container) as out:
        pictures = out.add_stream(video, rate=25)
        pictures.width, pictures.height, pictures.pix_fmt = 256, 192, "yuv420p"
        audio = out.add_stream(sound, rate=44100, layout="stereo")
        audio.bit_rate = 128000
        for frame in render_clip(24, 192, 256, seed=8):
            out.mux(pictures.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(pictures.encode())
        size = audio.codec_context.frame_size or 1024
        for i in range(0, 44100, size):
            samples = np.zeros((2, size), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 44100, i
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return path


@pytest.mark.parametrize(("name", "container", "video", "sound", "mime"), [
    ("archive.flv", "flv", "libx264", "aac", "video/x-flv"),
    ("archive.wmv", "asf", "wmv2", "wmav2", "video/x-ms-asf"),
])
def test_flash_and_windows_media_are_read_and_stamped_as_an_mp4(
        workdir: Path, name: str, container: str, video: str, sound: str, mime: str) -> None:
    src = _archive_clip(workdir / name, container, video, sound)
    info = media.probe(src)
    assert (info.mime, info.kind, info.has_audio) == (mime, "video", True)
    assert 24 <= info.frame_count <= 28  # estimated from the duration: neither counts frames
    assert src in expand_files([str(workdir)])  # a folder's archive files are read too
    with pytest.raises(UnsupportedMediaError, match="MP4, MOV, AVI"):
        sign(src, workdir / f"signed{src.suffix}")
    result = stamp(src, workdir / f"{src.stem}.mp4")
    assert read_manifest(result.path).state == "Valid"
    with av.open(str(result.path)) as copy:
        assert len(copy.streams.audio) == 1 and copy.streams.video[0].frames == 24
