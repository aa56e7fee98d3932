"""``VideoDetector``: the AI-video classifier with scikit-learn's estimator contract.

A sample (one row of ``X``) is a clip given as ``k`` tubes: one square window through
``T >= 3`` consecutive frames, cropped at native resolution. ``X`` has shape
``(n, k, T frames, 3 RGB, P, P)``, uint8.

The network (:class:`~detector.backbones.DetectorNet`) sees ``config.temporal_window`` (3 or
5) consecutive frames of ``config.patch_size`` pixels: while training a random run of each
tube at a random even offset, when predicting the two central runs (centred on frames
``T//2 - 1`` and ``T//2``, one of each frame parity) in the centre of the tube; runs that
would leave a short tube repeat its end frames. Aggregation rule:

1. the clip's **network logit** is the mean of its patch logits;
2. with ``config.clip_statistics``, the clip's **statistics logit** comes from a linear head
   on measurements of the whole tubes (:mod:`detector.clipstats`: frame-parity and spectrum
   cues), fitted on the network's training clips;
3. the **clip logit** is ``w_net * network + w_stats * statistics + b``, the fusion weights
   fitted by logistic regression on held-out groups (the calibration set, which the network
   and the head never saw);
4. a calibrator fitted on that same held-out set maps clip logits to probabilities, and
   ``threshold_`` is set at ``target_fpr`` on its real clips.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit
from torch import nn
from tqdm.auto import tqdm

from provenant.errors import ConfigurationError, InputError, NotFittedError
from provenant.tempnames import write_whole

from detector.backbones import DetectorNet
from detector.calibration import Calibrator, threshold_at_fpr
from detector.clipstats import StatisticsHead, clip_statistics
from detector.config import DetectorConfig

__all__ = ["VideoDetector", "check_clips", "resolve_device"]

_CALIBRATION_FILE = "calibration.json"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def check_clips(X: Any, patch_size: int | None = None) -> np.ndarray:
    """Validate ``X`` as ``(n, k, T, 3, P, P)`` uint8 tubes, ``T >= 3`` (one 5-D clip is refused)."""
    X = np.asarray(X)
    if X.ndim != 6 or X.shape[2] < 3 or X.shape[3] != 3 or X.shape[4] != X.shape[5]:
        raise InputError(f"X must have shape (n, k, T>=3 frames, 3, P, P); got {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"X holds no patches: shape {X.shape}")
    if patch_size is not None and X.shape[4] < patch_size:
        raise InputError(f"X has {X.shape[4]}-pixel patches; the model needs at least {patch_size}")
    if X.dtype != np.uint8:
        raise InputError(f"X must be uint8 pixels; got dtype {X.dtype}")
    return X


def predict_centres(frames: int) -> list[int]:
    """The centres of the frame runs scored in a tube of ``frames`` frames: the central two."""
    return [frames // 2] if frames <= 3 else [frames // 2 - 1, frames // 2]


def frame_runs(tubes: np.ndarray, centres: np.ndarray, window: int) -> np.ndarray:
    """``window`` consecutive frames around each centre of tubes ``(B, T, 3, P, P)``:
    ``(B, window, 3, P, P)`` (indices clamped to the tube, so short tubes repeat end frames)."""
    half = window // 2
    idx = np.clip(np.asarray(centres)[:, None] + np.arange(-half, half + 1), 0, tubes.shape[1] - 1)
    return tubes[np.arange(len(tubes))[:, None], idx]


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
        """Train the network (and the statistics head) on one part of the groups; fuse and
        calibrate on the rest."""
        cfg = self._cfg
        X = check_clips(X, cfg.patch_size)
        y = np.asarray(y).astype(np.int64).ravel()
        if y.shape[0] != X.shape[0] or not set(np.unique(y)) <= {0, 1} or len(np.unique(y)) < 2:
            raise InputError("y must hold one 0/1 label per clip, with both classes present")
        fit_idx, cal_idx = self._split(y, groups, cfg)
        cal_groups = None if groups is None else np.asarray(groups)[cal_idx]
        torch.manual_seed(cfg.seed)
        self.device_ = resolve_device(cfg.device)
        self.net_ = DetectorNet(cfg).to(self.device_)
        self.history_ = self._train(X, y, fit_idx, cfg)
        self.statistics_ = None
        if cfg.clip_statistics:
            self.statistics_ = StatisticsHead().fit(clip_statistics(X[fit_idx]), y[fit_idx])
        self.calibrate(X[cal_idx], y[cal_idx], cal_groups)
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
                xb = _augment(_crop(_random_runs(X, batch, cfg.temporal_window, rng),
                                    cfg.patch_size, rng), rng)
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

    def calibrate(self, X: Any, y: Any, groups: Any = None) -> VideoDetector:
        """(Re)fit the fusion, the calibrator and the threshold on held-out clips ``X, y``.

        With ``groups`` (the source of each clip), the fusion and the calibrator weigh every
        source equally, so that one source with many clips does not set the scale for all.
        The threshold is taken per clip (it is a false-positive rate over clips).
        """
        cfg = self._cfg
        X = check_clips(X, cfg.patch_size)
        y = np.asarray(y).astype(int).ravel()
        weights = _group_weights(groups, len(y))
        parts = self._parts(X)
        if parts.shape[1] == 2:
            lr = LogisticRegression(C=1e4, max_iter=1000).fit(parts, y, sample_weight=weights)
            self.fusion_ = [float(lr.coef_[0, 0]), float(lr.coef_[0, 1]), float(lr.intercept_[0])]
        else:
            self.fusion_ = [1.0, 0.0, 0.0]
        logits = self._fuse(parts)
        self.validation_ = _validation_auc(parts, logits, y)
        self.calibrator_ = Calibrator(cfg.calibration).fit(logits, y, sample_weight=weights)
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
        """Logits of frame-run patches ``(m, window, 3, P, P)`` uint8: ``(m,)``."""
        self._check_fitted()
        patches = np.asarray(patches)
        self.net_.eval()
        out = [self.net_(torch.from_numpy(patches[i:i + batch_size]).to(self.device_)).cpu()
               for i in range(0, len(patches), batch_size)]
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def network_logits(self, X: Any, clips_per_pass: int = 64) -> np.ndarray:
        """The network's clip logits ``(n,)``: the mean over every tube's central frame runs.
        Clips are scored ``clips_per_pass`` at a time, so the copies of their runs stay small
        however many clips there are."""
        self._check_fitted()
        cfg = self._cfg
        X = check_clips(X, cfg.patch_size)
        out = []
        for start in range(0, len(X), clips_per_pass):
            part = X[start:start + clips_per_pass]
            n, k, t = part.shape[:3]
            tubes = _crop(part.reshape(n * k, *part.shape[2:]), cfg.patch_size, None).numpy()
            runs = [frame_runs(tubes, np.full(n * k, c), cfg.temporal_window)
                    for c in predict_centres(t)]
            logits = self.patch_logits(np.concatenate(runs))  # run-major: (c * n * k,)
            out.append(logits.reshape(len(runs), n, k).mean(axis=(0, 2)))
        return np.concatenate(out)

    def statistics_logits(self, X: Any) -> np.ndarray | None:
        """The statistics head's clip logits ``(n,)``, or None when the model has none."""
        self._check_fitted()
        if getattr(self, "statistics_", None) is None:
            return None
        return self.statistics_.logits(clip_statistics(check_clips(X, self._cfg.patch_size)))

    def _parts(self, X: np.ndarray) -> np.ndarray:
        """``(n, 1)`` network logits, or ``(n, 2)`` with the statistics logits."""
        net, stats = self.network_logits(X), self.statistics_logits(X)
        return net[:, None] if stats is None else np.stack([net, stats], axis=1)

    def _fuse(self, parts: np.ndarray) -> np.ndarray:
        w_net, w_stats, b = self.fusion_
        out = w_net * parts[:, 0] + b
        return out + w_stats * parts[:, 1] if parts.shape[1] == 2 else out

    def score_parts(self, X: Any) -> dict[str, np.ndarray]:
        """Per clip: the ``network`` and ``statistics`` logits (when the model has the head),
        the fused ``logit`` and the calibrated ``probability``, each ``(n,)``."""
        self._check_fitted()
        parts = self._parts(check_clips(X, self._cfg.patch_size))
        fused = self._fuse(parts)
        out = {"network": parts[:, 0], "logit": fused,
               "probability": self.calibrator_.transform(fused)}
        if parts.shape[1] == 2:
            out["statistics"] = parts[:, 1]
        return out

    def decision_function(self, X: Any) -> np.ndarray:
        """Clip logits ``(n,)`` (see the module docstring for the rule)."""
        self._check_fitted()
        return self._fuse(self._parts(check_clips(X, self._cfg.patch_size)))

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
        write_whole(folder / "model.safetensors", lambda tmp: save_file(state, str(tmp)))
        stats = getattr(self, "statistics_", None)
        meta = {"calibrator": self.calibrator_.to_dict(), "threshold": self.threshold_,
                "fusion": self.fusion_, "statistics": stats.to_dict() if stats else None,
                "n_calibration": self.n_calibration_, "history": getattr(self, "history_", []),
                "validation_auc": getattr(self, "validation_", {})}
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
        stats = meta.get("statistics")  # absent before 0.5.0: the network alone
        det.statistics_ = StatisticsHead.from_dict(stats) if stats else None
        det.fusion_ = [float(v) for v in meta.get("fusion", [1.0, 0.0, 0.0])]
        det.threshold_ = float(meta["threshold"])
        det.n_calibration_ = int(meta.get("n_calibration", 0))
        det.history_ = list(meta.get("history", []))
        det.validation_ = dict(meta.get("validation_auc", {}))
        det.classes_ = np.array([0, 1])
        return det


def _group_weights(groups: Any, n: int) -> np.ndarray | None:
    """Per-clip weights that give every group the same total (mean weight 1), or None."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise InputError(f"groups must name one source per clip ({n}); got shape {groups.shape}")
    _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    w = 1.0 / counts[inverse]
    return w * (n / w.sum())


def _validation_auc(parts: np.ndarray, fused: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """AUC on the calibration clips of the network, the statistics head and the fusion (the
    fusion is fitted on these clips, so its figure is optimistic by a little)."""
    if len(np.unique(y)) < 2:
        return {}
    out = {"network": float(roc_auc_score(y, parts[:, 0])), "fused": float(roc_auc_score(y, fused))}
    if parts.shape[1] == 2:
        out["statistics"] = float(roc_auc_score(y, parts[:, 1]))
    return out


def _random_runs(X: np.ndarray, batch: np.ndarray, window: int,
                rng: np.random.Generator) -> np.ndarray:
    """For each ``(clip, tube)`` row of ``batch``, ``window`` consecutive frames at a random
    centre (one whose run fits the tube, when the tube is long enough): ``(B, window, 3, P, P)``."""
    t, half = X.shape[2], window // 2
    lo, hi = (half, t - half) if t >= window else (1, t - 1)
    centres = rng.integers(lo, max(hi, lo + 1), size=len(batch))
    return frame_runs(X[batch[:, 0], batch[:, 1]], centres, window)


def _crop(x: np.ndarray, size: int, rng: np.random.Generator | None) -> torch.Tensor:
    """Crop patches ``(..., P, P)`` to ``size`` at an even offset (random, or the centre)."""
    extra = x.shape[-1] - size
    if extra <= 0:
        return torch.from_numpy(np.ascontiguousarray(x))
    if rng is None:
        oy = ox = (extra // 2) & ~1
    else:
        oy, ox = (int(v) * 2 for v in rng.integers(0, extra // 2 + 1, size=2))
    return torch.from_numpy(np.ascontiguousarray(x[..., oy:oy + size, ox:ox + size]))


def _augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Random flips and 90-degree rotations of a batch ``(B, n, 3, P, P)`` (keeps the 2x2 grid)."""
    if rng.random() < 0.5:
        x = x.flip(-1)
    if rng.random() < 0.5:
        x = x.flip(-2)
    if rng.random() < 0.5:
        x = x.transpose(-1, -2)
    return x.contiguous()


