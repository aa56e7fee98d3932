from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from provenant.errors import ConfigurationError

from detector import data as detector_data
from detector.data import (DataSpec, build_dataset, load_or_build, planned_bytes, planned_clips,
                           sample_patches, split_groups, twin_change)
from detector.sources import Source, real_sources, segments, source_group
from detector.training import train_split


def test_views_of_one_scene_share_a_group() -> None:
    assert source_group("photo:motorcycle:motorcycle_left") == source_group("photo:motorcycle:motorcycle_right")
    ids = {s.id for s in real_sources()}
    assert "video:carphone" in ids and not any("carphone_" in i for i in ids)  # one source, two files


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_has_no_leakage(seed: int) -> None:
    groups = [source_group(s.id) for s in real_sources()]
    train, test = split_groups(groups, 0.3, seed)
    assert train and test and not (train & test)
    assert train | test == set(groups)
    assert any(g.startswith("video:") for g in test) and any(g.startswith("video:") for g in train)


def test_built_dataset_split_by_source(clip, tmp_path) -> None:
    """Twins share their source's group, so no clip of a test source is trained on."""
    sources = [Source("user:a", "video", (clip,)), Source("user:b", "video", (clip,)),
               Source("user:c", "video", (clip,))]
    spec = DataSpec(clips_per_video=2, frames=5, clip_size=64, patches_per_clip=2, patch_size=32,
                    families=("upscale", "interpolate"))
    ds = build_dataset(sources, spec, progress=False)
    assert ds.X.shape == (3 * 2 * 3, 2, 5, 3, 32, 32)  # tubes through all 5 frames
    assert planned_clips(sources, spec) == len(ds.y)
    assert planned_bytes(sources, spec) == ds.X.nbytes
    assert set(ds.family) == {"real", "upscale", "interpolate"}
    train_groups, test_groups = split_groups(ds.groups, 0.34, 0)
    tr = train_split(ds, test_groups)
    assert not set(tr.groups) & test_groups
    assert len(tr.y) + (np.isin(ds.groups, list(test_groups))).sum() == len(ds.y)
    only = train_split(ds, test_groups, families=["upscale"])
    assert set(only.family) == {"real", "upscale"}


def test_photo_motion_is_native_and_moves() -> None:
    src = next(s for s in real_sources() if s.id.endswith(":astronaut"))
    clip = next(segments(src, 1, 6, 96, np.random.default_rng(0)))
    assert clip.shape == (6, 96, 96, 3)
    assert np.abs(clip[1:].astype(int) - clip[:-1]).mean() > 1.0


def test_a_user_video_72_pixels_wide_gives_rgb_segments(tmp_path) -> None:
    """decord refuses a batch of a width whose rows it pads (72 px): frames are read one by
    one and cut back to the picture."""
    from tests.conftest import encode_clip
    from watermark.testing import procedural_clip

    path = encode_clip(tmp_path / "narrow.mp4", procedural_clip(98, 72, 12, seed=4))
    clip = next(segments(Source("video:narrow", "video", (path,)), 1, 6, 96,
                         np.random.default_rng(0)))
    assert clip.shape == (6, 72, 72, 3) and clip.std() > 5


def test_a_user_folder_of_any_readable_video_trains_and_a_damaged_file_is_skipped(
        tmp_path) -> None:
    """A transport stream (which decord cannot seek) and a Flash Video are read through
    PyAV; a damaged file is skipped with a warning rather than stopping the training (it
    ended it with decord's error before, and such files were not listed at all)."""
    from provenant.errors import ProvenanceWarning
    from tests.conftest import encode_clip
    from watermark.testing import procedural_clip

    frames = procedural_clip(96, 128, 20, seed=5)
    encode_clip(tmp_path / "capture.ts", frames, fmt="mpegts")
    encode_clip(tmp_path / "archive.flv", frames, fmt="flv")
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 500)
    sources = {s.id: s for s in real_sources([tmp_path], samples=False)}
    assert set(sources) == {"user:capture.ts", "user:archive.flv", "user:broken.mp4"}
    for name in ("user:capture.ts", "user:archive.flv"):
        clips = list(segments(sources[name], 3, 6, 64, np.random.default_rng(0)))
        assert len(clips) == 3 and all(c.shape == (6, 64, 64, 3) and c.std() > 5 for c in clips)
    with pytest.warns(ProvenanceWarning, match="broken.mp4: skipped"):
        assert list(segments(sources["user:broken.mp4"], 3, 6, 64,
                             np.random.default_rng(0))) == []


def test_patches_are_even_aligned_tubes_through_every_frame() -> None:
    frames = np.random.default_rng(1).integers(0, 256, (5, 40, 40, 3), dtype=np.uint8)
    p = sample_patches(frames, 4, 16, np.random.default_rng(0))
    assert p.shape == (4, 5, 3, 16, 16)
    for tube in p:  # each tube is one window of the clip, in frame order, at an even offset
        hits = [(y, x) for y in range(25) for x in range(25)
                if np.array_equal(frames[:, y:y + 16, x:x + 16].transpose(0, 3, 1, 2), tube)]
        assert len(hits) == 1 and hits[0][0] % 2 == 0 and hits[0][1] % 2 == 0
    with pytest.raises(ValueError):
        sample_patches(frames[:2], 1, 16, np.random.default_rng(0))


def test_twins_do_not_depend_on_the_encoding_draws(clip, monkeypatch, tmp_path) -> None:
    """The fixed-CRF rebuild asks every family for the same twins as the training build, and
    the generator family is asked for every ``generator_every``-th clip only."""
    import detector.families as fams

    seen: list[tuple[float, int]] = []

    def fake_generator(frames: np.ndarray, p: dict) -> np.ndarray:
        seen.append((p["guidance"], p["seed"]))
        return np.ascontiguousarray(frames[:, ::-1])

    monkeypatch.setattr(fams, "_generator_apply", fake_generator)
    sources = [Source("user:a", "video", (clip,))]
    base = dict(clips_per_video=4, frames=5, clip_size=64, patches_per_clip=1, patch_size=32,
                families=("upscale", "generator"), generator_every=2)
    ds = build_dataset(sources, DataSpec(**base), progress=False)
    first = list(seen)
    seen.clear()
    build_dataset(sources, DataSpec(**base, fixed_crf=28), progress=False)
    assert len(first) == 2 and seen == first  # clips 0 and 2, same draws under either encoding
    assert list(ds.family).count("generator") == 2 and list(ds.family).count("upscale") == 4
    with pytest.raises(ConfigurationError, match="generator_every"):
        build_dataset(sources, DataSpec(**{**base, "generator_every": 0}), progress=False)


def test_generated_clips_are_cached_by_parameters(monkeypatch, tmp_path) -> None:
    import detector.families as fams
    import generator.generate as gen

    calls: list[tuple[int, tuple[float, float]]] = []

    def fake_generate(prompt: str, *, num_frames: int, seed: int, guidance_interval, **_: object):
        calls.append((seed, tuple(guidance_interval)))
        return np.full((num_frames, 8, 8, 3), seed % 256, np.uint8), {}

    monkeypatch.setattr(fams, "GENERATED_CACHE", tmp_path / "gen")
    monkeypatch.setattr(gen, "generate_frames", fake_generate)
    p = {"prompt": "a red circle moves left", "seed": 7, "steps": 8, "guidance": 3.0,
         "scheduler": "euler", "interp": "linear", "guidance_interval": (0.0, 1.0), "zoom": 1,
         "crop": [0.5, 0.5]}
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    a = fams._generator_apply(frames, p)
    b = fams._generator_apply(frames, p)
    c = fams._generator_apply(frames, {**p, "seed": 8})
    assert calls == [(7, (0.0, 1.0)), (8, (0.0, 1.0))]
    assert np.array_equal(a, b) and a.shape == (4, 16, 16, 3)
    assert not np.array_equal(a, c)
    fams._generator_apply(frames, {**p, "guidance_interval": (0.15, 1.0)})  # another clip
    assert calls[-1] == (7, (0.15, 1.0))
    for entry in (tmp_path / "gen").glob("*.npy"):
        entry.write_bytes(b"truncated")  # a damaged entry is made again, not trusted
    fams._generator_apply(frames, p)
    assert len(calls) == 4


def test_generator_twins_can_be_viewed_as_generate_writes_them(monkeypatch) -> None:
    """``zoom`` 4: upscaled 4x (as ``provenant generate`` does) and cropped to the clip, so
    the twin has the clip's shape but the smoothness of a 4x upscale."""
    import detector.families as fams

    native = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    monkeypatch.setattr(fams, "_generated", lambda p, t: native[:t])
    frames = np.zeros((3, 20, 12, 3), np.uint8)
    p = {"interp": "linear", "zoom": 1, "crop": [0.0, 0.0]}
    fitted = fams._generator_apply(frames, p)
    corner = fams._generator_apply(frames, {**p, "zoom": 4})
    far = fams._generator_apply(frames, {**p, "zoom": 4, "crop": [0.999, 0.999]})
    assert fitted.shape == corner.shape == far.shape == (3, 20, 12, 3)
    big = np.stack([cv2.resize(f, (32, 32), interpolation=cv2.INTER_LINEAR) for f in native])
    assert np.array_equal(corner, big[:, :20, :12]) and np.array_equal(far, big[:, 12:, 20:])
    too_big = np.zeros((3, 40, 40, 3), np.uint8)  # larger than 4x: fitted, never padded
    assert fams._generator_apply(too_big, {**p, "zoom": 4}).shape == (3, 40, 40, 3)
    draws = [fams._generator_draw(np.random.default_rng(i)) for i in range(40)]
    assert {d["zoom"] for d in draws} == {1, fams.VIEW_ZOOM}
    assert {d["guidance_interval"] for d in draws} == set(fams.GUIDANCE_INTERVALS)


def test_generator_fingerprint_follows_weights_and_config(monkeypatch, tmp_path) -> None:
    """The same weights with other sampling defaults (e.g. a new guidance interval) make other
    clips, so they must not share a cache."""
    import detector.families as fams
    import generator.pipeline as pipeline

    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "config.json").write_text('{"guidance_interval": [0.0, 1.0]}')
    monkeypatch.setattr(pipeline, "default_weights_dir", lambda: tmp_path)
    first = fams.generator_fingerprint()
    (tmp_path / "config.json").write_text('{"guidance_interval": [0.15, 1.0]}')
    assert fams.generator_fingerprint() != first
    assert fams.generator_identity() == {"name": None, "version": None,
                                         "fingerprint": fams.generator_fingerprint()}
    (tmp_path / "config.json").write_text('{"name": "g", "version": "1.2.3"}')
    assert fams.generator_identity()["version"] == "1.2.3"
    (tmp_path / "model.safetensors").unlink()
    assert fams.generator_fingerprint() is None and fams.generator_identity() is None


def test_dataset_key_follows_the_generator_weights(monkeypatch) -> None:
    import detector.data as data

    with_gen, without = DataSpec(), DataSpec(families=("upscale", "interpolate"))
    monkeypatch.setattr(data, "generator_fingerprint", lambda: "a" * 64)
    first, first_without = with_gen.key([]), without.key([])
    monkeypatch.setattr(data, "generator_fingerprint", lambda: "b" * 64)
    assert with_gen.key([]) != first  # new generator weights: the cached clips are stale
    assert without.key([]) == first_without  # no generator family: nothing to invalidate


def test_twin_change_is_the_largest_per_frame_difference() -> None:
    real = np.full((4, 8, 8, 3), 100, np.uint8)
    twin = real.copy()
    twin[2] += 3  # one frame changed by 3 levels, the others untouched
    assert twin_change(real, real) == 0.0
    assert twin_change(real, twin) == pytest.approx(3.0)
    assert twin_change(real, twin[:, :4]) == float("inf")  # a resized twin always counts


def test_unchanged_twins_are_dropped_on_load(tmp_path) -> None:
    """Interpolating a still shot gives back the real frames: such a twin is not counted as
    AI-generated, in training or evaluation, while moving content keeps its twin."""
    from provenant.media import write_video

    texture = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 256, (64, 96, 3), np.uint8),
                               (0, 0), 1.5)
    still = write_video([texture[:, :64]] * 5, tmp_path / "still.mp4", fps=24, crf=10)
    moving = write_video([texture[:, 4 * t:4 * t + 64] for t in range(5)], tmp_path / "moving.mp4",
                         fps=24, crf=10)
    sources = [Source("user:still", "video", (still,)), Source("user:moving", "video", (moving,))]
    spec = DataSpec(clips_per_video=1, frames=5, clip_size=64, patches_per_clip=1, patch_size=32,
                    families=("interpolate",))
    ds = load_or_build(sources, spec, tmp_path, progress=False)
    assert sorted(zip(ds.source, ds.family)) == [("user:moving", "interpolate"), ("user:moving", "real"),
                                                 ("user:still", "real")]
    assert ds.change[ds.family == "interpolate"][0] >= 1.0
    everything = load_or_build(sources, replace(spec, min_twin_change=0.0), tmp_path, progress=False)
    assert len(everything.y) == 4 and len(list(tmp_path.glob("data-*.npz"))) == 1  # one cache
    assert spec.key(sources) == replace(spec, min_twin_change=0.0).key(sources)
    with pytest.raises(ConfigurationError, match="min_twin_change"):
        DataSpec(min_twin_change=-1.0)


def test_the_plan_counts_every_twin_the_build_makes() -> None:
    video, photo = Source("user:a", "video", ()), Source("photo:p:p", "photo", ())
    spec = DataSpec(clips_per_video=6, clips_per_photo=2, generator_every=3)  # 3 families
    # video: 6 real, 6 upscale, 6 interpolate, 2 generator (clips 0 and 3); photo: 2+2+2+1
    assert planned_clips([video, photo], spec) == 20 + 7
    assert planned_bytes([video], spec) == 20 * 16 * 8 * 3 * 48 * 48


def test_data_too_large_for_memory_is_refused_before_any_work(tmp_path, monkeypatch) -> None:
    sources = [Source(f"user:{i}", "video", (tmp_path / "absent.mp4",)) for i in range(200)]
    spec = DataSpec(families=("upscale", "interpolate"))
    need = detector_data.MEMORY_FACTOR * planned_bytes(sources, spec) + detector_data.MEMORY_BASE
    monkeypatch.setattr(detector_data, "available_memory", lambda: int(need) - 1)
    with pytest.raises(ConfigurationError, match="would not fit in memory") as err:
        load_or_build(sources, spec, tmp_path / "cache", progress=False)
    assert "28,800 clips of 16 tubes from 200 sources (200 videos)" in err.value.message
    assert "--clips-per-video (now 48)" in err.value.hint
    assert not (tmp_path / "cache").exists()  # nothing was read or built
    monkeypatch.setattr(detector_data, "available_memory", lambda: None)  # unknown: not refused
    detector_data.check_memory(sources, spec)
    monkeypatch.setattr(detector_data, "available_memory", lambda: int(need))
    detector_data.check_memory(sources, spec)


def test_memory_available_is_read_in_bytes_where_the_system_says() -> None:
    from pathlib import Path

    meminfo = Path("/proc/meminfo")
    have = detector_data.available_memory()
    if not meminfo.exists():
        assert have is None
        return
    total_kib = next(int(line.split()[1]) for line in meminfo.read_text().splitlines()
                     if line.startswith("MemTotal:"))
    assert have is not None and 2**20 < have <= total_kib * 1024  # bytes, not KiB


def test_filtering_on_load_keeps_the_same_clips_as_a_copy(clip, tmp_path) -> None:
    """The twin filter moves the kept clips forward in place: the same data as ``subset``."""
    sources = [Source("user:a", "video", (clip,)), Source("user:b", "video", (clip,))]
    spec = DataSpec(clips_per_video=3, frames=5, clip_size=64, patches_per_clip=1, patch_size=32,
                    families=("upscale", "interpolate"), min_twin_change=0.0)
    every = load_or_build(sources, spec, tmp_path, progress=False)
    bar = float(np.median(every.change[every.family != "real"]))  # drops about half the twins
    filtered = load_or_build(sources, replace(spec, min_twin_change=bar), tmp_path, progress=False)
    copy = every.without_unchanged_twins(bar)
    assert 0 < len(filtered.y) < len(every.y)
    assert np.array_equal(filtered.X, copy.X) and np.array_equal(filtered.source, copy.source)
    assert np.array_equal(filtered.family, copy.family) and np.array_equal(filtered.change, copy.change)
    tr = train_split(every, {"user:b"}, min_change=bar)  # the same filter while splitting
    assert np.array_equal(tr.X, copy.subset(copy.groups == "user:a").X)
