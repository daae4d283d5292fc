"""BatchHandle: a batch running on the core's background loop, for scripts and `--background`.

`result()` waits and returns the `BatchResult`: complete, or partial after `cancel()` (the
rows that never ran end `cancelled`). `await handle` works on any loop. `progress` reads the
live result at any time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any, Dict, Optional

from ..runtime import get_runtime
from .result import BatchResult
from .runner import BatchRun


class BatchHandle:
    def __init__(self, run: BatchRun) -> None:
        self._run = run
        self._future: Optional["concurrent.futures.Future[BatchResult]"] = None

    def start(self) -> "BatchHandle":
        self._future = get_runtime().submit(self._run.run())
        self._future.add_done_callback(lambda future: self._run.abandon() if future.cancelled() else None)
        return self

    @property
    def batch_id(self) -> str:
        return self._run.batch_id

    @property
    def partial(self) -> BatchResult:
        """The result as it stands (rows fill in while the batch runs)."""
        return self._run.result

    @property
    def progress(self) -> Dict[str, int]:
        return self._run.result.counts

    @property
    def status(self) -> str:
        """running | done | cancelled | stopped (budget) | failed"""
        if not self._run.finished.is_set():
            return "running"
        if self._run.error is not None:
            return "failed"
        return {"cancelled": "cancelled", "budget": "stopped"}.get(self._run.result.stopped or "", "done")

    def done(self) -> bool:
        return self._run.finished.is_set()

    def cancel(self) -> bool:
        """Stop scheduling and cancel the rows in flight; False if the batch had already ended."""
        if self._future is None or self.done():
            return False
        self._future.cancel()
        return True

    def result(self, timeout: Optional[float] = None) -> BatchResult:
        """The result once every row has ended; TimeoutError after `timeout` seconds."""
        if not self._run.finished.wait(timeout):
            raise TimeoutError(f"the batch is still running after {timeout:g} s "
                               f"({self._run.result.summary_line()})")
        if self._run.error is not None:
            raise self._run.error
        return self._run.result

    def __await__(self) -> Any:
        return self._wait().__await__()

    async def _wait(self) -> BatchResult:
        while not self._run.finished.is_set():
            await asyncio.sleep(0.05)
        return self.result(0)

    def __repr__(self) -> str:
        return f"BatchHandle({self.status}: {self._run.result.summary_line()})"


__all__ = ["BatchHandle"]
