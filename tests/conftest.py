"""Shared fixtures. Test media is made here, by the tests themselves."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from provenant.config import get_settings
from provenant.media import write_image, write_video
from provenant.samples import render_clip


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("provenant-data")


@pytest.fixture(autouse=True)
def _isolated_settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """Every test uses a private data dir (credentials, store) and default limits."""
    for name in ("TRUST_ANCHORS", "SIGN_CERT", "SIGN_KEY", "SIGN_KEY_PASSWORD", "TSA_URL",
                 "MAX_FILE_BYTES", "MAX_PIXELS", "MAX_FRAMES", "MAX_DURATION_S",
                 "WATERMARK_KEY", "WATERMARK_RETIRED_KEYS"):
        monkeypatch.delenv(f"PROVENANT_{name}", raising=False)
    monkeypatch.setenv("PROVENANT_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def make_clip(path: Path, frames: int = 12, h: int = 96, w: int = 128, fps: float = 24,
              seed: int = 0) -> Path:
    return write_video(render_clip(frames, h, w, seed=seed), path, fps=fps)


def make_clip_with_audio(path: Path, frames: int = 24, fps: int = 24, tracks: int = 1,
                         size: tuple[int, int] = (64, 48), layout: str = "mono",
                         options: dict[str, str] | None = None) -> Path:
    """A short MP4 (``size`` is width, height) with ``tracks`` AAC tracks, each a sine tone
    of its own pitch on every channel of ``layout``; ``options``: the muxer's."""
    width, height = size
    with av.open(str(path), "w", options=options) as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        audio = [out.add_stream("aac", rate=48000) for _ in range(tracks)]
        for a in audio:
            a.layout = layout
        for frame in render_clip(frames, height, width):
            for p in v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
        t = np.arange(48000 * frames // fps) / 48000
        for k, a in enumerate(audio):
            tone = (0.2 * np.sin(2 * np.pi * 440 * (k + 1) * t)).astype(np.float32)[None, :]
            tone = np.repeat(tone, a.layout.nb_channels, axis=0)
            for i in range(0, tone.shape[1], 1024):
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, i:i + 1024]),
                                                format="fltp", layout=layout)
                af.sample_rate, af.pts, af.time_base = 48000, i, Fraction(1, 48000)
                for p in a.encode(af):
                    out.mux(p)
            for p in a.encode():
                out.mux(p)
    return path


def encode_clip(path: Path, frames: Iterable[np.ndarray], codec: str = "libx264",
                fmt: str | None = None, rate: int | Fraction = 24, pix_fmt: str = "yuv420p",
                options: dict[str, str] | None = None, flags: int = 0,
                metadata: dict[str, str] | None = None,
                muxer_options: dict[str, str] | None = None) -> Path:
    """RGB ``frames`` encoded by PyAV's ``codec`` into ``path`` (container ``fmt``, or as its
    suffix says), with encoder ``options`` and codec ``flags``; file-level ``metadata``, and
    ``muxer_options``."""
    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), "w", format=fmt, options=muxer_options) as out:
        out.metadata.update(metadata or {})
        stream = out.add_stream(codec, rate=rate)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = pix_fmt
        stream.codec_context.flags |= flags
        stream.options = options or {}
        for frame in (first, *frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return path


def make_renditions(path: Path, frames: list[np.ndarray], segment: int, fps: int = 24,
                    crf: int = 18) -> Path:
    """An MPEG transport stream of ``frames`` that switches between full and half size every
    ``segment`` frames (full first), as an adaptive-bitrate (HLS) capture does: one H.264
    stream, each rendition's segment coded on its own (its parameter sets in band)."""
    import cv2

    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        packets = []
        for start in range(0, len(frames), segment):
            half = (start // segment) % 2 == 1
            w, h = (width // 2, height // 2) if half else (width, height)
            ctx = av.CodecContext.create("libx264", "w")
            ctx.width, ctx.height, ctx.pix_fmt = w, h, "yuv420p"
            ctx.time_base, ctx.framerate = Fraction(1, fps), Fraction(fps)
            ctx.options = {"crf": str(crf)}
            for i, frame in enumerate(frames[start:start + segment]):
                if half:
                    frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
                picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                picture.pts, picture.time_base = start + i, Fraction(1, fps)
                packets += ctx.encode(picture)
            packets += ctx.encode(None)
        for packet in packets:
            packet.stream = stream
            out.mux(packet)
    return path


def make_rotated_clip(path: Path, degrees: int, frames: int = 8, h: int = 96, w: int = 128,
                      seed: int = 0) -> tuple[Path, list[np.ndarray]]:
    """An MP4 of ``h×w`` coded frames that asks players to turn them ``degrees``
    anticlockwise (a display matrix, as phones write), and the coded RGB frames."""
    if not hasattr(av.video.stream.VideoStream, "set_display_rotation"):
        pytest.skip("this PyAV cannot write a display matrix")
    coded = list(render_clip(frames, h, w, seed=seed))
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=24)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"crf": "12"}
        v.set_display_rotation(degrees)
        for frame in coded:
            for p in v.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(p)
        for p in v.encode():
            out.mux(p)
    return path, coded


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip(media_dir: Path) -> Path:
    return make_clip(media_dir / "clip.mp4")


def _still(folder: Path, suffix: str, seed: int) -> Path:
    """A 64x80 still of the sample renderer, written as ``suffix`` says."""
    return write_image(next(render_clip(1, 64, 80, seed=seed)), folder / f"still{suffix}")


@pytest.fixture(scope="session")
def png(media_dir: Path) -> Path:
    return _still(media_dir, ".png", 0)


@pytest.fixture(scope="session")
def jpeg(media_dir: Path) -> Path:
    return _still(media_dir, ".jpg", 3)


@pytest.fixture(scope="session")
def webp(media_dir: Path) -> Path:
    return _still(media_dir, ".webp", 5)


@pytest.fixture(scope="session")
def heic(media_dir: Path) -> Path:
    return _still(media_dir, ".heic", 7)


@pytest.fixture(scope="session")
def avif(media_dir: Path) -> Path:
    return _still(media_dir, ".avif", 9)


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def sign_with_remote_link(src: Path, dst: Path, creds, url: str) -> bytes:
    """Sign the PNG ``src`` into ``dst`` as cloud services do: the file carries only a link
    to its manifest (``url``, in its XMP); returns the manifest store that link would serve."""
    import json

    import c2pa

    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(
        b"es256", creds.cert_chain_pem, creds.private_key_pem, None))
    created = {"action": "c2pa.created",
               "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/"
                                    "digitalCapture"}
    builder = c2pa.Builder.from_json(json.dumps({
        "claim_generator_info": [{"name": "test"}],
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [created]}}]}))
    builder.set_no_embed()
    builder.set_remote_url(url)
    with open(src, "rb") as fh, open(dst, "w+b") as out:
        return builder.sign(signer, "image/png", fh, out)
