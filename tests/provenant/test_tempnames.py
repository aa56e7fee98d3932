"""An output name near the file system's limit is written: its temporary twin beside it is
named within the limit too."""

from __future__ import annotations

from pathlib import Path

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
