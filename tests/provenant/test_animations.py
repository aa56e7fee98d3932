"""Animated PNGs (APNG), WebPs and AVIFs are read as videos, as animated GIFs are: probed
from their own chunks (an AVIF's sample table), decoded frame by frame (PyAV for APNG, also
once signed, when the manifest chunk pushes ``acTL`` past FFmpeg's first look; Pillow for
WebP, which FFmpeg cannot decode, and AVIF, which it reads as one picture), signed as they
are, and watermarked or stamped as an MP4 (or as an animation: ``test_animwrite``)."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import provenant.provenance as prov
from provenant.errors import MediaError
from provenant.imageheaders import animation
from provenant.manifest import read_manifest
from provenant.media import iter_frames, iter_timed_frames, poster_frame, probe, read_image
from provenant.samples import render_clip
from provenant.store import ManifestStore
from watermark import reader
from watermark.reader import sample_luma


def _save(frames: Iterable[np.ndarray], path: Path, ms: int = 40) -> Path:
    """An animation as ``path``'s suffix says (a WebP lossless, so frames read back exactly;
    an AVIF at its best quality, lossy all the same)."""
    images = [Image.fromarray(f) for f in frames]
    extra = {".webp": {"lossless": True}, ".avif": {"quality": 100}}.get(path.suffix, {})
    images[0].save(path, save_all=True, append_images=images[1:], duration=ms, loop=0, **extra)
    return path


def _same(a: np.ndarray, b: np.ndarray, suffix: str) -> bool:
    """Equal (an AVIF: within its coding loss)."""
    if suffix == ".avif":
        return a.shape == b.shape and np.abs(a.astype(int) - b).mean() < 3
    return np.array_equal(a, b)


def _frame(rgb: np.ndarray):  # -> av.VideoFrame
    import av

    return av.VideoFrame.from_ndarray(rgb, format="rgb24")


def _png_chunks(path: Path) -> list[bytes]:
    data, i, kinds = path.read_bytes(), 8, []
    while i + 8 <= len(data):
        size = struct.unpack(">I", data[i:i + 4])[0]
        kinds.append(data[i + 4:i + 8])
        i += 12 + size
    return kinds


@pytest.mark.parametrize("suffix", [".png", ".webp", ".avif"])
def test_an_animation_is_a_video_read_frame_for_frame(workdir: Path, suffix: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    frames = list(render_clip(6, 64, 96, seed=3))
    info = probe(_save(frames, workdir / f"a{suffix}", ms=50))
    assert (info.kind, info.mime, info.frame_count) == ("video", f"image/{suffix[1:]}", 6)
    assert (info.width, info.height, info.fps) == (96, 64, 20.0)
    assert abs(info.duration - 0.3) < 1e-9 and info.animation
    read = list(iter_frames(info.path))
    assert len(read) == 6 and all(_same(a, b, suffix) for a, b in zip(read, frames))
    assert [round(t, 3) for _, t in iter_timed_frames(info.path)] == [0, .05, .1, .15, .2, .25]
    assert _same(poster_frame(info.path), frames[3], suffix)  # the midpoint, sought
    assert [s.index for s in sample_luma(info.path, 6, 3, 1)] == [0, 2, 5]
    monkeypatch.setattr(reader, "SEQUENTIAL_MAX_FRAMES", 2)  # as a long one is: by seeking
    sought = list(sample_luma(info.path, 6, 3, 1))
    assert [s.index for s in sought if s.even] == [0, 2, 5]
    assert _same(sought[-1].luma, reader._luma(_frame(frames[5])), suffix)
    Image.fromarray(frames[0]).save(workdir / f"s{suffix}")
    assert animation(workdir / f"s{suffix}", f"image/{suffix[1:]}") is None
    assert probe(workdir / f"s{suffix}").kind == "image"


@pytest.mark.parametrize("suffix", [".png", ".webp", ".avif"])
def test_a_signed_animation_stays_one_and_is_read_in_full(workdir: Path, suffix: str) -> None:
    src = _save(render_clip(8, 64, 96, seed=4), workdir / f"src{suffix}")
    signed = prov.sign(src, workdir / f"signed{suffix}", store=ManifestStore(workdir / "s.db"))
    if suffix == ".png":
        kinds = _png_chunks(signed.path)
        assert kinds.index(b"caBX") < kinds.index(b"acTL")  # past FFmpeg's first 2 KiB
    assert read_manifest(signed.path).state == "Valid"
    assert np.array_equal(np.stack(list(iter_frames(signed.path))),
                          np.stack(list(iter_frames(src))))
    report = prov.verify(signed.path)
    assert report.watermark is not None and report.watermark.frames_used == 8


@pytest.mark.parametrize("suffix", [".png", ".webp", ".avif"])
def test_an_animation_is_stamped_as_an_mp4_that_leads_back(workdir: Path, suffix: str) -> None:
    store = ManifestStore(workdir / "s.db")
    src = _save(render_clip(24, 192, 256, seed=5), workdir / f"ai{suffix}")
    stamped = prov.stamp(src, workdir / "ai.mp4", store=store)
    assert probe(stamped.path).mime == "video/mp4" and probe(stamped.path).frame_count == 24
    report = prov.verify(stamped.path, store=store)
    assert report.watermark.detected and report.verdict.label == "verified-ai-generated"


def test_a_one_frame_apng_is_an_image_and_a_cut_webp_animation_an_error(workdir: Path) -> None:
    one = _save(render_clip(1, 64, 96, seed=6), workdir / "one.png")
    assert probe(one).kind == "image" and read_image(one).shape == (64, 96, 3)
    data = _save(render_clip(6, 64, 96, seed=7), workdir / "a.webp").read_bytes()
    cut = workdir / "cut.webp"
    cut.write_bytes(data[: len(data) // 2])  # frames 4-6 gone, one frame cut through
    with pytest.raises(MediaError, match="truncated or corrupt"):
        list(iter_frames(cut))
