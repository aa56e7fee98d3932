"""Colour tags survive a re-encode: full-range and HDR sources keep their look."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from provenant.colour import ColourTags, frame_colour, output_tags
from provenant.errors import MediaError
from provenant.media import iter_frames, iter_timed_frames, iter_yuv420, probe, write_video
from watermark import detect_file, embed_file

BT709 = ColourTags(1, 1, 1, 1)
FULL_601 = ColourTags(6, 2, 6, 6)
HLG_10BIT = ColourTags(9, 1, 9, 18, 10)


def _bars(h: int, w: int, i: int, noise: float = 4.0) -> np.ndarray:
    """Saturated colour bars over a grey ramp, with a little noise (frame ``i``)."""
    levels = np.array([[235, 235, 235], [235, 235, 16], [16, 235, 235], [16, 235, 16],
                       [235, 16, 235], [235, 16, 16], [16, 16, 235], [16, 16, 16]], float)
    img = np.broadcast_to(levels[np.minimum(np.arange(w) * 8 // w, 7)][None], (h, w, 3)).copy()
    img[h // 2:] = np.linspace(0, 255, w)[None, :, None]
    img += np.random.default_rng(i).normal(0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _tagged_clip(path: Path, colour: ColourTags, codec: str = "libx264", frames: int = 6,
                 h: int = 96, w: int = 128) -> Path:
    """A clip whose frames are converted and tagged as ``colour`` says (as a camera would)."""
    pix = "yuv420p10le" if colour.bit_depth == 10 else "yuv420p"
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=24)
        s.width, s.height, s.pix_fmt = w, h, pix
        ctx = s.codec_context
        ctx.colorspace, ctx.color_range = colour.matrix, colour.range
        ctx.color_primaries, ctx.color_trc = colour.primaries, colour.transfer
        s.options = {"x265-params": "log-level=error"} if codec == "libx265" else {"crf": "12"}
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(_bars(h, w, i), format="rgb24").reformat(
                format=pix, dst_colorspace=5 if colour.matrix == 6 else colour.matrix,
                dst_color_range=colour.range)
            f.colorspace, f.color_range = colour.matrix, colour.range
            f.color_primaries, f.color_trc = colour.primaries, colour.transfer
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def _displayed(path: Path, n: int = 4) -> np.ndarray:
    """RGB as a player shows it: converted with the matrix and range the stream declares
    (untagged: BT.601 limited, what players assume at this size)."""
    out = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(c.streams.video[0])):
            matrix = {2: 5, 6: 5}.get(int(f.colorspace), int(f.colorspace))
            out.append(f.reformat(format="rgb24", src_colorspace=matrix,
                                  src_color_range=int(f.color_range) or 1).to_ndarray())
            if i + 1 == n:
                break
    return np.stack(out).astype(float)


def _tags(path: Path) -> ColourTags:
    with av.open(str(path)) as c:
        f = next(c.decode(c.streams.video[0]))
        return frame_colour(f)


def test_probe_reads_the_tags_and_describes_them(tmp_path: Path) -> None:
    full = probe(_tagged_clip(tmp_path / "full.mp4", FULL_601)).colour
    assert (full.matrix, full.range, full.primaries, full.transfer) == (6, 2, 6, 6)
    assert full.full_range and not full.hdr
    assert full.describe() == "BT.601, BT.601 (525-line) primaries, full range, 8-bit"
    hlg = probe(_tagged_clip(tmp_path / "hlg.mov", HLG_10BIT, "libx265")).colour
    assert hlg.hdr and hlg.bit_depth == 10
    assert hlg.describe() == "BT.2020, HLG (HDR) transfer, limited range, 10-bit"
    assert ColourTags().describe() == "colour unspecified, 8-bit"


def test_output_tags_keep_yuv_and_define_rgb() -> None:
    assert output_tags(FULL_601, "yuv420p") == ColourTags(6, 2, 6, 6)
    # RGB frames are converted at limited range with the source's matrix, BT.709 by default
    assert output_tags(FULL_601, "rgb24") == ColourTags(6, 1, 6, 6)
    assert output_tags(None, "rgb24") == BT709
    assert output_tags(ColourTags(8, 2), "rgb24") == BT709  # YCgCo: no swscale matrix


@pytest.mark.parametrize("colour", [FULL_601, BT709], ids=["full-range-601", "bt709"])
def test_watermark_embed_keeps_the_look(tmp_path: Path, colour: ColourTags) -> None:
    src = _tagged_clip(tmp_path / "src.mp4", colour)
    out = embed_file(src, tmp_path / "marked.mp4", "0123456789abcdef", progress=False)
    tags = _tags(out)
    assert (tags.matrix, tags.range, tags.primaries, tags.transfer) == \
        (colour.matrix, colour.range, colour.primaries, colour.transfer)
    before, after = _displayed(src), _displayed(out)
    # without the tags a full-range clip played 12 grey levels off on average (white 235 -> 254)
    assert np.abs(after - before).mean() < 4.0  # measured 2.5-2.8 (mark + codec)
    assert abs((after - before).mean()) < 0.5


def test_hdr_tags_are_carried_into_an_8_bit_copy(tmp_path: Path) -> None:
    src = _tagged_clip(tmp_path / "hlg.mov", HLG_10BIT, "libx265")
    out = write_video(iter_yuv420(src), tmp_path / "copy.mp4", 24, pixel_format="yuv420p",
                      colour=probe(src).colour)
    assert _tags(out) == ColourTags(9, 1, 9, 18, 8)


def test_rgb_frames_are_written_bt709_and_tagged(tmp_path: Path) -> None:
    frames = [_bars(96, 128, i, noise=0.0) for i in range(4)]
    out = write_video(frames, tmp_path / "rgb.mp4", 24, crf=8)
    assert _tags(out) == BT709
    shown = []
    with av.open(str(out)) as c:  # as a player honouring the tags shows it
        for f in c.decode(c.streams.video[0]):
            shown.append(f.reformat(format="rgb24", src_colorspace=1, src_color_range=1)
                         .to_ndarray())
    # measured 1.1; read with the other matrix (the untagged BT.601 writes before) 5.0
    assert np.abs(np.stack(shown).astype(float) - np.stack(frames)).mean() < 2.5
    # and our own readers, which honour the tags too, read back the same colours
    read = np.stack(list(iter_frames(out))).astype(float)
    assert np.abs(read - np.stack(shown)).mean() < 0.5


def _gradient_planes(h: int, w: int, frames: int) -> list[np.ndarray]:
    """10-bit planar 4:2:0 frames: a smooth, slowly moving luma gradient over 300 codes (a
    sky, where 8 bits would show bands) above a textured half (where a watermark can sit)."""
    yy, xx = np.mgrid[0:h, 0:w]
    texture = np.random.default_rng(0).normal(0, 20, (h, w))
    planes = []
    for i in range(frames):
        y = 64 + (xx + 2 * i) / w * 300 + yy / h * 100
        y[h // 2:] += 40 * np.sin((xx[h // 2:] + 3 * i) / 7.0) + texture[h // 2:]
        chroma = np.full((h // 2, w), 512, np.uint16)  # U then V, each (h/2)x(w/2)
        planes.append(np.concatenate([np.clip(np.rint(y), 64, 940).astype(np.uint16), chroma]))
    return planes


def test_10_bit_planes_are_written_and_read_at_10_bits(tmp_path: Path) -> None:
    planes = _gradient_planes(96, 128, 4)
    out = write_video(planes, tmp_path / "deep.mp4", 24, crf=4, codec="libx265",
                      pixel_format="yuv420p10le", colour=HLG_10BIT)
    assert _tags(out) == HLG_10BIT
    with av.open(str(out)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.name, ctx.profile, ctx.codec_tag) == ("hevc", "Main 10", "hvc1")
    back = [f for f, _ in iter_timed_frames(out, "yuv420p10le")]
    assert back[0].dtype == np.uint16 and back[0].shape == planes[0].shape
    err = np.abs(np.stack(back).astype(float) - np.stack(planes)).mean()
    assert err < 1.0  # in 10-bit codes; rounding to 8 bits alone costs about 1
    assert len(np.unique(back[0][:48] % 4)) == 4  # codes between the 8-bit ones survive
    with pytest.raises(MediaError, match="dtype"):
        write_video([p.astype(np.uint8) for p in planes], tmp_path / "bad.mp4", 24,
                    pixel_format="yuv420p10le")


def test_watermark_embed_keeps_a_10_bit_source_at_10_bits(tmp_path: Path) -> None:
    h, w = 144, 256
    src = write_video(_gradient_planes(h, w, 12), tmp_path / "hlg.mov", 24, crf=8,
                      codec="libx265", pixel_format="yuv420p10le", colour=HLG_10BIT)
    out = embed_file(src, tmp_path / "marked.mp4", "0123456789abcdef", progress=False)
    assert probe(out).colour == HLG_10BIT
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.profile == "Main 10"
    before = [f for f, _ in iter_timed_frames(src, "yuv420p10le")]
    after = [f for f, _ in iter_timed_frames(out, "yuv420p10le")]
    sky = np.s_[4:h // 2 - 4, 8:w - 8]  # the smooth half, where the mask leaves no mark
    levels = [len(np.unique(f[sky][10])) for f in after]
    # measured: 215 of the source's 239 levels, and 0.61 codes off; written at 8 bits
    # (before) it kept 67-70 levels, 1.34 codes off
    assert min(levels) > 0.8 * min(len(np.unique(f[sky][10])) for f in before)
    err = np.mean([np.abs(a[sky].astype(float) - b[sky]).mean() for a, b in zip(after, before)])
    assert err < 1.0
    result = detect_file(out)
    assert result.detected and result.payload == "0123456789abcdef"


MASTERING = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)"


def test_hdr10_metadata_is_read_and_carried_into_the_marked_copy(tmp_path: Path) -> None:
    """An HDR10 clip's mastering display (here P3 primaries, 1000 cd/m²) and light levels
    tell a display how to tone-map it; the marked copy used to lose them."""
    src = tmp_path / "hdr10.mp4"
    h, w = 144, 256
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx265", rate=24)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p10le"
        ctx = s.codec_context
        ctx.colorspace, ctx.color_range, ctx.color_primaries, ctx.color_trc = 9, 1, 9, 16
        s.options = {"crf": "12", "x265-params": f"log-level=error:hdr10=1:master-display="
                                                 f"{MASTERING}:max-cll=1000,400"}
        for plane in _gradient_planes(h, w, 8):
            for p in s.encode(av.VideoFrame.from_ndarray(plane, format="yuv420p10le")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    colour = probe(src).colour
    assert (colour.mastering_display, colour.light_level) == (MASTERING, "1000,400")
    assert colour.describe() == ("BT.2020, PQ (HDR) transfer, limited range, 10-bit, "
                                 "HDR10 metadata")
    out = embed_file(src, tmp_path / "marked.mp4", "0123456789abcdef", progress=False)
    assert probe(out).colour == colour
    assert probe(write_video(iter_yuv420(src), tmp_path / "8bit.mp4", 24, codec="libx265",
                             pixel_format="yuv420p", colour=colour)).colour.light_level == \
        "1000,400"


def _bits(fields: list[tuple[int, int]]) -> bytes:
    """``(width, value)`` fields written most significant bit first, padded to a byte."""
    text = "".join(format(value, f"0{width}b") for width, value in fields)
    text += "0" * (-len(text) % 8)
    return bytes(int(text[i:i + 8], 2) for i in range(0, len(text), 8))


def _hdr10_plus_sei() -> bytes:
    """An HEVC prefix SEI with one window of SMPTE ST 2094-40 (HDR10+) metadata, as an
    ITU-T T.35 message (country 0xB5, provider 0x003C, application 4, version 1)."""
    from provenant.captions import _escape, _sei_size

    payload = bytes([0xB5, 0x00, 0x3C, 0x00, 0x01, 0x04]) + _bits([
        (8, 1), (2, 1), (27, 4_000_000), (1, 0),  # 1 window, target display 400 cd/m²
        (17, 10_000), (17, 10_000), (17, 10_000), (17, 5_000),  # maxscl, average maxrgb
        (4, 3), (7, 1), (17, 100), (7, 50), (17, 2_000), (7, 99), (17, 9_000),  # percentiles
        (10, 0), (1, 0), (1, 1), (12, 100), (12, 200), (4, 2), (10, 300), (10, 600),  # curve
        (1, 0)])
    return (b"\x00\x00\x00\x01" + bytes([39 << 1, 0x01])
            + _escape(bytes([4]) + _sei_size(len(payload)) + payload + b"\x80"))


def test_hdr10_plus_metadata_is_named_as_what_the_copy_goes_without(tmp_path: Path) -> None:
    """HDR10+ (a Samsung phone's HDR video) tone-maps scene by scene; FFmpeg's encoders
    cannot write it, so the marked copy keeps the static metadata, and says so."""
    from provenant.captions import insert_before_picture
    from provenant.errors import ProvenanceWarning

    plain = write_video(_gradient_planes(144, 256, 8), tmp_path / "plain.ts", 24,
                        codec="libx265", pixel_format="yuv420p10le",
                        colour=ColourTags(9, 1, 9, 16, 10))
    src = tmp_path / "hdr10plus.ts"
    with av.open(str(plain)) as reader, av.open(str(src), "w") as out:
        stream = out.add_stream_from_template(reader.streams.video[0])
        for packet in reader.demux(reader.streams.video[0]):
            if packet.dts is None:
                continue
            marked = av.Packet(insert_before_picture(bytes(packet), _hdr10_plus_sei(), True))
            marked.pts, marked.dts, marked.time_base = packet.pts, packet.dts, packet.time_base
            marked.stream, marked.is_keyframe = stream, packet.is_keyframe
            out.mux(marked)
    colour = probe(src).colour
    assert colour.dynamic_metadata == "HDR10+" and colour.describe().endswith(
        "10-bit, HDR10+ metadata")
    assert probe(plain).colour.dynamic_metadata is None
    with pytest.warns(ProvenanceWarning, match=r"its HDR10\+ metadata .* is not carried"):
        out_path = embed_file(src, tmp_path / "marked.mp4", "0123456789abcdef",
                              progress=False)
    assert probe(out_path).colour.dynamic_metadata is None
