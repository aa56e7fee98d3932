"""A re-encode keeps every audio track: copied as it is where the output takes it, and
otherwise (24-bit PCM from a Matroska file, which FFmpeg's MP4 muxer refuses) converted to
ALAC without changing a sample, its title kept; a track that can be neither is a clear
error. (Subtitle tracks: test_subtitles.py.)"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from provenant import media
from provenant.errors import MediaError
from provenant.samples import render_clip


def _mkv_with_pcm24(path: Path, title: str | None = None) -> np.ndarray:
    """A Matroska clip with a stereo 24-bit PCM track; returns its samples as decoded."""
    rng = np.random.default_rng(3)
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("pcm_s24le", rate=48000, layout="stereo")
        if title:
            audio.metadata["title"] = title
        for frame in render_clip(12, 48, 64):
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(video.encode())
        for i in range(12):
            samples = rng.integers(-2**23, 2**23, (1, 2 * 2048), dtype=np.int64) << 8
            frame = av.AudioFrame.from_ndarray(samples.astype(np.int32), format="s32",
                                               layout="stereo")
            frame.sample_rate, frame.pts = 48000, i * 2048
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return _samples(path)


def _samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        parts = []
        for frame in container.decode(audio=0):
            array = frame.to_ndarray()
            parts.append(array if frame.format.is_planar else array.reshape(-1, 2).T)
        return np.concatenate(parts, axis=1)


def test_pcm_an_mp4_refuses_is_converted_to_alac_sample_for_sample(workdir: Path) -> None:
    src = workdir / "camera.mkv"
    before = _mkv_with_pcm24(src, title="Lavalier")
    out = media.write_video(media.iter_frames(src), workdir / "out.mp4", fps=24, audio_from=src)
    with av.open(str(out)) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "alac"]
        assert container.streams.audio[0].metadata.get("name") == "Lavalier"  # MP4's title
    after = _samples(out)
    assert after.shape == before.shape and np.array_equal(after, before)  # lossless


def test_an_audio_track_no_decoder_reads_is_a_clear_error(workdir: Path) -> None:
    """A damaged codec name (Matroska ``A_PCM/INT/LIT`` made ``A_QQQ/INT/LIT``): no decoder,
    no copy into an MP4. It was an internal AttributeError; it is bad input now."""
    src = workdir / "camera.mkv"
    _mkv_with_pcm24(src)
    data = src.read_bytes()
    at = data.index(b"A_PCM/INT/LIT")
    (workdir / "bad.mkv").write_bytes(data[:at] + b"A_QQQ" + data[at + 5:])
    with pytest.raises(MediaError, match="audio track 1") as info:
        media.write_video(media.iter_frames(src), workdir / "out.mp4", fps=24,
                          audio_from=workdir / "bad.mkv")
    assert info.value.exit_code == 2 and not (workdir / "out.mp4").exists()


def test_a_damaged_tag_in_the_source_does_not_stop_the_sound(workdir: Path) -> None:
    """A track title whose bytes are not UTF-8 (a damaged header) made reading the sound
    raise UnicodeDecodeError, an internal error; such tags are skipped."""
    src = workdir / "camera.mkv"
    _mkv_with_pcm24(src, title="Camera mic")
    data = src.read_bytes()
    at = data.index(b"Camera mic")
    (workdir / "bad.mkv").write_bytes(data[:at] + b"Camera \xb2ic" + data[at + 10:])
    out = media.write_video(media.iter_frames(src), workdir / "out.mp4", fps=24,
                            audio_from=workdir / "bad.mkv")
    assert np.array_equal(_samples(out), _samples(src))


def test_video_tracks_after_the_first_are_left_out_with_a_warning(workdir: Path) -> None:
    """A 360 camera's second lens, or a cover picture: only the first video track is
    watermarked, so the others are not written (an unmarked picture in a marked file)."""
    from provenant.errors import ProvenanceWarning
    from watermark import embed_file

    src = workdir / "two-lenses.mkv"
    with av.open(str(src), "w") as out:
        lenses = [out.add_stream("libx264", rate=24) for _ in range(2)]
        for lens in lenses:
            lens.width, lens.height, lens.pix_fmt = 96, 64, "yuv420p"
        for frame in render_clip(24, 64, 96):
            for lens in lenses:
                out.mux(lens.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        for lens in lenses:
            out.mux(lens.encode())
    with pytest.warns(ProvenanceWarning, match=r"video track 1 \(h264\) is not kept"):
        marked = embed_file(src, workdir / "marked.mp4", "0123456789abcdef")
    with av.open(str(marked)) as container:
        assert len(container.streams.video) == 1


def test_a_drones_telemetry_left_out_is_said(workdir: Path) -> None:
    """KLV (MISB) metadata beside a drone's pictures: where it flew and looked, which a
    re-encode does not carry; the copy goes without it, with a notice."""
    from fractions import Fraction

    from provenant.errors import ProvenanceWarning
    from watermark import embed_file

    src = workdir / "drone.ts"
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        klv = out.add_data_stream(codec_name="klv")
        for i, frame in enumerate(render_clip(24, 64, 96)):
            out.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            packet = av.Packet(bytes.fromhex("060e2b34020b01010e01030101000000") + b"\x00")
            packet.pts = packet.dts = i * 3750
            packet.time_base, packet.stream = Fraction(1, 90000), klv
            out.mux(packet)
        out.mux(video.encode())
    with pytest.warns(ProvenanceWarning, match=r"data track 1 \(KLV metadata\) is not kept"):
        embed_file(src, workdir / "marked.mp4", "0123456789abcdef")
