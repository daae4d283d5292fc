"""What `%%governed --over DF --background` returns at once: a handle on the running batch.

The batch runs as a task on the core's background loop (its live widget keeps drawing in the cell
that started it). `.status` and `.progress` at any time, `.cancel()` stops it (what finished is
bound, the rest say cancelled), `.result(timeout)` or `await handle` gives the result frame,
`.batch` the `BatchResult`. Where the handle is displayed, the display says how the batch ended.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Dict, List, Optional

from .presenters import PlainLine


class BatchCellHandle:
    def __init__(self, *, total: int, model: str) -> None:
        self._future: "concurrent.futures.Future[Any]" = concurrent.futures.Future()
        self._task: Optional["concurrent.futures.Future[Any]"] = None
        self._run: Any = None
        self._total = total
        self._model = model
        self._status = "running"
        self.batch: Any = None  # the BatchResult, once the batch ended
        self._displays: List[Any] = []
        self._lock = threading.Lock()

    # -- fed by the batch --------------------------------------------------------------------
    def attach(self, task: "concurrent.futures.Future[Any]") -> None:
        self._task = task

    def watch(self, run: Any) -> None:
        self._run = run

    def set_result(self, frame: Any, result: Any) -> None:
        self.batch = result
        self._status = "cancelled" if result.stopped == "cancelled" else \
            "stopped (budget)" if result.stopped == "budget" else "done"
        self._future.set_result(frame)
        self._refresh()

    def set_exception(self, exc: BaseException) -> None:
        self._status = "cancelled" if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)) else "failed"
        self._future.set_exception(exc)
        self._refresh()

    # -- user API --------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """running | done | stopped (budget) | cancelled | failed"""
        return self._status

    @property
    def progress(self) -> Dict[str, int]:
        """Rows by status so far."""
        return self._run.result.counts if self._run is not None else {"pending": self._total}

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> bool:
        """Stop scheduling and cancel the rows in flight; False if the batch had ended."""
        if self._task is None or self.done():
            return False
        self._task.cancel()
        return True

    def result(self, timeout: Optional[float] = None) -> Any:
        """The result frame; waits up to `timeout` seconds (None: until the batch ends)."""
        try:
            return self._future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"the batch is still running after {timeout:g} s ({self.progress})") from None

    def __await__(self) -> Any:
        return asyncio.wrap_future(self._future).__await__()

    # -- display ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in self.progress.items())
        return f"BatchHandle({self._total} rows of {self._model}: {self._status}; {counts})"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        with self._lock:
            self._displays.append(display(PlainLine(repr(self)), display_id=True))

    def _refresh(self) -> None:
        with self._lock:
            displays = list(self._displays)
        for handle in displays:
            try:
                handle.update(PlainLine(repr(self)))
            except Exception:  # the kernel is shutting down
                pass


__all__ = ["BatchCellHandle"]
