"""Sync bridge: one daemon event-loop thread per process for the sync API.

`run(coro)` works from a plain script, from threads and from inside a running
loop (a Jupyter cell) without touching the caller's loop. KeyboardInterrupt
while waiting cancels the coroutine and waits for it to unwind, so nothing is
left running behind the caller.

`run_in_caller(coro)` is `run` without the two thread hops, for the common case
of a script's sync call: in the main thread, with no loop running there, the
coroutine runs on a loop of the main thread's own (an `asyncio.Runner`, which
turns Ctrl-C into cancelling it). That loop is never made the thread's current
loop, and it lives as long as the process, so no thread that ends leaves one
behind; every other thread, and a running loop (a Jupyter cell), uses the bridge.

`post(callback)` hands work to the bridge loop without the calling thread giving
up the GIL: waking the loop directly means a socket write, and any such syscall
lets another thread that wants the GIL (LiteLLM's logging thread, right after a
completion) run first, which the caller then waits out. A forwarding thread
blocked on a queue is woken by a lock release instead, and takes the GIL only
when the caller next blocks on its own.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import queue
import threading
from typing import Any, Callable, Coroutine, Optional, TypeVar

T = TypeVar("T")

_HAS_RUNNER = hasattr(asyncio, "Runner")  # Python 3.11+; on 3.10 every sync call uses the bridge


class SyncBridge:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._posts: "queue.SimpleQueue[Callable[[], Any]]" = queue.SimpleQueue()
        self._forwarder: Optional[threading.Thread] = None
        self._main_runner: Optional[asyncio.Runner] = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None and self._thread is not None and self._thread.is_alive():
            return loop
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                self._start()
            return self._loop  # type: ignore[return-value]

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=main, name="axonflow-sync-bridge", daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread = loop, thread
        if self._forwarder is None or not self._forwarder.is_alive():
            self._forwarder = threading.Thread(target=self._forward, name="axonflow-sync-bridge-post", daemon=True)
            self._forwarder.start()

    def in_bridge_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the bridge loop and block until it finishes."""
        if self.in_bridge_thread():
            coro.close()
            raise RuntimeError("SyncBridge.run called from the bridge loop itself; use the async API")
        started = threading.Event()
        finished = threading.Event()

        async def runner() -> T:
            started.set()
            try:
                return await coro
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(runner(), self.loop)
        try:
            while True:
                # Short waits keep the caller responsive to KeyboardInterrupt
                # however it is delivered (signal or interrupt_main).
                try:
                    return future.result(timeout=0.25)
                except concurrent.futures.TimeoutError:
                    if future.done():
                        raise
        except concurrent.futures.CancelledError:
            raise asyncio.CancelledError() from None
        except BaseException:
            if not future.done():
                # KeyboardInterrupt (or similar) in the waiting thread: cancel
                # the coroutine and let it unwind before returning control.
                future.cancel()
                if started.wait(0.05):
                    finished.wait(5)
                else:
                    coro.close()
            raise

    def run_in_caller(self, coro: Coroutine[Any, Any, T]) -> T:
        """`run`, but in the calling thread when it is the main thread with no loop running."""
        if (not _HAS_RUNNER or threading.current_thread() is not threading.main_thread()
                or loop_running_here()):
            return self.run(coro)
        runner = self._main_runner
        if runner is None:
            with self._lock:
                if self._main_runner is None:
                    self._main_runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
                    atexit.register(self._close_main_runner)
                runner = self._main_runner
        try:
            return runner.run(_wakeful(coro))
        except BaseException:
            _unwind_leftovers(runner.get_loop())
            raise

    def _close_main_runner(self) -> None:
        runner, self._main_runner = self._main_runner, None
        if runner is not None:
            runner.close()  # closes what was opened on its loop (the SDK client), while it still runs

    def post(self, callback: Callable[[], Any]) -> None:
        """Run `callback` on the bridge loop soon; the caller keeps the GIL (see module doc)."""
        self.loop  # starts the bridge, and its forwarder, if need be
        self._posts.put(callback)

    def _forward(self) -> None:
        while True:
            callback = self._posts.get()
            try:
                self.loop.call_soon_threadsafe(callback)
            except RuntimeError:  # the loop was closed under us (interpreter exit)
                pass


async def _wakeful(coro: Coroutine[Any, Any, T]) -> T:
    """Await `coro` with the loop waking every 0.25 s.

    A real Ctrl-C interrupts the loop's wait, but `_thread.interrupt_main()` only sets a
    flag, which the main thread notices once the wait ends (as `run`'s short waits do).
    """
    loop = asyncio.get_running_loop()
    tick: Optional[asyncio.TimerHandle] = None

    def wake() -> None:
        nonlocal tick
        tick = loop.call_later(0.25, wake)

    wake()
    try:
        return await coro
    finally:
        if tick is not None:
            tick.cancel()


def _unwind_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel, and let unwind, what an interrupt left pending on the main thread's loop.

    `asyncio.Runner` turns Ctrl-C into cancelling its task only when the default SIGINT
    handler is installed; under any other handler a KeyboardInterrupt can escape the loop
    with the task still pending, to resume (a dead call's approval polling) on the next run.
    """
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    try:
        loop.run_until_complete(asyncio.wait(leftovers, timeout=5))
    except BaseException:
        pass


def loop_running_here() -> bool:
    """Whether an event loop is running in the calling thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_BRIDGE = SyncBridge()


def get_bridge() -> SyncBridge:
    return _BRIDGE


__all__ = ["SyncBridge", "get_bridge", "loop_running_here"]
