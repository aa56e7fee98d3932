"""``provenant train detector``: build the data (cached), split by source, fit, save.

The split is by *source group* (:func:`detector.data.split_groups`): no clip of one source is
in both the training and the test part. Inside ``fit`` a further share of the training groups
is held out for calibration and the threshold. The split and the data recipe are saved as
``split.json`` beside the weights so that ``provenant eval detector`` tests the same
held-out sources.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from provenant.errors import ConfigurationError

from detector.backbones import check_backbone
from detector.classifier import VideoDetector
from detector.config import DetectorConfig
from detector.data import DEFAULT_CACHE, DataSpec, Dataset, load_or_build, split_groups
from detector.families import generator_identity
from detector.sources import real_sources

__all__ = ["TrainResult", "train_detector", "train_split", "load_split", "SPLIT_FILE"]

SPLIT_FILE = "split.json"


class TrainResult(dict):
    """Facts about a training run (JSON-serialisable)."""


def train_split(ds: Dataset, test_groups: set[str], families: Iterable[str] | None = None,
                min_change: float = 0.0) -> Dataset:
    """The training part of ``ds``: groups outside ``test_groups``, real plus ``families``,
    without the twins closer than ``min_change`` to their real clip (one copy of the tubes)."""
    keep = ~np.isin(ds.groups, sorted(test_groups)) & ds.changed(min_change)
    if families is not None:
        keep &= np.isin(ds.family, ["real", *families])
    return ds.subset(keep)


def train_detector(config: DetectorConfig, out: str | Path, *, real_dirs: Iterable[str] = (),
                   samples: bool = True, spec: DataSpec | None = None,
                   test_fraction: float = 0.3, cache: Path = DEFAULT_CACHE,
                   progress: bool = True) -> tuple[VideoDetector, TrainResult]:
    """Train on the non-test source groups and save the model with its split to ``out``."""
    if not 0.0 <= test_fraction < 1.0:
        raise ConfigurationError(f"test_fraction={test_fraction} must be in [0, 1)")
    check_backbone(config)  # before the data build, not after it
    spec = spec or DataSpec()
    if spec.patch_size < config.patch_size:  # cached patches may be larger: fit crops them
        spec = replace(spec, patch_size=config.patch_size)
    sources = real_sources(real_dirs, samples=samples)
    if not sources:
        raise ConfigurationError("no real footage: give --real DIR or keep the sample footage")
    t0 = time.time()
    ds = load_or_build(sources, spec, cache, progress=progress)
    t_data = time.time() - t0
    train_groups, test_groups = split_groups(ds.groups, test_fraction, config.seed) \
        if test_fraction > 0 else (set(ds.groups), set())
    tr = train_split(ds, test_groups)
    det = VideoDetector(config, progress=progress).fit(tr.X, tr.y, groups=tr.groups)
    t_fit = time.time() - t0 - t_data
    out = det.save_pretrained(out)
    split = {"train_groups": sorted(train_groups), "test_groups": sorted(test_groups),
             "real_dirs": [str(d) for d in real_dirs], "samples": samples,
             "test_fraction": test_fraction, "data_spec": asdict(spec)}
    if "generator" in spec.families:  # which generator the family sampled
        split["generator"] = generator_identity()
    (Path(out) / SPLIT_FILE).write_text(json.dumps(split, indent=2) + "\n")
    result = TrainResult(out=str(out), clips=int(len(tr.y)), patches=int(tr.X.shape[0] * tr.X.shape[1]),
                         data_seconds=round(t_data, 1), fit_seconds=round(t_fit, 1),
                         threshold=det.threshold_, loss_history=det.history_,
                         validation_auc=det.validation_,
                         test_groups=sorted(test_groups))
    return det, result


def load_split(folder: str | Path) -> dict[str, Any]:
    """The split and data recipe saved beside a trained model."""
    path = Path(folder) / SPLIT_FILE
    if not path.exists():
        raise ConfigurationError(f"{path} is missing: this model was not trained by "
                                 "`provenant train detector`, so its held-out sources are unknown")
    data = json.loads(path.read_text())
    data["data_spec"]["crf_range"] = tuple(data["data_spec"]["crf_range"])
    data["data_spec"]["families"] = tuple(data["data_spec"]["families"])
    return data
