"""A bounded thread pool for CPU-bound library work, with admission control.

At most ``workers`` calls run at once and at most ``queue_size`` more wait; a request beyond
that gets 503 with ``Retry-After`` *before* its upload is read, so memory and temp-file space
stay bounded whatever the load. A call that passes the per-request timeout answers 504; its
thread cannot be interrupted, so its admission slot (and its upload) are released only when
it really ends, which keeps the bound true under timeouts too.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from api.errors import ApiError

__all__ = ["Ticket", "WorkPool"]

T = TypeVar("T")


class Ticket:
    """One admitted request; :meth:`release` frees its slot (once)."""

    def __init__(self, pool: WorkPool) -> None:
        self._pool, self._released, self.handed_off = pool, False, False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._pool._inflight -= 1


class WorkPool:
    """``workers`` threads plus a waiting room of ``queue_size`` admitted requests."""

    def __init__(self, workers: int, queue_size: int, *, retry_after_s: int = 2,
                 name: str = "provenant-api") -> None:
        self.workers, self.capacity = workers, workers + queue_size
        self.retry_after_s = retry_after_s
        self._inflight = 0
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        #: Called with the reason whenever a request is turned away (metrics hook).
        self.on_reject: Callable[[str], None] = lambda reason: None

    @property
    def inflight(self) -> int:
        return self._inflight

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[Ticket]:
        """Admit one request or answer 503 ``overloaded`` at once (never wait unboundedly)."""
        if self._inflight >= self.capacity:
            self.on_reject("overloaded")
            raise ApiError(503, "overloaded",
                           f"the server is at capacity ({self.capacity} requests in progress); "
                           "retry later", headers={"Retry-After": str(self.retry_after_s)})
        self._inflight += 1
        ticket = Ticket(self)
        try:
            yield ticket
        finally:
            if not ticket.handed_off:
                ticket.release()

    async def run(self, ticket: Ticket, fn: Callable[..., T], *args: Any, timeout_s: float,
                  on_abandon: Callable[[], None] | None = None) -> T:
        """Run ``fn(*args)`` on the pool; 504 ``timeout`` after ``timeout_s`` seconds.

        On timeout ``on_abandon`` (e.g. deleting the upload) and the ticket's release are
        deferred until the thread finishes.
        """
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, functools.partial(fn, *args))
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            ticket.handed_off = True

            def _done(_: Any) -> None:
                ticket.release()
                if on_abandon is not None:
                    on_abandon()
                if not future.cancelled():
                    future.exception()  # mark retrieved: no "never retrieved" warning

            future.add_done_callback(_done)
            self.on_reject("timeout")
            raise ApiError(504, "timeout",
                           f"the request took longer than {timeout_s:g} s and was abandoned; "
                           "try a shorter clip, or the job endpoints") from None

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
