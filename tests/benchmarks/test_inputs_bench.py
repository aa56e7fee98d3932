from __future__ import annotations

import random
import time

import pytest

from benchmarks import inputs_bench


def test_the_damage_is_seeded_and_of_every_kind() -> None:
    data = bytes(range(256)) * 40 + b"\x00\x00\x10\x00mdat" + bytes(4000)
    first = list(inputs_bench.mutants(data, random.Random(3)))
    assert first == list(inputs_bench.mutants(data, random.Random(3)))
    kinds = [kind for kind, _ in first]
    assert {"cut to 10%", "first 64 bytes", "'mdat' size 4 GB", "'mdat' size 1",
            "a run of bytes cut out", "a run of bytes repeated"} <= set(kinds)
    damaged = dict(first)
    assert len(damaged["cut to 50%"]) == len(data) // 2
    assert damaged["'mdat' size 1"][-4008:-4004] == b"\x00\x00\x00\x01"
    assert all(d != data for d in damaged.values())


def test_a_run_is_classified_by_how_it_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    import provenant.cli

    def fails(argv):
        raise KeyError("unexpected")

    monkeypatch.setattr(provenant.cli, "main", fails)
    outcome, _, message = inputs_bench.run_one(["verify", "x"])
    assert outcome == "internal error" and "KeyError" in message
    monkeypatch.setattr(provenant.cli, "main", lambda argv: 2)
    assert inputs_bench.run_one(["verify", "x"])[0] == "clear error"
    monkeypatch.setattr(provenant.cli, "main", lambda argv: 0)
    assert inputs_bench.run_one(["verify", "x"])[0] == "result"
    monkeypatch.setattr(inputs_bench, "TIMEOUT_S", 1)
    monkeypatch.setattr(provenant.cli, "main", lambda argv: time.sleep(5))
    assert inputs_bench.run_one(["verify", "x"])[0] == "hang"
