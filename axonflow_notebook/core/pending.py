"""Audits delivered after the call has returned.

`completion` / `acompletion` hand the caller the LLM's answer as soon as it
arrives and deliver the audit in a task of its own, so the caller does not wait
for a second round trip to AxonFlow. An audit must still never be dropped: the
task outlives the caller's cancellation, finishes while `asyncio.run` winds its
loop down (it cancels leftover tasks, then waits for them), and `flush()`,
`aclose()` and interpreter exit wait for whatever is still in flight.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import Any, Awaitable, Callable, Dict, List, Optional

_log = logging.getLogger(__name__)


async def _despite_cancellation(deliver: Callable[[], Awaitable[Any]]) -> Any:
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


class PendingAudits:
    """The audit tasks of one logger that have not finished yet, across event loops."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._tasks: "set[asyncio.Task[Any]]" = set()
        # loop -> audits handed to that (another thread's) loop whose task is not created yet
        self._scheduled: Dict[asyncio.AbstractEventLoop, int] = {}
        self._lock = threading.Lock()
        _register(self)

    def __len__(self) -> int:
        with self._lock:
            return sum(self._scheduled.values()) + sum(1 for task in self._tasks if not task.done())

    def spawn_on(
        self,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[], Awaitable[Any]],
        post: Optional[Callable[[Callable[[], None]], None]] = None,
    ) -> None:
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

    def spawn(self, deliver: Callable[[], Awaitable[Any]]) -> None:
        """Run `deliver()` in its own task on the running loop."""
        self._start(asyncio.get_running_loop(), deliver, 0)

    def _start(self, loop: asyncio.AbstractEventLoop, deliver: Callable[[], Awaitable[Any]], restarts: int) -> None:
        task = loop.create_task(_despite_cancellation(deliver))
        with self._lock:
            self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, deliver, restarts))

    def _finished(self, task: "asyncio.Task[Any]", deliver: Callable[[], Awaitable[Any]], restarts: int) -> None:
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
                _log.warning("an audit was cancelled before it could be delivered")
        elif task.exception() is not None:
            _log.warning("background audit failed: %r", task.exception())

    def _by_loop(self) -> Dict[asyncio.AbstractEventLoop, List["asyncio.Task[Any]"]]:
        groups: Dict[asyncio.AbstractEventLoop, List["asyncio.Task[Any]"]] = {}
        with self._lock:
            for task in self._tasks:
                if not task.done():
                    groups.setdefault(task.get_loop(), []).append(task)
        return groups

    async def wait(self, timeout: "float | None" = None, *, this_loop_only: bool = False) -> bool:
        """Wait for every audit in flight; False if some were still running at `timeout`.

        `this_loop_only`: just the running loop's audits, all that a client of this loop,
        about to close, is still needed for. Audits of a loop whose thread is blocked on
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

    async def wait_here(self, timeout: "float | None" = None) -> bool:
        """`wait(this_loop_only=True)`: what a closing client of this loop waits for."""
        return await self.wait(timeout, this_loop_only=True)

    def wait_blocking(self, timeout: "float | None" = None) -> bool:
        """`wait` for code with no running loop (sync API, interpreter exit).

        Tasks of a loop that runs in the calling thread cannot progress while we
        block it, so they are not waited for (they finish when the loop resumes).
        """
        import time

        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        try:
            own_loop = asyncio.get_running_loop()
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
                _log.debug("waiting for background audits failed", exc_info=True)
            if any(not task.done() for task in tasks):
                done = False
        return done


_LIVE: "weakref.WeakSet[PendingAudits]" = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


def _register(pending: PendingAudits) -> None:
    with _LIVE_LOCK:
        _LIVE.add(pending)


def wait_for_all() -> None:
    """Interpreter exit: let every logger's audits in flight finish (clients.py calls this
    before it closes the SDK clients those audits use)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for pending in live:
        if len(pending):
            pending.wait_blocking()


__all__ = ["PendingAudits", "wait_for_all"]
