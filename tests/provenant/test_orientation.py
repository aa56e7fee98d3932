"""Phone videos: frames come out upright (display matrix applied) from every reader, and
what is written from them is upright with no rotation flag."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from provenant import media
from provenant.orientation import quarter_turns, upright, upright_size
from tests.conftest import make_rotated_clip


@pytest.mark.parametrize("rotation, turns", [(None, 0), (0, 0), (90, 1), (-90, 3), (180, 2),
                                             (-180, 2), (270, 3), (89.6, 1), (45, 0)])
def test_quarter_turns(rotation: float | None, turns: int) -> None:
    assert quarter_turns(rotation) == turns


@pytest.mark.parametrize("turns", [1, 2, 3])
@pytest.mark.parametrize("planar_format, dtype, top", [("yuv420p", np.uint8, 256),
                                                       ("yuv420p10le", np.uint16, 1024)])
def test_upright_turns_rgb_grey_and_planar_yuv_alike(turns: int, planar_format: str,
                                                     dtype: type, top: int) -> None:
    rng = np.random.default_rng(turns)
    rgb = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    assert np.array_equal(upright(rgb, turns), np.rot90(rgb, turns))
    assert np.array_equal(upright(rgb[..., 0], turns, "gray"), np.rot90(rgb[..., 0], turns))
    y = rng.integers(0, top, (8, 12), dtype=dtype)
    u = rng.integers(0, top, (4, 6), dtype=dtype)
    v = rng.integers(0, top, (4, 6), dtype=dtype)
    planar = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(12, 12)
    out = upright(planar, turns, planar_format)
    assert out.dtype == dtype
    h, w = (12, 8) if turns % 2 else (8, 12)
    assert out.shape == (h * 3 // 2, w)
    flat = out.ravel()
    assert np.array_equal(flat[: h * w].reshape(h, w), np.rot90(y, turns))
    assert np.array_equal(flat[h * w: h * w * 5 // 4].reshape(h // 2, w // 2), np.rot90(u, turns))
    assert np.array_equal(flat[h * w * 5 // 4:].reshape(h // 2, w // 2), np.rot90(v, turns))
    assert upright_size(10, 6, turns) == ((6, 10) if turns % 2 else (10, 6))


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """The same picture after H.264 (about 4.5 levels apart here; the same frames turned
    the wrong way are 40-50 apart)."""
    return a.shape == b.shape and float(np.abs(a.astype(int) - b.astype(int)).mean()) < 10.0


@pytest.mark.parametrize("degrees", [-90, 90, 180])
def test_every_reader_gives_upright_frames(workdir: Path, degrees: int,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path, coded = make_rotated_clip(workdir / "phone.mp4", degrees)
    turns = quarter_turns(degrees)
    want = [np.rot90(f, turns) for f in coded]
    info = media.probe(path)
    assert (info.width, info.height, info.rotation) == (
        want[0].shape[1], want[0].shape[0], turns * 90)
    decord_frames = list(media.iter_frames(path))
    keyed = [f for f, _ in media.iter_keyed_frames(path)]
    planar = list(media.iter_yuv420(path))
    _, sampled = media.sample_frames(path, 3)
    assert all(_close(a, b) for a, b in zip(decord_frames, want)) and len(decord_frames) == 8
    assert degrees != 180 or not _close(decord_frames[0], coded[0])
    assert all(_close(a, b) for a, b in zip(keyed, want))
    assert all(p.shape == (info.height * 3 // 2, info.width) for p in planar)
    assert _close(planar[0][: info.height], want[0].mean(axis=2))  # Y: close to the grey
    assert all(f.shape == want[0].shape for f in sampled)
    assert media.poster_frame(path).shape == want[0].shape
    monkeypatch.setattr(media, "decord_reader", lambda info: None)  # the PyAV fallback
    assert all(_close(a, b) for a, b in zip(media.iter_frames(path), want))


def test_what_is_written_from_a_phone_video_is_upright_without_a_flag(workdir: Path) -> None:
    path, coded = make_rotated_clip(workdir / "phone.mp4", -90)
    out = media.write_video(media.iter_frames(path), workdir / "out.mp4", fps=24)
    info = media.probe(out)
    assert (info.width, info.height, info.rotation) == (96, 128, 0)
    first = next(media.iter_frames(out))
    assert _close(first, np.rot90(coded[0], 3)) and not _close(first, np.rot90(coded[0], 1))
