"""Training and evaluation data: real clips and their synthetic twins, through one H.264 path.

For each real source, ``segments`` cuts clips at native resolution; every synthetic family
turns each clip into a twin. Real clips and twins alike then go through the *same* pipeline
(:func:`encode_roundtrip`): optional area downscale and a random crop (augmentation), H.264 at
a random CRF, decode. Tubes (patches through all of the clip's frames) are cropped from the
decoded frames at even offsets. The arrays are cached once under ``.cache/detector/``, keyed by the spec, the
sources and, with the ``generator`` family, the generator weights' checksum.

Each family draws its twin of clip ``i`` from its own random stream, seeded by (seed, source,
``i``, family), apart from the stream that drives the encoding. So the fixed-CRF rebuild of
the evaluation asks every family for exactly the twins the training build made, and the
generator's sampled clips come from their disk cache (see :mod:`detector.families`). The
generator family twins every ``generator_every``-th clip only: each twin is a sampling run.

A twin that a family left (almost) unchanged is not a synthetic clip: frame interpolation of a
still shot reproduces the real frames, and downscale-upscale of a smooth photo gives it back.
Each clip records ``change``, the largest mean absolute difference (grey levels, before
encoding) between one of the twin's frames and the real frame it stands for. Twins with
``change < DataSpec.min_twin_change`` (default 1 level, under the median error H.264 itself
adds at CRF 16) are dropped when the data is loaded, for training and evaluation alike.
Everything is still built and cached, so ``min_twin_change=0`` gives back the unfiltered set.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from provenant.errors import ConfigurationError
from provenant.media import write_video

from detector.config import DEFAULT_FAMILIES
from detector.families import generator_fingerprint, get_family
from detector.sources import Source, segments, source_group

__all__ = ["DataSpec", "Dataset", "build_dataset", "encode_roundtrip", "sample_patches",
           "split_groups", "load_or_build", "twin_change", "DEFAULT_CACHE", "planned_clips",
           "planned_bytes", "available_memory", "check_memory", "MEMORY_FACTOR", "MEMORY_BASE"]

DEFAULT_CACHE = Path(".cache/detector")
#: Peak memory of training or evaluation: this many times the tubes' size, plus
#: ``MEMORY_BASE`` for the libraries. Measured with the shipped recipe's data (2.35 GB of
#: tubes, 0.9 GB for the libraries): `provenant eval detector --no-lofo` peaked at 5.6 GB, a
#: training run's load, split and fit copies (replayed) at 6.0 GB; this allows 6.9 GB.
MEMORY_FACTOR, MEMORY_BASE = 2.5, 2**30
_FORMAT = 3  # cached arrays: 2 added ``change``; 3 holds tubes of every frame, not triplets


@dataclass(frozen=True)
class DataSpec:
    clips_per_video: int = 48
    clips_per_photo: int = 20
    frames: int = 8
    clip_size: int = 128
    patches_per_clip: int = 16
    patch_size: int = 48
    crf_range: tuple[int, int] = (16, 32)
    fixed_crf: int | None = None  # e.g. 28 for the re-encoding evaluation (no resize/crop)
    families: tuple[str, ...] = DEFAULT_FAMILIES
    generator_every: int = 3  # a generator twin for every n-th clip (each costs a sampling run)
    seed: int = 0
    min_twin_change: float = 1.0  # twins closer than this to their real clip are dropped

    def __post_init__(self) -> None:
        if not self.min_twin_change >= 0.0:
            raise ConfigurationError(f"DataSpec.min_twin_change={self.min_twin_change} is invalid; "
                                     "allowed: a number of grey levels >= 0 (0 keeps every twin)")

    def key(self, sources: Iterable[Source]) -> str:
        """The cache key: every field that changes what is built (the twin filter does not)."""
        recipe = {k: v for k, v in asdict(self).items() if k != "min_twin_change"}
        parts: list = [recipe, sorted(s.id for s in sources), _FORMAT]
        if "generator" in self.families:  # the family's clips change with the generator
            parts.append(generator_fingerprint())
        blob = json.dumps(parts, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]


@dataclass
class Dataset:
    X: np.ndarray  # (n, k, T frames, 3 RGB, P, P) uint8 tubes
    y: np.ndarray  # (n,) 1 = AI-generated
    source: np.ndarray  # (n,) source id
    family: np.ndarray  # (n,) "real" or the synthetic family
    change: np.ndarray | None = None  # (n,) twin's change from its real clip (0 for real)
    groups: np.ndarray = field(init=False)  # (n,) split group of each clip

    def __post_init__(self) -> None:
        self.groups = np.array([source_group(s) for s in self.source])
        if self.change is None:  # unknown: nothing counts as unchanged
            self.change = np.where(self.family == "real", 0.0, np.inf)

    def subset(self, mask: np.ndarray, *, in_place: bool = False) -> Dataset:
        """The clips of ``mask``. ``in_place``: without a copy of the tubes, the kept clips
        moved to the front of ``X`` (the others are lost: for a dataset nothing else holds)."""
        if not in_place:
            return Dataset(self.X[mask], self.y[mask], self.source[mask], self.family[mask],
                           self.change[mask])
        keep = np.flatnonzero(mask)
        for i, j in enumerate(keep):  # j >= i: every clip moves forward or stays
            if i != j:
                self.X[i] = self.X[j]
        return Dataset(self.X[:len(keep)], self.y[keep], self.source[keep], self.family[keep],
                       self.change[keep])

    def changed(self, min_change: float) -> np.ndarray:
        """``(n,)`` mask: real clips, and twins differing from their real clip by ``min_change``
        or more."""
        return (self.family == "real") | (self.change >= min_change)

    def without_unchanged_twins(self, min_change: float, *, in_place: bool = False) -> Dataset:
        """The clips of :meth:`changed` (``in_place``: as in :meth:`subset`)."""
        return self.subset(self.changed(min_change), in_place=in_place)


def twin_change(real: np.ndarray, twin: np.ndarray) -> float:
    """Largest per-frame mean absolute difference (grey levels) of ``twin`` from ``real``."""
    if real.shape != twin.shape:
        return float("inf")
    diff = np.abs(twin.astype(np.int16) - real.astype(np.int16))
    return float(diff.reshape(len(diff), -1).mean(axis=1).max())


def encode_roundtrip(frames: np.ndarray, rng: np.random.Generator, spec: DataSpec,
                     workdir: Path) -> np.ndarray:
    """Augment (unless ``fixed_crf``), encode with H.264 and decode: ``(T, h, w, 3)``."""
    if spec.fixed_crf is None:
        t, h, w, _ = frames.shape
        if rng.random() < 0.3:
            f = rng.uniform(0.7, 1.0)
            size = (max(spec.patch_size, int(w * f)), max(spec.patch_size, int(h * f)))
            frames = np.stack([cv2.resize(x, size, interpolation=cv2.INTER_AREA) for x in frames])
        h, w = frames.shape[1:3]
        ch = max(spec.patch_size, int(h * rng.uniform(0.8, 1.0))) & ~1
        cw = max(spec.patch_size, int(w * rng.uniform(0.8, 1.0))) & ~1
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        frames = frames[:, y:y + ch, x:x + cw]
        crf = int(rng.integers(spec.crf_range[0], spec.crf_range[1] + 1))
    else:
        crf = spec.fixed_crf
    path = workdir / "clip.mp4"
    write_video(frames, path, fps=24, crf=crf)
    return _decode(path)


def _decode(path: Path) -> np.ndarray:
    """All frames of a small MP4 with PyAV: ``(T, H, W, 3)`` uint8 RGB."""
    import av

    with av.open(str(path)) as container:
        out = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    if out.ndim != 4 or out.shape[-1] != 3:
        raise RuntimeError(f"decoded frames of unexpected shape {out.shape}")
    return out


def sample_patches(frames: np.ndarray, k: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` random tubes (every frame of the clip, one square window) at even offsets:
    ``(k, T, 3, P, P)`` uint8."""
    t, h, w, _ = frames.shape
    if t < 3 or h < size or w < size:
        raise ValueError(f"clip {frames.shape} too small for {size}-pixel tubes of 3+ frames")
    out = np.empty((k, t, 3, size, size), dtype=np.uint8)
    for i in range(k):
        y = int(rng.integers(0, (h - size) // 2 + 1)) * 2
        x = int(rng.integers(0, (w - size) // 2 + 1)) * 2
        out[i] = frames[:, y:y + size, x:x + size].transpose(0, 3, 1, 2)
    return out


def _source_rng(spec: DataSpec, source_id: str) -> np.random.Generator:
    return np.random.default_rng([spec.seed, zlib.crc32(source_id.encode())])


def _twin_rng(spec: DataSpec, source_id: str, clip: int, family: str) -> np.random.Generator:
    """One stream per (source, clip, family): a twin does not depend on the encoding draws,
    so the fixed-CRF evaluation rebuild asks each family for the very same twins."""
    return np.random.default_rng([spec.seed, zlib.crc32(source_id.encode()), clip,
                                  zlib.crc32(family.encode())])


def _wants_twin(spec: DataSpec, family: str, clip: int) -> bool:
    return family != "generator" or clip % spec.generator_every == 0


def _clips_of(source: Source, spec: DataSpec) -> int:
    return spec.clips_per_video if source.kind == "video" else spec.clips_per_photo


def planned_clips(sources: Iterable[Source], spec: DataSpec) -> int:
    """How many clips (real ones and twins) :func:`build_dataset` makes of ``sources`` at most
    (fewer when a video holds fewer clips or cannot be read)."""
    return sum(1 + sum(_wants_twin(spec, f, i) for f in spec.families)
               for s in sources for i in range(_clips_of(s, spec)))


def planned_bytes(sources: Iterable[Source], spec: DataSpec) -> int:
    """The size of the tubes of :func:`planned_clips` in memory."""
    return planned_clips(sources, spec) * spec.patches_per_clip * spec.frames * 3 * spec.patch_size ** 2


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None where
    it cannot be read."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(sources: list[Source], spec: DataSpec) -> None:
    """Refuse, before any work, data whose tubes would not fit in the memory available.

    Training and evaluation hold the loaded tubes plus copies of their parts (the training
    part, then the network's and the calibration's share): ``MEMORY_FACTOR`` times the tubes
    and ``MEMORY_BASE`` (measured: see the constants)."""
    need = MEMORY_FACTOR * planned_bytes(sources, spec) + MEMORY_BASE
    have = available_memory()
    if have is None or need <= have:
        return
    videos = sum(s.kind == "video" for s in sources)
    raise ConfigurationError(
        f"the detector's data would not fit in memory: {planned_clips(sources, spec):,} clips "
        f"of {spec.patches_per_clip} tubes from {len(sources)} sources ({videos} videos) take "
        f"{planned_bytes(sources, spec) / 2**30:.1f} GiB, and training or evaluating on them "
        f"needs about {need / 2**30:.1f} GiB at its peak; {have / 2**30:.1f} GiB is available",
        hint=f"train with a lower --clips-per-video (now {spec.clips_per_video}) or "
             f"--patches-per-clip (now {spec.patches_per_clip}), or use a machine with more "
             "memory")


def build_dataset(sources: list[Source], spec: DataSpec, *, progress: bool = True) -> Dataset:
    """Real clips and one twin per family for each (``generator``: every
    ``generator_every``-th clip), all through :func:`encode_roundtrip`."""
    for name in ("generator_every", "patches_per_clip", "clips_per_video", "clips_per_photo"):
        if getattr(spec, name) < 1:
            raise ConfigurationError(f"DataSpec.{name}={getattr(spec, name)} must be >= 1")
    fams = [get_family(n) for n in spec.families]
    # Filled in place: stacking a list of clips would hold the tubes twice.
    X = np.empty((planned_clips(sources, spec), spec.patches_per_clip, spec.frames, 3,
                  spec.patch_size, spec.patch_size), dtype=np.uint8)
    n, y, src, fam, change = 0, [], [], [], []
    bar = tqdm(total=sum(_clips_of(s, spec) for s in sources), desc="build clips",
               disable=not progress)
    with tempfile.TemporaryDirectory(prefix="detector-data-") as tmp:
        for s in sources:
            rng = _source_rng(spec, s.id)
            for i, clip in enumerate(segments(s, _clips_of(s, spec), spec.frames, spec.clip_size, rng)):
                versions = [("real", clip)] + [(f.name, f(clip, _twin_rng(spec, s.id, i, f.name)))
                                               for f in fams if _wants_twin(spec, f.name, i)]
                for name, frames in versions:
                    decoded = encode_roundtrip(frames, rng, spec, Path(tmp))
                    X[n] = sample_patches(decoded, spec.patches_per_clip, spec.patch_size, rng)
                    n += 1
                    y.append(int(name != "real"))
                    src.append(s.id)
                    fam.append(name)
                    change.append(0.0 if name == "real" else twin_change(clip, frames))
                bar.update(1)
    bar.close()
    return Dataset(X[:n], np.array(y), np.array(src), np.array(fam), np.array(change))


def load_or_build(sources: list[Source], spec: DataSpec, cache: Path = DEFAULT_CACHE, *,
                  progress: bool = True) -> Dataset:
    """The dataset for ``(sources, spec)``, from ``cache`` when built before, without the
    twins closer than ``spec.min_twin_change`` to their real clip. Data that would not fit in
    memory is refused first (:func:`check_memory`)."""
    check_memory(sources, spec)
    path = Path(cache) / f"data-{spec.key(sources)}.npz"
    if path.exists():
        z = np.load(path)
        ds = Dataset(z["X"], z["y"], z["source"], z["family"], z["change"])
    else:
        ds = build_dataset(sources, spec, progress=progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, X=ds.X, y=ds.y, source=ds.source, family=ds.family, change=ds.change)
        tmp.replace(path)
    return ds.without_unchanged_twins(spec.min_twin_change, in_place=True)  # nothing else holds ds


def split_groups(groups: Iterable[str], test_fraction: float = 0.3,
                 seed: int = 0) -> tuple[set[str], set[str]]:
    """Split source groups into (train, test), stratified by kind (video/photo/user)."""
    uniq = sorted(set(groups))
    rng = np.random.default_rng(seed)
    train, test = set(), set()
    for kind in sorted({g.split(":")[0] for g in uniq}):
        members = [g for g in uniq if g.split(":")[0] == kind]
        rng.shuffle(members)
        n_test = int(round(test_fraction * len(members)))
        if len(members) >= 2:
            n_test = min(max(n_test, 1), len(members) - 1)
        test.update(members[:n_test])
        train.update(members[n_test:])
    return train, test
