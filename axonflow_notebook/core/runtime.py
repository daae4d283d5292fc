"""The core's one background event loop, and its one ordered shutdown.

Everything the core runs off the caller's own loop runs on `Runtime.loop`, a daemon
thread started on first use: the sync API's pre-checks from threads and running loops
(a notebook cell), the audits of sync calls, the local journal's delivery, review-console
calls made from sync code, and the expiry of abandoned approval requests. One loop means
one SDK client (and connection pool) for all of it.

`run(coro)` blocks the calling thread until `coro` finishes there; KeyboardInterrupt while
waiting cancels the coroutine and lets it unwind first, so nothing is left running behind
the caller. `submit(coro)` returns a `concurrent.futures.Future` at once.

`run_in_caller(coro)` is `run` without the two thread hops, for a script's sync call: in
the main thread with no loop running there, the coroutine runs on a loop of the main
thread's own (an `asyncio.Runner`, which turns Ctrl-C into cancelling it). That loop is
never made the thread's current loop and lives until shutdown.

`post(callback)` schedules a callback on the loop without the calling thread giving up
the GIL: waking the loop directly is a socket write, and any such syscall lets another
thread that wants the GIL (LiteLLM's logging thread, right after a completion) run first,
which the caller then waits out. A forwarding thread blocked on a queue is woken by a lock
release instead. bench/bench_core_overhead.py measures it against `call_soon_threadsafe`
in the same run (`forward_posts = False`).

Shutdown is one `atexit` hook, registered when this module is imported. It runs the steps
other modules register with `at_shutdown`, in `ShutdownStep` order (drain the audits in
flight, flush the journal, expire abandoned approvals, close the SDK clients), then closes
the main thread's loop and stops the background loop. Each step bounds its own wait.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import enum
import logging
import queue
import threading
from typing import Any, Callable, Coroutine, Dict, List, Optional, TypeVar

T = TypeVar("T")

_log = logging.getLogger(__name__)

_HAS_RUNNER = hasattr(asyncio, "Runner")  # Python 3.11+; on 3.10 every sync call uses the loop thread

LOOP_THREAD_NAME = "axonflow-runtime"
FORWARDER_THREAD_NAME = "axonflow-runtime-post"


class ShutdownStep(enum.IntEnum):
    """The order of the exit steps: later steps need what earlier ones finished with."""

    AUDITS = 10  # audits (and approval expiries) in flight still need their SDK clients
    JOURNAL = 20  # the journal's last delivery pass, then its file is closed
    APPROVALS = 30  # approval waits still open are expired on AxonFlow
    CLIENTS = 40  # every SDK client the core built is closed


class Runtime:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._posts: "queue.SimpleQueue[Callable[[], Any]]" = queue.SimpleQueue()
        self._forwarder: Optional[threading.Thread] = None
        self._main_runner: Optional["asyncio.Runner"] = None
        self.forward_posts = True

    # ----- the background loop -------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The background loop, started on first use."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            return loop
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                self._start()
            return self._loop  # type: ignore[return-value]

    @property
    def started(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                loop.close()

        thread = threading.Thread(target=main, name=LOOP_THREAD_NAME, daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread = loop, thread

    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> "concurrent.futures.Future[T]":
        """Schedule `coro` on the background loop; returns at once."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the background loop and block until it finishes."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("Runtime.run called from the runtime's own loop; await the coroutine instead")
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
                # Short waits keep the caller responsive to KeyboardInterrupt however it
                # is delivered (a signal, or _thread.interrupt_main, which only sets a flag).
                try:
                    return future.result(timeout=0.25)
                except concurrent.futures.TimeoutError:
                    if future.done():
                        raise
        except concurrent.futures.CancelledError:
            raise asyncio.CancelledError() from None
        except BaseException:
            if not future.done():  # KeyboardInterrupt while waiting: cancel, let it unwind
                future.cancel()
                if started.wait(0.05):
                    finished.wait(5)
                else:
                    coro.close()
            raise

    def post(self, callback: Callable[[], Any]) -> None:
        """Run `callback` on the background loop soon; the caller keeps the GIL (module doc)."""
        loop = self.loop
        if not self.forward_posts:
            loop.call_soon_threadsafe(callback)
            return
        forwarder = self._forwarder
        if forwarder is None or not forwarder.is_alive():
            with self._lock:
                if self._forwarder is None or not self._forwarder.is_alive():
                    self._forwarder = threading.Thread(target=self._forward, name=FORWARDER_THREAD_NAME,
                                                       daemon=True)
                    self._forwarder.start()
        self._posts.put(callback)

    def _forward(self) -> None:
        while True:
            callback = self._posts.get()
            if callback is _STOP_FORWARDING:
                return
            try:
                self.loop.call_soon_threadsafe(callback)
            except RuntimeError:  # the loop was closed under us (interpreter exit)
                pass

    # ----- the main thread's own loop ------------------------------------

    def run_in_caller(self, coro: Coroutine[Any, Any, T]) -> T:
        """`run`, but in the calling thread when it is the main thread with no loop running."""
        if not _HAS_RUNNER or threading.current_thread() is not threading.main_thread() or loop_running_here():
            return self.run(coro)
        runner = self._main_runner
        if runner is None:
            with self._lock:
                if self._main_runner is None:
                    self._main_runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
                runner = self._main_runner
        try:
            return runner.run(_wakeful(coro))
        except BaseException:
            _unwind_leftovers(runner.get_loop())
            raise

    @property
    def main_loop(self) -> Optional[asyncio.AbstractEventLoop]:
        """The main thread's own loop, if a sync call has made one."""
        runner = self._main_runner
        return runner.get_loop() if runner is not None else None

    # ----- shutdown --------------------------------------------------------

    def stop(self, timeout: float = 2.0) -> None:
        """Close the main thread's loop, stop the background loop and the forwarder."""
        runner, self._main_runner = self._main_runner, None
        if runner is not None:
            try:
                runner.close()  # closes what was opened on its loop (its SDK client) while it runs
            except Exception:
                _log.debug("closing the main thread's loop failed", exc_info=True)
        forwarder, self._forwarder = self._forwarder, None
        if forwarder is not None and forwarder.is_alive():
            self._posts.put(_STOP_FORWARDING)
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(_wind_down(timeout), loop).result(timeout + 1.0)
        except Exception:
            _log.debug("winding down the runtime loop failed", exc_info=True)
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:
            return
        thread.join(timeout)


async def _wind_down(timeout: float) -> None:
    """What `asyncio.run` does before closing a loop: cancel what is left, let it unwind.

    Again while unwinding starts new tasks (a cancelled call's cleanup), until the deadline.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    me = asyncio.current_task()
    while True:
        leftovers = [task for task in asyncio.all_tasks() if task is not me and not task.done()]
        remaining = deadline - loop.time()
        if not leftovers or remaining <= 0:
            break
        for task in leftovers:
            task.cancel()
        await asyncio.wait(leftovers, timeout=remaining)
    await loop.shutdown_asyncgens()


def _stop_forwarding() -> None:
    """The forwarder's stop marker (never called)."""


_STOP_FORWARDING: Callable[[], Any] = _stop_forwarding


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


_RUNTIME = Runtime()
_STEPS: Dict[ShutdownStep, List[Callable[[], None]]] = {}
_STEPS_LOCK = threading.Lock()


def get_runtime() -> Runtime:
    return _RUNTIME


def at_shutdown(step: ShutdownStep, callback: Callable[[], None]) -> None:
    """Run `callback` at interpreter exit, in `step`'s place (each callback bounds its wait)."""
    with _STEPS_LOCK:
        callbacks = _STEPS.setdefault(step, [])
        if callback not in callbacks:
            callbacks.append(callback)


def shutdown() -> None:
    """The ordered shutdown (registered with atexit once, below)."""
    with _STEPS_LOCK:
        steps = sorted(_STEPS.items())
    for step, callbacks in steps:
        for callback in callbacks:
            try:
                callback()
            except Exception:
                _log.warning("shutdown step %s failed", step.name, exc_info=True)
    _RUNTIME.stop()


atexit.register(shutdown)


__all__ = ["Runtime", "ShutdownStep", "get_runtime", "at_shutdown", "shutdown", "loop_running_here"]
