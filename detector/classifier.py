"""``VideoDetector``: the AI-video classifier with scikit-learn's estimator contract.

A sample (one row of ``X``) is a clip given as ``k`` patches, each a triplet of consecutive
frames cropped at native resolution: ``X`` has shape ``(n, k, 3 frames, 3 RGB, P, P)``, uint8.
Patches larger than ``config.patch_size`` are cropped (never resized): at random even offsets
while training, in the centre when predicting.
Every patch gets a logit from :class:`~detector.backbones.DetectorNet`; the **clip logit is
the mean of its patch logits** (the aggregation rule); a calibrator fitted on held-out groups
maps clip logits to probabilities, and ``threshold_`` is set at ``target_fpr`` on the real
clips of that held-out set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit
from torch import nn
from tqdm.auto import tqdm

from provenant.errors import ConfigurationError, InputError, NotFittedError

from detector.backbones import DetectorNet
from detector.calibration import Calibrator, threshold_at_fpr
from detector.config import DetectorConfig

__all__ = ["VideoDetector", "check_clips", "resolve_device"]

_CALIBRATION_FILE = "calibration.json"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def check_clips(X: Any, patch_size: int | None = None) -> np.ndarray:
    """Validate ``X`` as ``(n, k, 3, 3, P, P)`` uint8 clips (a single 5-D clip is refused)."""
    X = np.asarray(X)
    if X.ndim != 6 or X.shape[2:4] != (3, 3) or X.shape[4] != X.shape[5]:
        raise InputError(f"X must have shape (n, k, 3, 3, P, P); got {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"X holds no patches: shape {X.shape}")
    if patch_size is not None and X.shape[4] < patch_size:
        raise InputError(f"X has {X.shape[4]}-pixel patches; the model needs at least {patch_size}")
    if X.dtype != np.uint8:
        raise InputError(f"X must be uint8 pixels; got dtype {X.dtype}")
    return X


class VideoDetector(ClassifierMixin, BaseEstimator):
    """AI-generated video classifier. ``fit`` returns self; ``predict_proba`` is ``(n, 2)``."""

    def __init__(self, config: DetectorConfig | None = None, progress: bool = True) -> None:
        self.config = config
        self.progress = progress

    # -- fitting ---------------------------------------------------------------------------
    @property
    def _cfg(self) -> DetectorConfig:
        return self.config if self.config is not None else DetectorConfig()

    def fit(self, X: Any, y: Any, groups: Any = None) -> VideoDetector:
        """Train the network on one part of the groups and calibrate on the rest."""
        cfg = self._cfg
        X = check_clips(X, cfg.patch_size)
        y = np.asarray(y).astype(np.int64).ravel()
        if y.shape[0] != X.shape[0] or not set(np.unique(y)) <= {0, 1} or len(np.unique(y)) < 2:
            raise InputError("y must hold one 0/1 label per clip, with both classes present")
        fit_idx, cal_idx = self._split(y, groups, cfg)
        torch.manual_seed(cfg.seed)
        self.device_ = resolve_device(cfg.device)
        self.net_ = DetectorNet(cfg).to(self.device_)
        self.history_ = self._train(X, y, fit_idx, cfg)
        self.calibrate(X[cal_idx], y[cal_idx])
        self.classes_ = np.array([0, 1])
        return self

    def _split(self, y: np.ndarray, groups: Any, cfg: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(len(y))
        if groups is None:
            splitter = StratifiedShuffleSplit(1, test_size=cfg.calibration_fraction,
                                              random_state=cfg.seed)
            return next(splitter.split(idx, y))
        groups = np.asarray(groups)
        if len(np.unique(groups)) < 2:
            raise InputError("groups must name at least two sources")
        splitter = GroupShuffleSplit(1, test_size=cfg.calibration_fraction, random_state=cfg.seed)
        fit_idx, cal_idx = next(splitter.split(idx, y, groups))
        if len(np.unique(y[cal_idx])) < 2 or len(np.unique(y[fit_idx])) < 2:
            raise InputError("every source group should hold both classes for calibration")
        return fit_idx, cal_idx

    def _train(self, X: np.ndarray, y: np.ndarray, idx: np.ndarray, cfg: DetectorConfig) -> list[float]:
        k = X.shape[1]
        pairs = np.stack(np.meshgrid(idx, np.arange(k), indexing="ij"), -1).reshape(-1, 2)
        pos = max(int(y[idx].sum()), 1)
        pos_weight = torch.tensor((len(idx) - pos) / pos, device=self.device_)
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        opt = torch.optim.AdamW(self.net_.parameters(), lr=cfg.learning_rate,
                                weight_decay=cfg.weight_decay)
        steps = cfg.epochs * int(np.ceil(len(pairs) / cfg.batch_size))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.learning_rate, total_steps=steps)
        rng, history = np.random.default_rng(cfg.seed), []
        bar = tqdm(total=steps, desc="train detector", disable=not self.progress)
        self.net_.train()
        for _ in range(cfg.epochs):
            order, losses = rng.permutation(len(pairs)), []
            for start in range(0, len(order), cfg.batch_size):
                batch = pairs[order[start:start + cfg.batch_size]]
                xb = _augment(_crop(X[batch[:, 0], batch[:, 1]], cfg.patch_size, rng), rng)
                yb = torch.from_numpy(y[batch[:, 0]]).float().to(self.device_)
                loss = loss_fn(self.net_(xb.to(self.device_)), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
            history.append(float(np.mean(losses)))
        bar.close()
        return history

    def calibrate(self, X: Any, y: Any) -> VideoDetector:
        """(Re)fit the calibrator and the threshold on held-out clips ``X, y``."""
        cfg = self._cfg
        logits = self.decision_function(X)
        y = np.asarray(y).astype(int).ravel()
        self.calibrator_ = Calibrator(cfg.calibration).fit(logits, y)
        real = self.calibrator_.transform(logits[y == 0])
        self.threshold_ = threshold_at_fpr(real, cfg.target_fpr)
        self.n_calibration_ = int(len(y))
        return self

    # -- prediction --------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet")

    @torch.no_grad()
    def patch_logits(self, patches: Any, batch_size: int = 256) -> np.ndarray:
        """Logits of patches ``(m, 3, 3, P, P)`` uint8: ``(m,)``."""
        self._check_fitted()
        patches = np.asarray(patches)
        self.net_.eval()
        out = [self.net_(torch.from_numpy(patches[i:i + batch_size]).to(self.device_)).cpu()
               for i in range(0, len(patches), batch_size)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def decision_function(self, X: Any) -> np.ndarray:
        """Clip logits ``(n,)``: the mean of each clip's patch logits."""
        self._check_fitted()
        X = check_clips(X, self._cfg.patch_size)
        n, k = X.shape[:2]
        X = _crop(X.reshape(n * k, *X.shape[2:]), self._cfg.patch_size, None).numpy()
        return self.patch_logits(X).reshape(n, k).mean(axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated ``[P(real), P(AI-generated)]`` per clip: ``(n, 2)``."""
        self._check_fitted()
        p = self.calibrator_.transform(self.decision_function(X))
        return np.stack([1.0 - p, p], axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """1 (AI-generated) where the calibrated score reaches ``threshold_``, else 0."""
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(np.int64)

    # -- persistence ---------------------------------------------------------------------------
    def save_pretrained(self, folder: str | Path) -> Path:
        """Write ``config.json``, ``model.safetensors`` and ``calibration.json`` to ``folder``."""
        from safetensors.torch import save_file

        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._cfg.save(folder / "config.json")
        state = {k: v.detach().cpu().contiguous() for k, v in self.net_.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        meta = {"calibrator": self.calibrator_.to_dict(), "threshold": self.threshold_,
                "n_calibration": self.n_calibration_, "history": getattr(self, "history_", [])}
        (folder / _CALIBRATION_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str = "cpu") -> VideoDetector:
        """Load a detector saved by :meth:`save_pretrained` (offline)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        folder = Path(folder)
        files = [folder / n for n in ("config.json", "model.safetensors", _CALIBRATION_FILE)]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise NotFittedError(f"{folder} holds no trained detector (missing {missing})",
                                 hint="train one with `provenant train detector`")
        cfg = DetectorConfig.load(files[0])
        det = cls(cfg, progress=False)
        det.device_ = resolve_device(device)
        det.net_ = DetectorNet(cfg)
        try:
            det.net_.load_state_dict(load_file(str(files[1])))
        except (RuntimeError, OSError, SafetensorError) as exc:  # another front end, or damaged
            raise ConfigurationError(
                f"{files[1]} does not fit {cfg.model_id} with this version's forensic front end "
                f"({str(exc).splitlines()[0][:160]})",
                hint="use weights trained by this version, or retrain with "
                     "`provenant train detector`") from None
        det.net_.to(det.device_).eval()
        meta = json.loads(files[2].read_text())
        det.calibrator_ = Calibrator.from_dict(meta["calibrator"])
        det.threshold_ = float(meta["threshold"])
        det.n_calibration_ = int(meta.get("n_calibration", 0))
        det.history_ = list(meta.get("history", []))
        det.classes_ = np.array([0, 1])
        return det


def _crop(x: np.ndarray, size: int, rng: np.random.Generator | None) -> torch.Tensor:
    """Crop patches ``(B, 3, 3, P, P)`` to ``size`` at an even offset (random, or the centre)."""
    extra = x.shape[-1] - size
    if extra <= 0:
        return torch.from_numpy(np.ascontiguousarray(x))
    if rng is None:
        oy = ox = (extra // 2) & ~1
    else:
        oy, ox = (int(v) * 2 for v in rng.integers(0, extra // 2 + 1, size=2))
    return torch.from_numpy(np.ascontiguousarray(x[..., oy:oy + size, ox:ox + size]))


def _augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Random flips and 90-degree rotations of a batch ``(B, 3, 3, P, P)`` (keeps the 2x2 grid)."""
    if rng.random() < 0.5:
        x = x.flip(-1)
    if rng.random() < 0.5:
        x = x.flip(-2)
    if rng.random() < 0.5:
        x = x.transpose(-1, -2)
    return x.contiguous()


