from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from provenant import imageheaders, media
from provenant.errors import InputError, MediaError, MediaLimitError, UnsupportedMediaError
from tests.conftest import encode_clip, make_clip, make_clip_with_audio
from tests.provenant.test_credential_only import DNG_HEAD


def test_probe_reports_the_written_facts(clip: Path) -> None:
    info = media.probe(clip)
    assert (info.kind, info.width, info.height, info.frame_count) == ("video", 128, 96, 12)
    assert info.fps == pytest.approx(24.0)
    assert info.mime == "video/mp4" and not info.has_audio


def test_iter_frames_yields_rgb_frames_in_order(clip: Path) -> None:
    frames = list(media.iter_frames(clip))
    assert len(frames) == 12
    assert frames[0].shape == (96, 128, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[-1])  # the scene moves


def test_sample_frames_spreads_indices_and_matches_sequential_decode(clip: Path) -> None:
    indices, frames = media.sample_frames(clip, 4)
    assert indices.tolist() == [0, 4, 7, 11]
    every = list(media.iter_frames(clip))
    for i, f in zip(indices, frames):
        assert np.array_equal(f, every[i])
    idx_all, _ = media.sample_frames(clip, 100)
    assert len(idx_all) == 12


def test_pyav_fallback_gives_the_same_frames(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    via_decord = list(media.iter_frames(clip))
    monkeypatch.setattr(media, "decord_reader", lambda info: None)
    via_pyav = list(media.iter_frames(clip))
    assert len(via_pyav) == len(via_decord)
    assert max(np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(via_pyav, via_decord)) < 2.0
    indices, frames = media.sample_frames(clip, 3)
    assert len(frames) == 3


def test_write_video_keeps_fps_and_copies_audio(workdir: Path) -> None:
    src = make_clip_with_audio(workdir / "a.mp4")
    out = media.write_video(media.iter_frames(src), workdir / "b.mp4", fps=24, crf=23, audio_from=src)
    info = media.probe(out)
    assert info.has_audio and info.fps == pytest.approx(24.0) and info.frame_count == 24
    with av.open(str(src)) as a, av.open(str(out)) as b:
        assert b.streams.audio[0].codec_context.name == a.streams.audio[0].codec_context.name
        pa = [bytes(p) for p in a.demux(a.streams.audio[0]) if p.size]
        pb = [bytes(p) for p in b.demux(b.streams.audio[0]) if p.size]
        assert pa == pb  # copied, not re-encoded


def test_write_video_copies_every_audio_track_after_the_video(workdir: Path) -> None:
    """A camera's second microphone (or a film's second language) was dropped: only the
    first audio track was copied. The video is the first track, as players expect."""
    src = make_clip_with_audio(workdir / "a.mp4", tracks=2)
    out = media.write_video(media.iter_frames(src), workdir / "b.mp4", fps=24, audio_from=src)
    with av.open(str(src)) as a, av.open(str(out)) as b:
        assert [s.type for s in b.streams] == ["video", "audio", "audio"]
        for ta, tb in zip(a.streams.audio, b.streams.audio):
            pa = [bytes(p) for p in a.demux(ta) if p.size]
            a.seek(0)
            pb = [bytes(p) for p in b.demux(tb) if p.size]
            b.seek(0)
            assert pa and pa == pb  # each track copied as it was


def test_write_video_keeps_the_sources_file_tags_not_its_muxers(workdir: Path) -> None:
    """A phone clip's creation time (what a photo library sorts by), title and location
    were dropped by a re-encode; ffmpeg keeps them, and so does this now."""
    tags = {"creation_time": "2026-11-30T10:11:12.000000Z", "title": "Holiday",
            "location": "+48.8584+002.2945/"}
    from provenant.samples import render_clip

    src = encode_clip(workdir / "a.mov", render_clip(4, 48, 64), fmt="mov", metadata=tags)
    out_path = media.write_video(media.iter_frames(src), workdir / "b.mp4", fps=24,
                                 metadata_from=src)
    with av.open(str(out_path)) as b:
        kept = dict(b.metadata)
    assert {k: kept.get(k) for k in tags} == tags
    assert kept["major_brand"] == "isom"  # the MP4's own, not the MOV's "qt  "
    plain = media.write_video(media.iter_frames(src), workdir / "c.mp4", fps=24)
    with av.open(str(plain)) as c:
        assert "title" not in c.metadata  # only when asked


def test_write_video_pads_odd_sizes_and_is_atomic(workdir: Path) -> None:
    frames = [np.full((33, 47, 3), 100, np.uint8)] * 3
    out = media.write_video(frames, workdir / "odd.mp4", fps=10)
    assert (media.probe(out).height, media.probe(out).width) == (34, 48)
    with pytest.raises(MediaError):
        media.write_video([], workdir / "empty.mp4", fps=10)
    assert sorted(p.name for p in workdir.iterdir()) == ["odd.mp4"]  # no leftovers


def test_write_video_refuses_a_missing_folder(workdir: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        media.write_video([np.zeros((8, 8, 3), np.uint8)], workdir / "no" / "x.mp4", fps=10)


def test_images_are_one_frame_media(png: Path, jpeg: Path, webp: Path) -> None:
    for path, mime in ((png, "image/png"), (jpeg, "image/jpeg"), (webp, "image/webp")):
        info = media.probe(path)
        assert (info.kind, info.mime, info.width, info.height, info.frame_count) == ("image", mime, 80, 64, 1)
        frames = list(media.iter_frames(path))
        assert len(frames) == 1 and frames[0].shape == (64, 80, 3)


@pytest.mark.parametrize(
    "limits, match",
    [
        (media.MediaLimits(max_file_bytes=100), "bytes"),
        (media.MediaLimits(max_pixels=128 * 96 - 1), "pixels"),
        (media.MediaLimits(max_frames=11), "frames"),
        (media.MediaLimits(max_duration_s=0.1), "lasts"),
    ],
)
def test_limits_refuse_files_beyond_them(clip: Path, limits: media.MediaLimits, match: str) -> None:
    with pytest.raises(MediaLimitError, match=match):
        list(media.iter_frames(clip, limits))


def test_limits_come_from_settings(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from provenant.config import get_settings

    monkeypatch.setenv("PROVENANT_MAX_FRAMES", "5")
    get_settings.cache_clear()
    with pytest.raises(MediaLimitError):
        media.probe(clip)


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def test_a_decompression_bomb_header_is_refused_before_decoding(workdir: Path) -> None:
    bomb = workdir / "bomb.png"
    bomb.write_bytes(_png_header_only(100_000, 100_000))
    with pytest.raises(MediaLimitError, match="pixels"):
        media.read_image(bomb)


def _webp_header(chunk: bytes, body: bytes) -> bytes:
    data = chunk + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(data)) + b"WEBP" + data


@pytest.mark.parametrize("lossless", [False, True])
def test_webp_sizes_come_from_the_header(workdir: Path, lossless: bool) -> None:
    image = np.random.default_rng(0).integers(0, 256, (37, 211, 3), dtype=np.uint8)
    path = media.write_image(image, workdir / "x.webp", lossless=lossless)
    assert media.probe(path).width == 211 and media.probe(path).height == 37
    assert imageheaders.webp_is_lossless(path) is lossless
    if lossless:
        assert np.array_equal(media.read_image(path), image)


def test_an_extended_webp_is_lossless_by_its_picture_chunk(workdir: Path) -> None:
    def chunk(fourcc: bytes, body: bytes) -> bytes:
        return fourcc + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)

    for picture, lossless in ((b"VP8L", True), (b"VP8 ", False)):
        data = (chunk(b"VP8X", bytes(10)) + chunk(b"EXIF", b"VP8L in metadata")
                + chunk(b"ALPH", bytes(3)) + chunk(picture, bytes(20)))
        path = workdir / "x.webp"
        path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(data)) + b"WEBP" + data)
        assert imageheaders.webp_is_lossless(path) is lossless


def test_webp_bomb_and_damaged_animation_headers_are_refused_before_decoding(
        workdir: Path) -> None:
    bomb = workdir / "bomb.webp"  # extended header: a 16384x16384 canvas
    bomb.write_bytes(_webp_header(b"VP8X", bytes([0, 0, 0, 0]) + (16383).to_bytes(3, "little") * 2))
    with pytest.raises(MediaLimitError, match="pixels"):
        media.read_image(bomb, media.MediaLimits(max_pixels=4096 * 4096))
    anim = workdir / "anim.webp"  # the animation flag (0x02), and no frame
    anim.write_bytes(_webp_header(b"VP8X", bytes([2, 0, 0, 0]) + (99).to_bytes(3, "little") * 2))
    with pytest.raises(MediaError, match="declares a WebP animation but holds 0"):
        media.probe(anim)
    frame = b"ANMF" + struct.pack("<I", 16) + bytes(12) + (40).to_bytes(3, "little") + bytes(1)
    anim.write_bytes(_webp_header(b"VP8X", bytes([2, 0, 0, 0])
                                  + (16383).to_bytes(3, "little") * 2) + frame * 2)
    with pytest.raises(MediaLimitError, match="16384x16384 frames"):  # before libwebp's canvas
        media.probe(anim)
    lost = workdir / "lost.webp"
    lost.write_bytes(_webp_header(b"VP8 ", b"\x00" * 4))
    with pytest.raises(MediaError, match="corrupt WebP"):
        media.probe(lost)


@pytest.mark.parametrize("suffix", [".png", ".webp"])
def test_read_image_exact_keeps_alpha_grey_and_16_bits(workdir: Path, suffix: str) -> None:
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (40, 60, 4), dtype=np.uint8)
    rgba[..., 3] = np.linspace(1, 255, 60).astype(np.uint8)  # no fully transparent pixel
    cases = [rgba, rgba[..., 0]]
    if suffix == ".png":
        cases.append(rng.integers(0, 65536, (40, 60, 3), dtype=np.uint16))
    for image in cases:
        path = media.write_image(image, workdir / f"x{suffix}", lossless=True)
        back = media.read_image_exact(path)
        if image.ndim == 2 and suffix == ".webp":  # WebP stores grey as RGB
            back = back[..., 0]
        assert back.dtype == image.dtype and np.array_equal(back, image)
        assert media.read_image(path).shape == (40, 60, 3)  # analysis reads 8-bit RGB


def test_write_image_refuses_what_the_format_would_lose(workdir: Path) -> None:
    rgba = np.zeros((40, 60, 4), np.uint8)
    with pytest.raises(InputError, match="transparency"):
        media.write_image(rgba, workdir / "x.jpg")
    assert not list(workdir.iterdir())
    with pytest.raises(InputError, match="shape"):
        media.write_image(np.zeros((40, 60, 2), np.uint8), workdir / "x.png")
    wide = np.full((40, 60, 3), 40000, np.uint16)
    assert abs(int(media.read_image(media.write_image(wide, workdir / "x.webp")).mean())
               - 40000 // 257) <= 1  # 16-bit samples are rounded to 8, not saturated


def test_outputs_get_the_umask_mode_not_a_private_one(workdir: Path, clip: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        image = media.write_image(np.zeros((40, 60, 3), np.uint8), workdir / "x.png")
        video = media.write_video(media.iter_frames(clip), workdir / "x.mp4", fps=10)
    finally:
        os.umask(mask)
    for path in (image, video):
        assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    "content, error",
    [
        (b"", MediaError),
        (b"GIF89a not really" * 10, MediaError),  # read as a GIF, and corrupt
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + b"\x00" * 40,
         MediaError),  # an AVIF with no picture: read as an image (not an MP4), and corrupt
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, MediaError),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 30, MediaError),
    ],
)
def test_bad_content_gives_a_clear_error(workdir: Path, content: bytes, error: type) -> None:
    path = workdir / "bad.bin"
    path.write_bytes(content)
    with pytest.raises(error):
        list(media.iter_frames(path))


def test_truncated_mp4_is_refused(clip: Path, workdir: Path) -> None:
    data = clip.read_bytes()
    for cut in (len(data) // 3, 64):
        bad = workdir / f"trunc{cut}.mp4"
        bad.write_bytes(data[:cut])
        with pytest.raises(MediaError):
            list(media.iter_frames(bad))


def test_a_video_stream_with_an_unknown_codec_is_a_media_error(clip: Path, workdir: Path) -> None:
    """A damaged sample entry leaves the stream without a decoder; probe used to fail with an
    AttributeError (an internal error) on it."""
    data = bytearray(clip.read_bytes())
    at = data.find(b"avc1", data.find(b"stsd"))  # the sample entry, not an ftyp brand
    data[at:at + 4] = b"zzzz"
    bad = workdir / "unknown.mp4"
    bad.write_bytes(bytes(data))
    with pytest.raises(MediaError, match="names no codec"):
        media.probe(bad)


def test_an_implausible_frame_rate_is_replaced_and_still_written(workdir: Path) -> None:
    """A header whose rate is far below one frame a minute (here 0.01 fps; a damaged file
    had 0.00009) made writing fail with ZeroDivisionError, an internal error."""
    path = workdir / "slow.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(1, 100))
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((96, 128, 3), 90 + 30 * i, np.uint8),
                                               format="rgb24")
            frame.pts, frame.time_base = i, Fraction(100)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    info = media.probe(path)
    assert info.fps == 25.0 and info.frame_count == 3
    copy = media.write_video(media.iter_timed_frames(path), workdir / "copy.mp4", info.fps)
    assert media.probe(copy).frame_count == 3
    with pytest.raises(InputError, match="fps"):
        media.write_video([np.zeros((96, 128, 3), np.uint8)], workdir / "bad.mp4", 1e-5)


@pytest.mark.parametrize("frames", [1, 2])
def test_hevc_clips_of_one_or_two_frames_are_written(workdir: Path, frames: int) -> None:
    """x265's B-frames on so short a clip made the MP4 muxer fail in some runs (8-bit, 2
    frames: 6 of 6 runs; 1 frame: some)."""
    for attempt in range(3):
        planes = [np.full((144, 128), 100 + 10 * i, np.uint8) for i in range(frames)]
        out = media.write_video(planes, workdir / f"short{attempt}.mp4", 30, codec="libx265",
                                pixel_format="yuv420p")
        assert media.probe(out).frame_count == frames


def test_a_video_with_no_decodable_frame_has_no_poster(clip: Path, workdir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(clip.read_bytes())
    at = data.find(b"mdat")
    size = int.from_bytes(data[at - 4:at], "big")
    data[at + 4:at - 4 + size] = bytes(size - 8)  # every coded sample zeroed
    blank = workdir / "blank.mp4"
    blank.write_bytes(bytes(data))
    # the fallback read finding nothing either (it raised IndexError on a damaged file)
    monkeypatch.setattr(media, "sample_frames", lambda *a, **k: (np.zeros(0, int), []))
    with pytest.raises(MediaError, match="no decodable video frames"):
        media.poster_frame(blank)


def test_a_png_still_reads_after_a_video_in_a_fresh_process(clip: Path, png: Path) -> None:
    """Loaded after decord, OpenCV's PNG codec bound to decord's zlib and failed on every PNG
    ("bad parameters to zlib"): a script (or the API) that read a video and then a photo got
    "truncated or corrupt" for the photo. Import order only shows in a fresh interpreter."""
    import subprocess
    import sys

    code = ("import sys; from provenant.media import iter_frames, read_image; "
            "list(iter_frames(sys.argv[1])); print(read_image(sys.argv[2]).shape)")
    run = subprocess.run([sys.executable, "-c", code, str(clip), str(png)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-500:]
    assert run.stdout.strip().startswith("(")


def test_truncated_faststart_mp4_fails_cleanly_or_yields_fewer_frames(workdir: Path) -> None:
    """moov first, then a cut inside mdat: the header is fine, the pictures are not all there."""
    src = workdir / "fs.mp4"
    with av.open(str(src), "w", options={"movflags": "faststart"}) as out:
        s = out.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for f in media.iter_frames(make_clip(workdir / "c.mp4", frames=24, h=48, w=64)):
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    data = src.read_bytes()
    bad = workdir / "fs_cut.mp4"
    bad.write_bytes(data[: int(len(data) * 0.6)])
    try:
        frames = list(media.iter_frames(bad))
    except MediaError:
        return
    assert len(frames) < 24


def test_missing_path_and_folder(workdir: Path) -> None:
    with pytest.raises(MediaError, match="does not exist"):
        media.probe(workdir / "nope.mp4")
    with pytest.raises(MediaError, match="not a regular file"):
        media.probe(workdir)


def test_poster_frame_comes_from_the_middle(clip: Path, png: Path) -> None:
    every = list(media.iter_frames(clip))
    poster = media.poster_frame(clip)
    assert poster.shape == every[0].shape
    diffs = [np.abs(poster.astype(int) - f.astype(int)).mean() for f in every]
    assert 0 < int(np.argmin(diffs)) < len(every) - 1
    assert np.array_equal(media.poster_frame(png), media.read_image(png))


def test_a_decode_failure_mid_stream_is_a_media_error(clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def __len__(self) -> int:
            return 12

        def __getitem__(self, i: int):
            raise RuntimeError("DECORDError: corrupt packet\nstack")

    monkeypatch.setattr(media, "decord_reader", lambda info: Broken())
    with pytest.raises(MediaError, match="past frame 0"):
        list(media.iter_frames(clip))


def test_iter_yuv420_yields_planar_frames_that_write_back_unconverted(clip: Path, workdir: Path) -> None:
    planes = list(media.iter_yuv420(clip))
    assert len(planes) == 12 and planes[0].shape == (96 * 3 // 2, 128)
    assert planes[0].dtype == np.uint8
    out = media.write_video(iter(planes), workdir / "yuv.mp4", 24, crf=0, pixel_format="yuv420p")
    again = list(media.iter_yuv420(out))
    assert len(again) == 12
    # CRF 0 is lossless in YUV: the planes survive exactly (no colour conversion on the way).
    assert np.array_equal(again[5], planes[5])
    rgb = list(media.iter_frames(out))
    assert rgb[0].shape == (96, 128, 3)


def test_iter_yuv420_refuses_odd_sides_and_images(workdir: Path, png: Path) -> None:
    odd = workdir / "odd.mp4"
    with av.open(str(odd), "w") as out:  # 4:4:4 allows odd sides; 4:2:0 planes cannot hold them
        s = out.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 65, 49, "yuv444p"
        for _ in range(2):
            for p in s.encode(av.VideoFrame.from_ndarray(np.zeros((49, 65, 3), np.uint8),
                                                          format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    with pytest.raises(MediaError, match="even sides"):
        list(media.iter_yuv420(odd))
    assert len(list(media.iter_frames(odd))) == 2  # the RGB reader still takes it
    with pytest.raises(UnsupportedMediaError):
        list(media.iter_yuv420(png))


def test_write_video_refuses_bad_yuv_frames_and_formats(workdir: Path) -> None:
    with pytest.raises(MediaError, match="yuv420p frame"):
        media.write_video(iter([np.zeros((95, 128), np.uint8)]), workdir / "b.mp4", 24,
                          pixel_format="yuv420p")
    assert not (workdir / "b.mp4").exists()
    with pytest.raises(ValueError, match="pixel_format"):
        media.write_video(iter([np.zeros((96, 128, 3), np.uint8)]), workdir / "c.mp4", 24,
                          pixel_format="nv12")  # type: ignore[arg-type]


def test_iter_keyed_frames_marks_the_codec_key_frames(clip: Path, png: Path) -> None:
    keyed = list(media.iter_keyed_frames(clip))
    plain = list(media.iter_frames(clip))
    assert len(keyed) == len(plain) and keyed[0][1] is True
    assert all(np.array_equal(a, b) for (a, _), b in zip(keyed, plain))
    assert sum(key for _, key in keyed) < len(keyed)  # inter-coded frames are not key frames
    with pytest.raises(UnsupportedMediaError, match="image"):
        list(media.iter_keyed_frames(png))


@pytest.mark.parametrize("head, name, hint", [
    (DNG_HEAD, "DNG", "develop it to TIFF, PNG or JPEG"),
    (b"\xff\x0a\xfa\x7f", "JPEG XL", "PNG, JPEG, WebP, HEIC or AVIF"),
    (b"BM" + b"\x00" * 12 + b"\x28\x00\x00\x00", "BMP", "PNG, JPEG, WebP, HEIC or AVIF"),
    (b"8BPS\x00\x01", "Photoshop", "PNG, JPEG, WebP, HEIC or AVIF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000", "PNG, JPEG, WebP, HEIC or AVIF"),
    (b"\x76\x2f\x31\x01", "OpenEXR", "PNG, JPEG, WebP, HEIC or AVIF"),
])
def test_known_unsupported_formats_are_named(workdir: Path, head: bytes, name: str,
                                             hint: str) -> None:
    path = workdir / "x.bin"
    path.write_bytes(head + b"\x00" * 64)
    with pytest.raises(UnsupportedMediaError, match=name) as info:
        media.probe(path)
    assert hint in (info.value.hint or "")


def test_mp4_outputs_put_their_index_first(workdir: Path) -> None:
    """``moov`` before ``mdat`` (faststart): a player starts before the file has arrived."""
    from provenant.boxes import top_level_boxes

    from provenant.samples import render_clip

    out = media.write_video(render_clip(4, 64, 64), workdir / "fast.mp4", fps=24)
    kinds = [box.kind for box in top_level_boxes(out)[0]]
    assert kinds.index(b"moov") < kinds.index(b"mdat")


def test_photos_have_their_own_pixel_limit(workdir: Path) -> None:
    """A 48-50 MP phone photo is more than any video frame: the image limit is separate."""
    big = media.write_image(np.zeros((3024, 4032, 3), np.uint8), workdir / "phone.jpg")
    video_sized = media.MediaLimits(max_pixels=3840 * 2160)  # a 4K frame is 8.3 MP
    assert media.probe(big, video_sized).width == 4032  # a 12 MP photo passes
    with pytest.raises(MediaLimitError, match="for an image"):
        media.probe(big, media.MediaLimits(max_image_pixels=4032 * 3024 - 1))
    assert media.MediaLimits().max_image_pixels == 100_000_000


@pytest.mark.parametrize("size", [(40, 64), (64, 48), (36, 22)])
def test_hevc_refuses_pictures_it_cannot_take(tmp_path: Path, size: tuple[int, int]) -> None:
    """libx265 (PyAV's build) corrupts its memory on pictures 36-48 pixels wide, and the
    process dies later: such sizes get an error before the encoder sees them."""
    from watermark.attacks import Clip, codec_roundtrip

    w, h = size
    frames = [np.full((h, w, 3), 90, np.uint8)] * 3
    with pytest.raises(MediaError, match="too small for HEVC"):
        media.write_video(frames, tmp_path / "small.mp4", 24, codec="libx265")
    assert not list(tmp_path.iterdir())  # nothing half-written
    with pytest.raises(MediaError, match="too small for HEVC"):
        codec_roundtrip(Clip(frames, 24.0), "libx265", 28)
    small = media.write_video(frames, tmp_path / "small_h264.mp4", 24)  # H.264 takes them
    assert media.probe(small).width == w



@pytest.mark.parametrize("width", [72, 48])
def test_frames_of_widths_decord_pads_are_read_as_pyav_decodes_them(tmp_path: Path,
                                                                     width: int) -> None:
    """decord pads the rows of some widths and shapes the frame by the padded row
    ((H, 72, 4) for a 72-pixel width): every reader gives (H, W, 3), equal to PyAV's."""
    from provenant.demux import decord_rgb
    from watermark.testing import procedural_clip

    clip = encode_clip(tmp_path / "narrow.mp4", procedural_clip(64, width, 6, seed=1),
                       pix_fmt="yuv444p", options={"crf": "0"})
    with av.open(str(clip)) as container:
        reference = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    frames = list(media.iter_frames(clip))
    assert [f.shape for f in frames] == [(64, width, 3)] * 6
    assert all(np.array_equal(a, b) for a, b in zip(frames, reference))
    indices, sampled = media.sample_frames(clip, 3)
    assert all(np.array_equal(sampled[k], reference[i]) for k, i in enumerate(indices))
    padded = np.zeros((2, width, 4), np.uint8)  # what decord gives: rows of 4·W bytes
    padded.reshape(2, -1)[:, : 3 * width] = np.arange(3 * width) % 251
    assert decord_rgb(padded).shape == (2, width, 3)
    assert decord_rgb(padded)[1, -1, 2] == (3 * width - 1) % 251
