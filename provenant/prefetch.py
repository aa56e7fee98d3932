"""Run a generator's work in a background thread, a bounded number of items ahead.

Used where per-item work (decode + watermark) can overlap with a consumer that spends its
time in native code with the GIL released (the encoder). Memory stays bounded by ``depth``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["prefetch"]

T = TypeVar("T")
_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Yield ``items`` in order while a daemon thread produces up to ``depth`` ahead.

    An exception raised while producing is re-raised here, at the point it occurred in the
    sequence. Closing the returned iterator early (or an error in the consumer) stops the
    producer after at most one more item.
    """
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
            return
        put(_END)

    worker = threading.Thread(target=produce, name="provenant-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
