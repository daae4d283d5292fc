"""Import slow modules once, in a worker thread, never on the caller's event loop.

`import litellm` takes 4–5 s and `import axonflow` most of a second. Done on a
notebook kernel's loop, the first governed call would freeze the kernel for that
long (nothing renders, other cells' pre-checks time out). A `BackgroundImport`
runs the import statements in a short-lived thread of its own; coroutines
`await wait()` for it (their loop keeps running), sync code `wait_blocking()`s.
Python's per-module import locks make a concurrent `import` elsewhere simply wait
for the same module: https://docs.python.org/3/reference/import.html#the-module-cache

The thread is not a daemon: a process that exits while the import runs waits for it.
A daemon thread is frozen mid-import when the interpreter finalizes, still holding the
import lock, and the first import during finalization (LiteLLM's half-built transport
printing its `__del__` error) then waited on it forever: the process never exited.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import sys
import threading
from typing import Callable, List, Optional, Tuple


def _imported(name: str) -> bool:
    """Fully imported: in sys.modules and not still running its body."""
    module = sys.modules.get(name)
    if module is None:
        return False
    spec = getattr(module, "__spec__", None)
    return not getattr(spec, "_initializing", False)


class BackgroundImport:
    def __init__(self, *modules: str, thread_name: str) -> None:
        self.modules: Tuple[str, ...] = modules
        self._thread_name = thread_name
        self._lock = threading.Lock()
        self._future: Optional["concurrent.futures.Future[None]"] = None
        self._on_ready: List[Callable[[], None]] = []
        self._announced = False

    def ready(self) -> bool:
        """Whether every module is imported (by us or by anyone else)."""
        if self._announced:
            return True
        if all(_imported(name) for name in self.modules):
            self._announce()
            return True
        return False

    def on_ready(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the modules are imported (now, if they already are)."""
        with self._lock:
            if not self._announced:
                self._on_ready.append(callback)
                return
        callback()

    def _announce(self) -> None:
        with self._lock:
            if self._announced:
                return
            self._announced = True
            callbacks, self._on_ready = self._on_ready, []
        for callback in callbacks:
            callback()

    def start(self) -> "concurrent.futures.Future[None]":
        """Start the import in its thread if nobody has; returns at once."""
        future = self._future
        if future is not None:
            return future
        with self._lock:
            if self._future is not None:
                return self._future
            future = self._future = concurrent.futures.Future()
            # Running from now on: a waiter that gives up (a cancelled cell) cannot cancel the
            # import that every later waiter shares.
            future.set_running_or_notify_cancel()
        if self.ready():
            future.set_result(None)
            return future
        # Not a daemon: exiting waits for the import rather than freezing it holding the import lock.
        threading.Thread(target=self._import, args=(future,), name=self._thread_name, daemon=False).start()
        return future

    def _import(self, future: "concurrent.futures.Future[None]") -> None:
        try:
            for name in self.modules:
                importlib.import_module(name)
            self._announce()
        except BaseException as exc:  # handed to whoever waits
            future.set_exception(exc)
            return
        future.set_result(None)

    async def wait(self) -> None:
        """Wait for the import without blocking the running loop."""
        if self.ready():
            return
        await asyncio.shield(asyncio.wrap_future(self.start()))

    def wait_blocking(self) -> None:
        """Wait for the import in this thread (sync callers)."""
        if not self.ready():
            self.start().result()


__all__ = ["BackgroundImport"]
