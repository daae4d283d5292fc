"""Terminal IPython: a batch as one progress line rewritten in place (`\\r`), at most ten times a
second, then its final line and the rows that did not go through."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable, Optional

from ...core.events import BatchFinished, BatchPaused, BatchStarted
from .batch_state import BatchState
from .batch_summary import NOT_THROUGH, batch_line, waiting_line
from .escape import short

MIN_INTERVAL_S = 0.1
SHOWN = 10


class BatchTerminal:
    def __init__(self, *, total: int, model: str, backend: str, simulated: bool,
                 preview: Callable[[int], str], out: Any = None) -> None:
        self._state = BatchState(total=total, model=model, preview=preview, simulated=simulated)
        self._out = out or sys.stdout
        self._lock = threading.Lock()
        self._last = 0.0
        self._told_waiting = False
        self._in_place = False
        badge = " [simulated]" if simulated else ""
        self._write(f"AxonFlow: batch of {total} rows of {model}{badge} via {backend}\n")

    @property
    def state(self) -> BatchState:
        return self._state

    def set_simulated(self, simulated: bool) -> None:
        self._state.simulated = simulated

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < MIN_INTERVAL_S:
            return
        self._last = now
        self._write("\r\033[K" + batch_line(self._state))
        self._in_place = True

    def _line(self, text: str) -> None:
        if self._in_place:
            self._write("\n")
            self._in_place = False
        self._write(text + "\n")

    def handle(self, event: Any) -> None:
        with self._lock:
            self._state.apply(event)
            waiting = waiting_line(self._state)
            if waiting and not self._told_waiting:
                self._told_waiting = True
                self._line(f"AxonFlow: {waiting}")
            self._draw(force=isinstance(event, (BatchStarted, BatchPaused, BatchFinished)))

    def starting(self, text: str) -> None:
        with self._lock:
            self._line(f"AxonFlow: {text}")

    def cancelled(self, why: str) -> None:
        with self._lock:
            self._state.cancelled = why or "cancelled"
            self._draw(force=True)
            self._line("")

    def finish(self, result: Any) -> None:
        with self._lock:
            if not self._state.cancelled:
                self._draw(force=True)
                self._line("")
            problems = [row for row in getattr(result, "rows", []) if row.status in NOT_THROUGH]
            for row in problems[:SHOWN]:
                why = f"{type(row.error).__name__}: {row.error}" if row.error is not None else ""
                self._line(f"  #{row.index} {row.status}: {short(why, 160)}")
            if len(problems) > SHOWN:
                self._line(f"  … and {len(problems) - SHOWN} more (the result frame has them all)")

    def abandon(self, why: str) -> None:
        with self._lock:
            self._line(f"AxonFlow: not sent — {why}")

    def summary(self, result: Optional[Any] = None) -> str:
        return batch_line(self._state)


__all__ = ["BatchTerminal"]
