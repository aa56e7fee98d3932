"""Procedural training clips rendered in background processes and served from a replay pool.

Rendering a 64×64 clip takes about 16 ms of one CPU core, while a GPU trains the default
network on thousands of clips a second. With ``workers > 0`` (``--workers``) training no
longer renders in its own loop: :class:`ClipStream` runs that many processes, each rendering
chunks of clips with its own seeded generator, and :class:`ReplayPool` keeps the most recent
``capacity`` clips (as uint8, on the training device) from which every batch is drawn. A
clip is thus seen several times while the pool turns over; the pool's size sets how fresh
the data is. Which chunks have arrived by a given step depends on timing, so a run with
workers is not bit-for-bit reproducible (a run without them is).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from typing import Any

import numpy as np
import torch

from provenant.errors import ConfigurationError

__all__ = ["ClipStream", "ReplayPool"]


def _render_worker(out: Any, stop: Any, seed: int, worker: int, frames: int, size: int,
                   p_two: float, chunk: int) -> None:
    """Render chunks of random clips into ``out`` until ``stop`` is set (runs in a child)."""
    import cv2

    from generator.render import render_clips

    cv2.setNumThreads(1)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 104729, worker]))
    while not stop.is_set():
        clips, ids, _ = render_clips(chunk, frames, size, rng, p_two=p_two)
        while not stop.is_set():
            try:
                out.put((clips, ids), timeout=0.5)
                break
            except queue.Full:
                continue


class ClipStream:
    """``workers`` background processes rendering random procedural clips.

    Use as a context manager (the processes stop on exit). :meth:`get` returns one chunk,
    ``(clips (n, T, H, W, 3) uint8, ids (n, S) int64)``, or ``None`` when ``block`` is false
    and none is ready."""

    def __init__(self, workers: int, frames: int, size: int, *, seed: int = 0,
                 p_two: float = 0.25, chunk: int = 32) -> None:
        if workers < 1:
            raise ConfigurationError(f"workers={workers} must be at least 1",
                                     hint="use workers=0 to render in the training loop")
        ctx = mp.get_context("spawn")  # safe beside CUDA and threads, unlike fork
        self._queue = ctx.Queue(maxsize=4 * workers)
        self._stop = ctx.Event()
        env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # inherited by the children at start
        try:
            self._procs = [ctx.Process(target=_render_worker, daemon=True,
                                       args=(self._queue, self._stop, seed, w, frames, size,
                                             p_two, chunk))
                           for w in range(workers)]
            for p in self._procs:
                p.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def get(self, block: bool = True, timeout: float = 120.0
            ) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            return self._queue.get(block=block, timeout=timeout if block else None)
        except queue.Empty:
            if block:
                dead = [p.exitcode for p in self._procs if not p.is_alive()]
                raise ConfigurationError(
                    f"the render workers sent nothing for {timeout:.0f} s "
                    f"({len(dead)} of {len(self._procs)} have exited)",
                    hint="run with --workers 0 to render in the training process and see "
                         "the error") from None
            return None

    def close(self) -> None:
        self._stop.set()
        for p in self._procs:
            p.join(timeout=2.0)
            if p.is_alive():
                p.terminate()
        self._queue.cancel_join_thread()
        self._queue.close()

    def __enter__(self) -> ClipStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReplayPool:
    """A ring buffer of the last ``capacity`` clips (uint8, on ``device``) and their ids."""

    def __init__(self, capacity: int, frames: int, size: int, slots: int,
                 device: torch.device | str = "cpu") -> None:
        if capacity < 1:
            raise ConfigurationError(f"pool capacity={capacity} must be at least 1")
        self.clips = torch.empty((capacity, frames, size, size, 3), dtype=torch.uint8,
                                 device=device)
        self.ids = np.zeros((capacity, slots), np.int64)
        self.capacity, self.filled, self.added = capacity, 0, 0

    def add(self, clips: np.ndarray, ids: np.ndarray) -> None:
        clips, ids = clips[-self.capacity:], ids[-self.capacity:]
        n = len(clips)
        at = self.added % self.capacity
        idx = (at + np.arange(n)) % self.capacity
        self.clips[torch.from_numpy(idx).to(self.clips.device)] = \
            torch.from_numpy(clips).to(self.clips.device)
        self.ids[idx] = ids
        self.added += n
        self.filled = min(self.capacity, self.filled + n)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray]:
        """``n`` clips drawn uniformly (with replacement): float ``(n, 3, T, H, W)`` in
        [-1, 1] on the pool's device, and their ids."""
        if self.filled == 0:
            raise ConfigurationError("the replay pool is empty")
        idx = rng.integers(0, self.filled, n)
        x = self.clips[torch.from_numpy(idx).to(self.clips.device)]
        x = x.permute(0, 4, 1, 2, 3).float().div_(127.5).sub_(1.0)
        return x, self.ids[idx].copy()
