from __future__ import annotations

import numpy as np
import pytest
import torch

from generator.grammar import SLOT_SIZES
from generator.stream import ClipStream, ReplayPool
from provenant.errors import ConfigurationError


def test_replay_pool_is_a_ring_of_the_latest_clips():
    pool = ReplayPool(5, frames=2, size=4, slots=len(SLOT_SIZES))
    for v in range(1, 4):  # three chunks of 2: values 1,1,2,2,3,3 into 5 places
        pool.add(np.full((2, 2, 4, 4, 3), v, np.uint8), np.full((2, len(SLOT_SIZES)), v))
    assert pool.filled == 5 and pool.added == 6
    kept = sorted(int(c) for c in pool.clips[:, 0, 0, 0, 0])
    assert kept == [1, 2, 2, 3, 3]  # the oldest clip was overwritten
    x, ids = pool.sample(64, np.random.default_rng(0))
    assert x.shape == (64, 3, 2, 4, 4) and x.dtype == torch.float32
    assert torch.allclose(x[:, 0, 0, 0, 0], torch.from_numpy(ids[:, 0]).float() / 127.5 - 1)


def test_replay_pool_rejects_bad_sizes():
    with pytest.raises(ConfigurationError):
        ReplayPool(0, frames=2, size=4, slots=3)
    with pytest.raises(ConfigurationError, match="empty"):
        ReplayPool(2, frames=2, size=4, slots=3).sample(1, np.random.default_rng(0))


def test_clip_stream_renders_labelled_clips_in_the_background():
    with ClipStream(1, frames=3, size=16, seed=0, chunk=4) as stream:
        clips, ids = stream.get(timeout=60)
    assert clips.shape == (4, 3, 16, 16, 3) and clips.dtype == np.uint8
    assert ids.shape == (4, len(SLOT_SIZES)) and (ids > 0).any()
    assert clips.std() > 0
    with pytest.raises(ConfigurationError, match="workers"):
        ClipStream(0, frames=3, size=16)
