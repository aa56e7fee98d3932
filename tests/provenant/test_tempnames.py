"""An output name near the file system's limit is written: its temporary twin beside it is
named within the limit too."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import provenant.provenance as prov
from provenant.media import probe, write_image
from provenant.samples import render_clip
from provenant.store import ManifestStore
from provenant.tempnames import NAME_MAX, short_stem
from watermark import embed_file


def test_a_stem_is_cut_at_a_character_boundary_to_leave_room() -> None:
    assert short_stem("clip", 20) == "clip"
    cut = short_stem("é" * 200, 20)  # 400 bytes, 2 per character
    assert cut == "é" * ((NAME_MAX - 20) // 2) and len(cut.encode()) <= NAME_MAX - 20


def test_outputs_named_near_the_limit_are_written_and_nothing_is_left_beside_them(
        tmp_path: Path) -> None:
    still = write_image(next(render_clip(1, 128, 160, seed=2)), tmp_path / "in.png")
    long_name = "n" * (NAME_MAX - 4) + ".png"  # 255 bytes: a valid name
    marked = embed_file(still, tmp_path / long_name, "0123456789abcdef", progress=False)
    assert probe(marked).kind == "image"
    stamped = prov.stamp(still, tmp_path / ("é" * 125 + ".png"),  # 254 bytes
                         store=ManifestStore(tmp_path / "s.db"))
    assert stamped.path.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_full_disk_names_the_output_and_leaves_nothing_beside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed write names no file (or the hidden temporary one): the error names the
    output asked for, and the temporary file is gone."""
    import errno

    from provenant.animwrite import write_animation
    from provenant.media import write_video

    frames = list(render_clip(3, 64, 64, seed=3))

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(Path, "write_bytes", full)
        with pytest.raises(OSError, match="No space left") as info:
            write_image(frames[0], tmp_path / "still.png")
    assert info.value.filename == str(tmp_path / "still.png")

    def refused(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(src))

    monkeypatch.setattr("os.replace", refused)
    for name, write in (("clip.mp4", lambda p: write_video(frames, p, fps=10)),
                        ("anim.gif", lambda p: write_animation(((f, None) for f in frames), p,
                                                               fps=10))):
        with pytest.raises(OSError, match="No space left") as info:
            write(tmp_path / name)
        assert info.value.filename == str(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_write_whole_gives_a_whole_file_as_readable_as_others(tmp_path: Path) -> None:
    import stat

    import torch
    from safetensors.torch import save_file

    from provenant.tempnames import write_whole

    old = os.umask(0o022)
    try:
        out = write_whole(tmp_path / "model.safetensors",
                          lambda tmp: save_file({"w": torch.zeros(2)}, str(tmp)))
        assert stat.S_IMODE(out.stat().st_mode) == 0o644  # safetensors alone writes 0600

        def interrupted(tmp: Path) -> None:
            tmp.write_bytes(b"half a model")
            raise KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt):
            write_whole(tmp_path / "model.safetensors", interrupted)
    finally:
        os.umask(old)
    assert (tmp_path / "model.safetensors").read_bytes() == out.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]

