"""GIFs are read: an animated one as a video, a still one as an image. A GIF made from a
watermarked clip (a meme of an AI clip) still carries the watermark through its palette."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import provenant.provenance as prov
from provenant.manifest import read_manifest
from provenant.media import iter_frames, probe, read_image, write_video
from provenant.samples import render_clip
from provenant.store import ManifestStore

#: Four colours, so that the palette holds them exactly and frames read back unchanged.
_COLOURS = np.array([[250, 20, 20], [20, 200, 40], [30, 30, 220], [240, 240, 240]], np.uint8)


def _save_gif(frames: list[np.ndarray], path: Path, ms: int = 40) -> Path:
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=len(images) > 1, append_images=images[1:], duration=ms,
                   loop=0)
    return path


def _blocks(i: int, h: int = 64, w: int = 96) -> np.ndarray:
    index = (np.arange(h)[:, None] // 16 + np.arange(w)[None, :] // 16 + i) % 4
    return _COLOURS[index]


def test_an_animated_gif_is_a_video_and_a_still_one_an_image(workdir: Path) -> None:
    frames = [_blocks(i) for i in range(6)]
    anim = probe(_save_gif(frames, workdir / "a.gif"))
    assert (anim.kind, anim.mime, anim.frame_count, anim.fps) == ("video", "image/gif", 6, 25.0)
    assert (anim.width, anim.height) == (96, 64)
    read = list(iter_frames(anim.path))
    assert len(read) == 6 and all(np.array_equal(a, b) for a, b in zip(read, frames))
    still = probe(_save_gif(frames[:1], workdir / "s.gif"))
    assert (still.kind, still.frame_count) == ("image", 1)
    assert np.array_equal(read_image(still.path), frames[0])


@pytest.mark.parametrize("count", [1, 6])
def test_a_gif_is_signed_and_a_changed_pixel_is_tampering(workdir: Path, count: int) -> None:
    src = _save_gif([_blocks(i) for i in range(count)], workdir / "src.gif")
    signed = prov.sign(src, workdir / "signed.gif", store=ManifestStore(workdir / "s.db"))
    ev = read_manifest(signed.path)
    assert ev.present and ev.state == "Valid"
    if count > 1:  # the manifest sits beside the pictures, which decode as before
        assert np.array_equal(np.stack(list(iter_frames(signed.path))),
                              np.stack(list(iter_frames(src))))
    else:
        assert np.array_equal(read_image(signed.path), read_image(src))
    data = bytearray(signed.path.read_bytes())
    data[len(data) - 8] ^= 0x01  # inside the last frame's compressed pixels
    (workdir / "t.gif").write_bytes(bytes(data))
    ev = read_manifest(workdir / "t.gif")
    assert ev.state == "Invalid"
    assert "assertion.dataHash.mismatch" in [f.code for f in ev.failures]  # not unreadable


def test_a_gif_of_a_stamped_clip_leads_back_to_its_manifest(workdir: Path) -> None:
    """A meme: a watermarked, signed clip turned into a GIF (Pillow's palette, dithered), its
    credentials gone. The watermark survives and resolves through the store."""
    store = ManifestStore(workdir / "s.db")
    raw = write_video(render_clip(24, 192, 256), workdir / "raw.mp4", fps=24)
    stamped = prov.stamp(raw, workdir / "ai.mp4", store=store)
    meme = _save_gif(list(iter_frames(stamped.path)), workdir / "meme.gif")
    report = prov.verify(meme, store=store)
    assert report.c2pa.present is False
    assert report.watermark.detected and report.watermark.p_value < 1e-20
    assert report.recovered["manifest_id"] == stamped.manifest_id
    assert report.verdict.label == "verified-ai-generated"
    again = prov.stamp(meme, workdir / "again.mp4", store=store)  # an animated GIF: a video
    assert probe(again.path).mime == "video/mp4" and read_manifest(again.path).state == "Valid"
    still = _save_gif([_blocks(0)], workdir / "still.gif")
    out = prov.stamp(still, workdir / "still.png", store=store)  # a still one: an image
    assert probe(out.path).mime == "image/png"
    assert prov.verify(out.path, store=store).watermark.detected
