"""A re-encode keeps subtitle tracks: copied where the output takes them, text converted to
the output's text format, picture subtitles an MP4 cannot hold left out with a warning; and
every kept track keeps its language, title and disposition."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from provenant.cli import main
from provenant.errors import ProvenanceWarning
from watermark import detect_file, embed_file

PAYLOAD = "0123456789abcdef"
_ASS = (b"[Script Info]\nScriptType: v4.00+\n\n[Events]\nFormat: Layer, Start, End, Style, "
        b"Name, MarginL, MarginR, MarginV, Effect, Text\n")
#: (start ms, duration ms, SubRip text)
CUES = [(200, 700, "Line one <i>é</i>"), (1000, 700, "Line two"), (1800, 600, "Line three")]


def _video(out, rng: np.random.Generator, i: int, stream) -> None:
    frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8),
                                       format="rgb24")
    frame.pts = i
    out.mux(stream.encode(frame))


def _silence(out, sound, frames: int) -> None:
    for i in range(frames):
        frame = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp",
                                           layout="stereo")
        frame.sample_rate, frame.pts = 48000, i * 1024
        out.mux(sound.encode(frame))
    out.mux(sound.encode())


def clip_with_subtitles(path: Path, codec: str = "subrip", fmt: str | None = None,
                        audio: bool = False) -> Path:
    """A 2 s clip with one subtitle track of ``codec`` (French, titled, forced) holding
    ``CUES`` (``dvbsub``: three picture-subtitle packets), and a stereo track if ``audio``."""
    rng = np.random.default_rng(5)
    with av.open(str(path), "w", format=fmt) as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        subs = out.add_stream(codec)
        subs.metadata.update({"language": "fra", "title": "Sous-titres"})
        subs.disposition = av.stream.Disposition.forced
        if codec != "dvbsub":
            subs.codec_context.subtitle_header = _ASS
        sound = out.add_stream("aac", rate=48000, layout="stereo") if audio else None
        for i in range(50):
            _video(out, rng, i, video)
        out.mux(video.encode())
        for start, duration, text in CUES:
            data = (text.encode() if codec == "subrip" else
                    b"\x20\x00\x0f" + bytes(20) if codec == "dvbsub" else
                    len(text.encode()).to_bytes(2, "big") + text.encode())
            packet = av.Packet(data)
            packet.pts = packet.dts = start
            packet.duration, packet.time_base, packet.stream = duration, Fraction(1, 1000), subs
            out.mux(packet)
        if sound is not None:
            _silence(out, sound, 94)
    return path


def read_cues(path: Path) -> tuple[str, dict[str, str], int, list[tuple[int, int, str]]]:
    """The first subtitle track's codec, tags, disposition and cues (ms, ms, text)."""
    with av.open(str(path)) as container:
        track = container.streams.subtitles[0]
        cues = []
        for packet in container.demux(track):
            if packet.dts is None or packet.size <= 2:  # an MP4's empty gap samples
                continue
            cue = track.codec_context.decode2(packet)
            text = b"".join(r.dialogue for r in cue.rects).decode()
            cues.append((round(packet.pts * packet.time_base * 1000),
                         round(packet.duration * packet.time_base * 1000), text))
        tags = {k.lower(): v for k, v in track.metadata.items()}
        return track.codec_context.name, tags, int(track.disposition), cues


def test_subrip_from_matroska_becomes_mp4_timed_text(workdir: Path) -> None:
    src = clip_with_subtitles(workdir / "film.mkv")
    out = embed_file(src, workdir / "marked.mp4", PAYLOAD)
    codec, tags, disposition, cues = read_cues(out)
    assert codec == "mov_text"
    assert [(s, d) for s, d, _ in cues] == [(s, d) for s, d, _ in CUES]
    assert [t for _, _, t in cues] == ["Line one {\\i1}é", "Line two", "Line three"]
    assert tags["language"] == "fra" and "Sous-titres" in (tags.get("title"), tags.get("name"))
    assert disposition & av.stream.Disposition.forced
    assert detect_file(out).payload == PAYLOAD


@pytest.mark.parametrize("source, output, codec", [("film.mkv", "marked.mkv", "subrip"),
                                                   ("film.mp4", "marked.mp4", "mov_text")])
def test_a_track_the_output_takes_is_copied(workdir: Path, source: str, output: str,
                                            codec: str) -> None:
    src = clip_with_subtitles(workdir / source, codec)
    before = read_cues(src)
    after = read_cues(embed_file(src, workdir / output, PAYLOAD))
    assert after[3] == before[3] and after[3]
    assert after[1]["language"] == "fra"
    assert after[2] & av.stream.Disposition.forced


def test_picture_subtitles_an_mp4_cannot_hold_are_left_out_with_a_warning(
        workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = clip_with_subtitles(workdir / "broadcast.ts", "dvbsub", audio=True)
    with pytest.warns(ProvenanceWarning, match=r"subtitle track 1 \(dvbsub\) is not kept"):
        out = embed_file(src, workdir / "marked.mp4", PAYLOAD)
    with av.open(str(out)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
    kept = embed_file(src, workdir / "marked.mkv", PAYLOAD)  # Matroska holds them
    with av.open(str(kept)) as container:
        assert [s.codec_context.name for s in container.streams.subtitles] == ["dvbsub"]
    code = main(["watermark", "embed", str(src), "-o", str(workdir / "cli.mp4"),
                 "--payload", PAYLOAD])
    assert code == 0
    assert "provenant: warning:" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_an_audio_track_keeps_its_language_and_title(workdir: Path, suffix: str) -> None:
    src = workdir / f"dub{suffix}"
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        sound = out.add_stream("aac", rate=48000, layout="stereo")
        sound.metadata.update({"language": "spa", "title": "Doblaje"})
        rng = np.random.default_rng(1)
        for i in range(25):
            _video(out, rng, i, video)
        out.mux(video.encode())
        _silence(out, sound, 47)
    out_path = embed_file(src, workdir / f"marked{suffix}", PAYLOAD)
    with av.open(str(out_path)) as container:
        tags = {k.lower(): v for k, v in container.streams.audio[0].metadata.items()}
    assert tags["language"] == "spa"
    assert "Doblaje" in (tags.get("title"), tags.get("name"))


def test_cues_that_go_back_in_time_are_written_in_order(workdir: Path) -> None:
    """A muxer refuses a cue that starts before the one written last (FFmpeg's own muxers
    never store one so, others may): such a cue is written at the last one's time."""
    import io

    from provenant.subtitles import TextTrack

    src = clip_with_subtitles(workdir / "film.mkv")
    with av.open(str(src)) as container, av.open(io.BytesIO(), "w", format="mp4") as out:
        track = container.streams.subtitles[0]
        converted = TextTrack(out, track, "mov_text")
        packets = [p for p in container.demux(track) if p.dts is not None]
        for packet in reversed(packets):  # 1.8 s, 1.0 s, 0.2 s
            converted.write(packet)
        assert converted.last == 1800
