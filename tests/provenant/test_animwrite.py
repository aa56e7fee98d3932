"""An animation marked or stamped into an animation stays one: an animated GIF, PNG, WebP
or AVIF with its frames' own durations, its transparency and its loop count, watermarked
and, when stamped, signed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import provenant.provenance as prov
from provenant import animwrite
from provenant.animwrite import (check_animation_size, iter_rgba_frames, loop_count,
                                 write_animation)
from provenant.cli import main
from provenant.errors import InputError, MediaLimitError
from provenant.manifest import read_manifest
from provenant.media import iter_timed_frames, probe
from provenant.samples import render_clip
from provenant.store import ManifestStore
from watermark import detect_file, embed_file

PAYLOAD = "0123456789abcdef"


def _durations(path: Path) -> list[int]:
    """Each frame's duration (ms), as the file's own timing gives them to every reader."""
    times = [t for _, t in iter_timed_frames(path)] + [probe(path).duration]
    return [round((b - a) * 1000) for a, b in zip(times, times[1:])]


@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp", ".avif"])
def test_frames_keep_their_own_durations_and_the_loop_count(workdir: Path, suffix: str) -> None:
    frames = list(render_clip(4, 64, 96, seed=1))
    times = [0.0, 0.1, 0.25, 0.3]  # 100, 150 and 50 ms, the last one frame period (1/10 s)
    out = write_animation(zip(frames, times), workdir / f"a{suffix}", fps=10.0, loop=3)
    assert _durations(out) == [100, 150, 50, 100]
    assert loop_count(out) == (0 if suffix == ".avif" else 3)  # Pillow's AVIF keeps no count
    info = probe(out)
    assert info.animation and info.frame_count == 4 and (info.width, info.height) == (96, 64)
    assert not list(workdir.glob(".a*"))  # no temporary file left beside it


def test_an_animation_too_large_to_hold_is_refused_before_any_work(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MediaLimitError, match=r"name the output \.mp4"):
        check_animation_size(3000, 1920, 1080, workdir / "big.gif")
    monkeypatch.setattr(animwrite, "MAX_ANIMATION_PIXELS", 2 * 64 * 96)
    frames = ((f, None) for f in render_clip(3, 64, 96, seed=2))  # a header that undercounted
    with pytest.raises(MediaLimitError, match="too many"):
        write_animation(frames, workdir / "b.gif", fps=10.0)
    assert not (workdir / "b.gif").exists() and not list(workdir.glob(".b*"))


@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp", ".avif"])
def test_a_marked_animation_stays_an_animation_of_its_kind(workdir: Path, suffix: str) -> None:
    images = [Image.fromarray(f) for f in render_clip(16, 192, 256, seed=3)]
    durations = [80] * 8 + [120] * 8  # a slow second half, as meme makers do
    src = workdir / f"meme{suffix}"
    extra = {".webp": {"quality": 90}, ".avif": {"quality": 90}}.get(suffix, {})
    images[0].save(src, save_all=True, append_images=images[1:], duration=durations, loop=2,
                   **extra)
    out = embed_file(src, workdir / f"marked{suffix}", PAYLOAD, progress=False)
    info = probe(out)
    assert info.mime == probe(src).mime and info.frame_count == 16
    assert _durations(out) == durations
    assert loop_count(out) == (0 if suffix == ".avif" else 2)
    result = detect_file(out)
    assert result.detected and result.payload == PAYLOAD


def test_a_gif_is_stamped_into_a_signed_gif_that_leads_back(workdir: Path, capsys) -> None:
    store = ManifestStore(workdir / "s.db")
    images = [Image.fromarray(f) for f in render_clip(16, 192, 256, seed=4)]
    src = workdir / "ai.gif"
    images[0].save(src, save_all=True, append_images=images[1:], duration=40, loop=0)
    stamped = prov.stamp(src, workdir / "ai_stamped.gif", store=store)
    assert probe(stamped.path).mime == "image/gif" and probe(stamped.path).frame_count == 16
    assert read_manifest(stamped.path).state == "Valid"
    report = prov.verify(stamped.path, store=store)
    assert report.watermark.detected and report.verdict.label == "verified-ai-generated"
    with pytest.raises(InputError, match="animated GIF, PNG, WebP or AVIF"):
        prov.stamp(src, workdir / "ai.jpg", store=store)
    # the CLI: an animation of another kind is fine, a still image's kind is not
    assert main(["watermark", "embed", str(src), "-o", str(workdir / "w.webp"),
                 "--payload", PAYLOAD]) == 0
    assert probe(workdir / "w.webp").animation
    assert main(["watermark", "embed", str(src), "-o", str(workdir / "w.jpg"),
                 "--payload", PAYLOAD]) != 0
    assert "animated GIF, PNG, WebP or AVIF" in capsys.readouterr().err
    assert not (workdir / "w.jpg").exists()


@pytest.mark.parametrize("suffix", [".gif", ".png", ".webp", ".avif"])
def test_a_marked_sticker_keeps_its_transparency(workdir: Path, suffix: str) -> None:
    """A sticker: content inside an ellipse, clear around it. Every frame's alpha comes back
    as it was, and the mark is found (a GIF's frames are given their own median-cut
    palettes: Pillow's palette for RGBA frames lost the mark)."""
    yy, xx = np.mgrid[:192, :256]
    alpha = ((((yy - 96) / 90) ** 2 + ((xx - 128) / 120) ** 2) < 1).astype(np.uint8) * 255
    images = [Image.fromarray(np.dstack([f, alpha])) for f in render_clip(8, 192, 256, seed=6)]
    src = workdir / f"sticker{suffix}"
    extra = {".webp": {"quality": 90}, ".avif": {"quality": 90}}.get(suffix, {})
    images[0].save(src, save_all=True, append_images=images[1:], duration=80, loop=0, **extra)
    out = embed_file(src, workdir / f"marked{suffix}", PAYLOAD, progress=False)
    frames = [f for f, _ in iter_rgba_frames(out)]
    assert len(frames) == 8 and all(np.array_equal(f[..., 3], alpha) for f in frames)
    result = detect_file(out)
    assert result.detected and result.payload == PAYLOAD


@pytest.mark.parametrize(("suffix", "longest"), [(".gif", 655.35), (".webp", 1000.0)])
def test_a_frame_longer_than_the_format_stores_is_cut_to_its_longest(workdir: Path, suffix: str,
                                                                     longest: float) -> None:
    """A GIF's delay is 16 bits of 1/100 s: a 1,200 s frame was an OverflowError (a WebP's
    a RuntimeError from libwebp); it is now shown as long as the format allows."""
    frames = list(render_clip(3, 64, 64, seed=7))
    out = write_animation(zip(frames, [0.0, 1200.0, 1200.1]), workdir / f"slow{suffix}", fps=10)
    assert _durations(out)[0] == round(longest * 1000)
