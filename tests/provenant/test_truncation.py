"""A cut-off file is known by the sizes its container declares, and ``sign`` and ``stamp``
refuse it (they would vouch for a damaged copy); complete files, a live recording's
unknown-size WebM and a PNG with bytes after ``IEND`` are not mistaken for cut ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import provenant.provenance as prov
from provenant.errors import MediaError
from provenant.samples import render_clip
from provenant.store import ManifestStore
from provenant.truncation import truncation


def _webm(path: Path, frames: list[np.ndarray]) -> Path:
    import av

    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx-vp9", rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(stream.encode())
    return path


def _cut(path: Path, fraction: float, name: str) -> Path:
    data = path.read_bytes()
    out = path.with_name(name)
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return list(render_clip(12, 64, 96, seed=2))


def test_each_container_says_when_it_was_cut(workdir: Path, frames: list[np.ndarray]) -> None:
    webm = _webm(workdir / "a.webm", frames)
    assert truncation(webm, "video/webm") is None
    assert "Segment declares" in truncation(_cut(webm, 0.6, "c.webm"), "video/webm")
    live = bytearray(webm.read_bytes())  # a live recording: the Segment's size is unknown
    at = live.index(bytes.fromhex("18538067")) + 4
    width = 8 - live[at].bit_length() + 1
    live[at:at + width] = bytes([0x01 if width == 8 else (0xFF >> (width - 1))]) + b"\xff" * (width - 1)
    (workdir / "live.webm").write_bytes(bytes(live[: len(live) * 6 // 10]))
    assert truncation(workdir / "live.webm", "video/webm") is None
    images = [Image.fromarray(f) for f in frames]
    for suffix, mime in ((".png", "image/png"), (".webp", "image/webp")):
        anim = workdir / f"a{suffix}"
        images[0].save(anim, save_all=True, append_images=images[1:], duration=40)
        assert truncation(anim, mime) is None
        assert truncation(_cut(anim, 0.5, f"c{suffix}"), mime) is not None
    data = (workdir / "a.png").read_bytes()
    (workdir / "junk.png").write_bytes(data + b"appended by some app")
    assert truncation(workdir / "junk.png", "image/png") is None
    (workdir / "noend.png").write_bytes(data[:-12])  # every chunk whole, IEND gone
    assert truncation(workdir / "noend.png", "image/png") == "it ends before its IEND chunk"


def test_stamp_and_sign_refuse_cut_files(workdir: Path, frames: list[np.ndarray]) -> None:
    store = ManifestStore(workdir / "s.db")
    cut = _cut(_webm(workdir / "a.webm", frames), 0.6, "cut.webm")
    with pytest.raises(MediaError, match="truncated: its Segment") as info:
        prov.stamp(cut, workdir / "out.mp4", store=store)  # it stamped the frames that decoded
    assert info.value.exit_code == 2 and not (workdir / "out.mp4").exists()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(workdir / "a.png", save_all=True, append_images=images[1:], duration=40)
    cut = _cut(workdir / "a.png", 0.7, "cut.png")
    for run in (lambda: prov.stamp(cut, workdir / "out.mp4", store=store),
                lambda: prov.sign(cut, workdir / "out.png", store=store)):
        with pytest.raises(MediaError, match="truncated: its 'fdAT' chunk"):
            run()
    assert prov.stamp(workdir / "a.png", workdir / "out.mp4", store=store).manifest_id
