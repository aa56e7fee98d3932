from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from provenant.errors import ConfigurationError, InputError, NotFittedError

from detector.classifier import VideoDetector
from detector.config import DetectorConfig
from tests.detector.conftest import TINY, toy_clips


def test_fit_returns_self_and_learns_attributes(tiny_model: VideoDetector) -> None:
    assert isinstance(tiny_model, VideoDetector)
    learned = [a for a in vars(tiny_model) if a.endswith("_") and not a.startswith("_")]
    assert {"net_", "calibrator_", "threshold_", "classes_"} <= set(learned)
    assert 0.0 <= tiny_model.threshold_ <= 1.0
    assert list(tiny_model.classes_) == [0, 1]


def test_fit_returns_the_same_object(toy_data) -> None:
    X, y, groups = toy_data
    det = VideoDetector(TINY, progress=False)
    assert det.fit(X[:32], y[:32], groups=groups[:32]) is det


def test_predict_proba_shape_and_decision(tiny_model: VideoDetector) -> None:
    X, y, _ = toy_clips(20, seed=5)
    proba = tiny_model.predict_proba(X)
    assert proba.shape == (20, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(tiny_model.predict(X), (proba[:, 1] >= tiny_model.threshold_).astype(int))
    assert (tiny_model.predict(X) == y).mean() >= 0.9  # noise vs flat is learnable


def test_clips_scored_a_few_at_a_time_score_as_all_at_once(tiny_model: VideoDetector) -> None:
    X, _, _ = toy_clips(10, seed=3)
    whole = tiny_model.network_logits(X, clips_per_pass=len(X))
    assert whole.shape == (10,) and np.unique(np.round(whole, 4)).size > 1
    for per_pass in (1, 3):
        assert np.allclose(tiny_model.network_logits(X, clips_per_pass=per_pass), whole, atol=1e-5)
    with pytest.raises(InputError, match="no patches"):
        tiny_model.network_logits(X[:0])


def test_not_fitted_raises_typed_error() -> None:
    X, _, _ = toy_clips(4)
    det = VideoDetector(TINY)
    for method in (det.predict_proba, det.predict, det.decision_function):
        with pytest.raises(NotFittedError):
            method(X)
    with pytest.raises(AttributeError):  # NotFittedError is also an AttributeError
        det.predict(X)


def test_clone_keeps_params_only(tiny_model: VideoDetector) -> None:
    twin = clone(tiny_model)
    assert twin.get_params()["config"] == TINY
    assert not hasattr(twin, "net_")


def test_save_and_load_give_identical_scores(tiny_model: VideoDetector, tiny_dir) -> None:
    X, _, _ = toy_clips(10, seed=3)
    loaded = VideoDetector.from_pretrained(tiny_dir)
    np.testing.assert_allclose(loaded.predict_proba(X), tiny_model.predict_proba(X), atol=1e-6)
    assert loaded.threshold_ == tiny_model.threshold_
    assert loaded.config == TINY
    assert {p.name for p in tiny_dir.iterdir()} >= {"config.json", "model.safetensors", "calibration.json"}


@pytest.mark.parametrize("damage", ["truncated", "other_front_end"])
def test_weights_that_do_not_fit_are_a_clear_error(tiny_dir, tmp_path, damage: str) -> None:
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    folder = Path(shutil.copytree(tiny_dir, tmp_path / "model"))
    weights = folder / "model.safetensors"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:100])
    else:  # the first convolution made for a front end with two channels fewer
        state = load_file(str(weights))
        name = next(k for k, v in state.items() if v.ndim == 4)
        state[name] = torch.zeros(state[name].shape[0], state[name].shape[1] - 2,
                                  *state[name].shape[2:])
        save_file(state, str(weights))
    with pytest.raises(ConfigurationError, match="does not fit"):
        VideoDetector.from_pretrained(folder)


def test_loading_an_empty_folder_is_not_fitted(tmp_path) -> None:
    with pytest.raises(NotFittedError):
        VideoDetector.from_pretrained(tmp_path)


@pytest.mark.parametrize("shape,dtype", [((4, 2, 3, 16, 16), np.uint8), ((4, 2, 3, 3, 16, 16), np.float32),
                                         ((4, 2, 3, 3, 12, 12), np.uint8), ((0, 2, 3, 3, 16, 16), np.uint8)])
def test_bad_input_is_an_input_error(tiny_model: VideoDetector, shape, dtype) -> None:
    with pytest.raises(InputError):
        tiny_model.predict_proba(np.zeros(shape, dtype=dtype))


def test_bad_labels_are_refused(toy_data) -> None:
    X, y, _ = toy_data
    with pytest.raises(InputError):
        VideoDetector(TINY, progress=False).fit(X, np.zeros_like(y))
    with pytest.raises(InputError):
        VideoDetector(TINY, progress=False).fit(X, y[:-1])


@pytest.mark.parametrize("kwargs", [{"patch_size": 15}, {"target_fpr": 0.0}, {"calibration": "magic"},
                                    {"epochs": 0}, {"face_mode": "maybe"}, {"seed": -1}])
def test_config_validation_names_the_argument(kwargs) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(kwargs))):
        DetectorConfig(**kwargs)


def test_unknown_backbone_and_missing_pretrained_weights() -> None:
    from detector.backbones import build_backbone

    with pytest.raises(ConfigurationError, match="not a timm model"):
        build_backbone(DetectorConfig(backbone="no_such_net"))
    with pytest.raises(ConfigurationError, match="pretrained_path"):
        build_backbone(DetectorConfig(backbone="test_resnet", pretrained=True))


def test_config_round_trip(tmp_path) -> None:
    TINY.save(tmp_path / "c.json")
    assert DetectorConfig.load(tmp_path / "c.json") == TINY
    with pytest.raises(ConfigurationError):
        DetectorConfig.from_dict({"bogus": 1})
