"""Deliveries that finish after the call has returned: audits and approval expiries.

`completion` / `acompletion` hand the caller the LLM's answer as soon as it
arrives and deliver the audit in a task of its own, so the caller does not wait
for a second round trip to AxonFlow; a call that gives up waiting for approval
expires its request the same way. Neither may be dropped: the task outlives the
caller's cancellation, finishes while `asyncio.run` winds its loop down (it
cancels leftover tasks, then waits for them), and `flush()`, `aclose()` and the
runtime's shutdown (runtime.py, step AUDITS) wait for whatever is still in flight.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from typing import Any, Awaitable, Callable, Dict, List, Optional

from .runtime import ShutdownStep, at_shutdown

_log = logging.getLogger(__name__)

Delivery = Callable[[], Awaitable[Any]]
Post = Callable[[Callable[[], None]], None]


async def _despite_cancellation(deliver: Delivery) -> Any:
    try:
        return await deliver()
    except asyncio.CancelledError:
        # The caller's loop is shutting down (or someone cancelled every task):
        # deliver once more rather than lose the record. A delivery cut off mid-way
        # completes the same context again: one entry on the embedded agent (which
        # updates the decision's row); not verified against a real AxonFlow.
        task = asyncio.current_task()
        if task is not None and hasattr(task, "uncancel"):
            task.uncancel()
        return await deliver()


class PendingDeliveries:
    """The delivery tasks of one logger that have not finished yet, across event loops."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._tasks: "set[asyncio.Task[Any]]" = set()
        # loop -> deliveries handed to that (another thread's) loop whose task is not created yet
        self._scheduled: Dict[asyncio.AbstractEventLoop, int] = {}
        self._lock = threading.Lock()
        _LIVE.add(self)

    def __len__(self) -> int:
        with self._lock:
            return sum(self._scheduled.values()) + sum(1 for task in self._tasks if not task.done())

    def spawn(self, deliver: Delivery) -> None:
        """Run `deliver()` in its own task on the running loop."""
        self._start(asyncio.get_running_loop(), deliver, 0)

    def spawn_on(self, loop: asyncio.AbstractEventLoop, deliver: Delivery, *, post: Optional[Post] = None) -> None:
        """`spawn` onto `loop` from another thread; counted as in flight from this moment.

        `post` is how the start reaches `loop` (default `loop.call_soon_threadsafe`).
        """
        with self._lock:
            self._scheduled[loop] = self._scheduled.get(loop, 0) + 1

        def start() -> None:
            try:
                self._start(loop, deliver, 0)
            finally:
                with self._lock:
                    left = self._scheduled.pop(loop) - 1
                    if left:
                        self._scheduled[loop] = left

        (post or loop.call_soon_threadsafe)(start)

    def _scheduled_count(self, loop: Optional[asyncio.AbstractEventLoop] = None) -> int:
        with self._lock:
            return sum(self._scheduled.values()) if loop is None else self._scheduled.get(loop, 0)

    def _start(self, loop: asyncio.AbstractEventLoop, deliver: Delivery, restarts: int) -> None:
        task = loop.create_task(_despite_cancellation(deliver))
        with self._lock:
            self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, deliver, restarts))

    def _finished(self, task: "asyncio.Task[Any]", deliver: Delivery, restarts: int) -> None:
        with self._lock:
            self._tasks.discard(task)
        if task.cancelled():
            # Cancelled before its first step (a coroutine that never started cannot catch
            # it): start it again, which is what `asyncio.run` ending right after the call
            # does to it. Twice at most, so a caller cancelling everything forever wins.
            loop = task.get_loop()
            if restarts < 2 and not loop.is_closed():
                self._start(loop, deliver, restarts + 1)
            else:
                _log.warning("a background delivery was cancelled before it could run")
        elif task.exception() is not None:
            _log.warning("background delivery failed: %r", task.exception())

    def _by_loop(self) -> Dict[asyncio.AbstractEventLoop, List["asyncio.Task[Any]"]]:
        groups: Dict[asyncio.AbstractEventLoop, List["asyncio.Task[Any]"]] = {}
        with self._lock:
            for task in self._tasks:
                if not task.done():
                    groups.setdefault(task.get_loop(), []).append(task)
        return groups

    async def wait(self, timeout: Optional[float] = None, *, this_loop_only: bool = False) -> bool:
        """Wait for every delivery in flight; False if some were still running at `timeout`.

        `this_loop_only`: just the running loop's deliveries, all that a client of this loop,
        about to close, is still needed for. Deliveries of a loop whose thread is blocked on
        us (a sync close() in a notebook cell) would otherwise hold the close until timeout.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._timeout if timeout is None else timeout)
        while True:
            groups = self._by_loop()
            if this_loop_only:
                groups = {loop: groups[loop]} if loop in groups else {}
            scheduled = self._scheduled_count(loop if this_loop_only else None)
            if not groups and not scheduled:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            here = None if scheduled else groups.get(loop)
            if here:
                await asyncio.wait(here, timeout=remaining)
            else:  # tasks of loops running in other threads, or about to be: watch them finish
                await asyncio.sleep(min(0.01, remaining))

    def wait_blocking(self, timeout: Optional[float] = None) -> bool:
        """`wait` for code with no running loop (sync API, interpreter exit).

        Tasks of a loop that runs in the calling thread cannot progress while we
        block it, so they are not waited for (they finish when the loop resumes).
        """
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        try:
            own_loop: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            own_loop = None
        while self._scheduled_count() and time.monotonic() < deadline:
            time.sleep(0.001)  # a task about to be created on another thread's loop
        done = not self._scheduled_count()
        for loop, tasks in self._by_loop().items():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or loop.is_closed() or loop is own_loop:
                done = False
                continue
            waiter = asyncio.wait(tasks, timeout=remaining)
            try:
                if loop.is_running():
                    asyncio.run_coroutine_threadsafe(waiter, loop).result(remaining + 1.0)
                else:
                    loop.run_until_complete(waiter)
            except Exception:
                waiter.close()
                _log.debug("waiting for background deliveries failed", exc_info=True)
            if any(not task.done() for task in tasks):
                done = False
        return done


_LIVE: "weakref.WeakSet[PendingDeliveries]" = weakref.WeakSet()


def _wait_for_all() -> None:
    """Shutdown step AUDITS: every logger's deliveries in flight finish (bounded by each timeout)."""
    for pending in list(_LIVE):
        if len(pending):
            pending.wait_blocking()


at_shutdown(ShutdownStep.AUDITS, _wait_for_all)


__all__ = ["PendingDeliveries"]
