"""Animated PNGs (APNG) are read as videos: probed from their own chunks, decoded by PyAV
(also once signed, when the manifest chunk pushes ``acTL`` past FFmpeg's first look), and
watermarked or stamped as an MP4, as an animated GIF is."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

import provenant.provenance as prov
from provenant.imageheaders import png_animation
from provenant.manifest import read_manifest
from provenant.media import iter_frames, probe, read_image
from provenant.samples import render_clip
from provenant.store import ManifestStore


def _save_apng(frames: Iterable[np.ndarray], path: Path, ms: int = 40) -> Path:
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, format="PNG", save_all=True, append_images=images[1:], duration=ms,
                   loop=0)
    return path


def _chunks(path: Path) -> list[bytes]:
    data, i, kinds = path.read_bytes(), 8, []
    while i + 8 <= len(data):
        size = struct.unpack(">I", data[i:i + 4])[0]
        kinds.append(data[i + 4:i + 8])
        i += 12 + size
    return kinds


def test_an_apng_is_a_video_read_frame_for_frame(workdir: Path) -> None:
    frames = list(render_clip(6, 64, 96, seed=3))
    info = probe(_save_apng(frames, workdir / "a.png", ms=50))
    assert (info.kind, info.mime, info.frame_count) == ("video", "image/png", 6)
    assert (info.width, info.height, info.fps) == (96, 64, 20.0)
    assert abs(info.duration - 0.3) < 1e-9 and info.animation
    read = list(iter_frames(info.path))
    assert len(read) == 6 and all(np.array_equal(a, b) for a, b in zip(read, frames))
    assert len(frames) == 6
    still = Image.fromarray(frames[0])
    still.save(workdir / "s.png")
    assert png_animation(workdir / "s.png") is None
    assert probe(workdir / "s.png").kind == "image"


def test_a_signed_apng_stays_an_animation_and_is_read_in_full(workdir: Path) -> None:
    src = _save_apng(render_clip(8, 64, 96, seed=4), workdir / "src.png")
    signed = prov.sign(src, workdir / "signed.png", store=ManifestStore(workdir / "s.db"))
    kinds = _chunks(signed.path)
    assert kinds.index(b"caBX") < kinds.index(b"acTL")  # past FFmpeg's first 2 KiB
    assert read_manifest(signed.path).state == "Valid"
    assert np.array_equal(np.stack(list(iter_frames(signed.path))),
                          np.stack(list(iter_frames(src))))
    report = prov.verify(signed.path)
    assert report.watermark is not None and report.watermark.frames_used == 8


def test_an_apng_is_stamped_as_an_mp4_that_leads_back(workdir: Path) -> None:
    store = ManifestStore(workdir / "s.db")
    src = _save_apng(render_clip(24, 192, 256, seed=5), workdir / "ai.png")
    stamped = prov.stamp(src, workdir / "ai.mp4", store=store)
    assert probe(stamped.path).mime == "video/mp4" and probe(stamped.path).frame_count == 24
    report = prov.verify(stamped.path, store=store)
    assert report.watermark.detected and report.verdict.label == "verified-ai-generated"
    one = _save_apng(render_clip(1, 64, 96, seed=6), workdir / "one.png")
    assert probe(one).kind == "image" and read_image(one).shape == (64, 96, 3)
