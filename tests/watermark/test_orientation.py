"""The orientation search: mirrored and quarter-turned copies are found, and named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from watermark import WatermarkConfig, detect, embed
from watermark.attacks import IMAGE_ATTACKS, ATTACKS, Clip, make_attack
from watermark.orientation import ORIENTATIONS, orient

from tests.watermark.conftest import KEY, PAYLOAD

#: Each change to a frame, by the name of the search's map that undoes it.
CHANGES = {
    "mirrored": lambda f: f[:, ::-1],
    "flipped": lambda f: f[::-1],
    "rotated 180°": lambda f: f[::-1, ::-1],
    "rotated 90° clockwise": lambda f: np.rot90(f, -1),
    "rotated 90° anticlockwise": lambda f: np.rot90(f, 1),
    "transposed": lambda f: np.swapaxes(f, 0, 1),
    "anti-transposed": lambda f: np.swapaxes(f[::-1, ::-1], 0, 1),
}


def _changed(frames: np.ndarray, name: str) -> np.ndarray:
    return np.stack([np.ascontiguousarray(CHANGES[name](f)) for f in frames])


def test_each_map_undoes_the_change_it_is_named_for() -> None:
    tile = np.random.default_rng(0).normal(size=(8, 8))
    assert set(ORIENTATIONS) == set(CHANGES)
    for name in ORIENTATIONS:
        assert np.array_equal(orient(CHANGES[name](tile), name), tile), name
        assert not np.array_equal(CHANGES[name](tile), tile), name


@pytest.mark.parametrize("name", ["mirrored", "rotated 90° clockwise", "transposed"])
def test_a_changed_copy_is_found_and_the_change_named(small_marked: np.ndarray, name: str) -> None:
    r = detect(_changed(small_marked, name), KEY)
    assert r.detected and r.payload == PAYLOAD
    assert r.transform == name


def test_an_unchanged_copy_names_no_change(small_marked: np.ndarray) -> None:
    r = detect(small_marked, KEY)
    assert r.detected and r.transform is None


def test_without_the_search_a_mirrored_copy_is_missed(small_marked: np.ndarray) -> None:
    off = WatermarkConfig(orientation_search=False)
    assert not detect(_changed(small_marked, "mirrored"), KEY, off).detected


def test_the_search_finds_nothing_without_the_key_or_the_mark(small_clip: np.ndarray,
                                                               small_marked: np.ndarray) -> None:
    wrong = detect(_changed(small_marked, "mirrored"), "another-key")
    assert not wrong.detected and wrong.transform is None
    for name in ("mirrored", "rotated 90° anticlockwise"):
        plain = detect(_changed(small_clip, name), KEY)
        assert not plain.detected and plain.p_value > 1e-3


def test_a_mirrored_still_is_found() -> None:
    from watermark.testing import procedural_clip

    still = procedural_clip(256, 320, 1, seed=4)[0]
    marked = embed(still, PAYLOAD, KEY)
    r = detect(np.ascontiguousarray(marked[:, ::-1]), KEY)
    assert r.detected and r.payload == PAYLOAD and r.transform == "mirrored"


def test_mirror_and_quarter_turn_are_attacks_of_both_suites(small_marked: np.ndarray) -> None:
    clip = Clip(list(small_marked[:4]), 24.0)
    turned = make_attack("rotate_90")(clip)
    assert turned.shape == clip.shape[::-1]
    assert np.array_equal(turned.frames[0], np.rot90(clip.frames[0], -1))
    assert np.array_equal(make_attack("mirror")(clip).frames[1], clip.frames[1][:, ::-1])
    # after every attack that was there before them, so earlier draws keep their index
    assert list(ATTACKS)[-6:-4] == ["mirror", "rotate_90"]
    assert list(IMAGE_ATTACKS)[-4:-2] == ["mirror", "rotate_90"]


def test_a_phone_video_is_marked_upright_and_found(tmp_path: Path) -> None:
    """A video whose frames are stored turned, with a display matrix (as phones write):
    the marked file plays upright with no flag, and the mark is found unturned in it."""
    from provenant.media import iter_frames, probe
    from tests.conftest import make_rotated_clip
    from watermark import detect_file, embed_file

    src, _ = make_rotated_clip(tmp_path / "phone.mp4", -90, frames=24, h=192, w=256)
    out = embed_file(src, tmp_path / "marked.mp4", PAYLOAD, KEY)
    info = probe(out)
    assert (info.width, info.height, info.rotation) == (192, 256, 0)
    r = detect_file(out, KEY)
    assert r.detected and r.payload == PAYLOAD and r.transform is None
    upright = next(iter_frames(src))
    assert upright.shape == (256, 192, 3)
    assert float(np.abs(next(iter_frames(out)).astype(int) - upright).mean()) < 10.0
