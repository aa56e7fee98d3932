"""The background producer keeps order, hands errors back and stops when abandoned."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from provenant.prefetch import prefetch


def test_items_come_back_in_order() -> None:
    assert list(prefetch(range(100), depth=3)) == list(range(100))


def test_a_producer_error_is_raised_at_its_place_in_the_sequence() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for x in prefetch(items()):
            got.append(x)
    assert got == [1, 2]


def test_abandoning_the_iterator_stops_the_producer() -> None:
    produced = []

    def items() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    it = prefetch(items(), depth=2)
    assert next(it) == 0
    it.close()
    time.sleep(0.3)
    stopped_at = len(produced)
    time.sleep(0.3)
    assert len(produced) == stopped_at < 10
    assert not any(t.name == "provenant-prefetch" and t.is_alive() for t in threading.enumerate())


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth"):
        list(prefetch([1], depth=0))
