"""Flow control for a batch: a bounded number of rows in flight, and requests/tokens per minute.

`concurrency` bounds the LLM requests in flight. AxonFlow's pre-checks run up to as many rows
ahead (`admission`), so their round trip hides behind the model's answers instead of adding to
every row. A row takes an LLM slot just before its call and gives it back as soon as the model
has answered (its audit is then one short request); a held row holds no slot at all while a
reviewer decides, so held rows never stop the others.

`Pace` spaces LLM requests to a rate (the generic cell rate algorithm: each request moves a
theoretical arrival time on by its cost; one second's worth may go at once).
https://en.wikipedia.org/wiki/Generic_cell_rate_algorithm
Provider 429s and transient errors are LiteLLM's to retry (`num_retries`); these only keep
the batch from causing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import AsyncIterator, Callable, Optional


class Pace:
    """Units per minute (requests, or tokens), a burst of one second's worth allowed."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not per_minute > 0:
            raise ValueError(f"a rate must be > 0 per minute, got {per_minute!r}")
        self.per_minute = float(per_minute)
        self._clock = clock
        self._tat = 0.0  # theoretical arrival time of the next unit
        self._tolerance = 1.0

    def delay(self, units: float = 1.0) -> float:
        """Book `units` now; the seconds to wait before using them."""
        now = self._clock()
        tat = max(self._tat, now)
        self._tat = tat + units * 60.0 / self.per_minute
        return max(0.0, tat - now - self._tolerance)

    async def take(self, units: float = 1.0) -> None:
        wait = self.delay(units)
        if wait > 0:
            await asyncio.sleep(wait)


class Slots:
    """At most `size` rows in flight."""

    def __init__(self, size: int) -> None:
        self._semaphore = asyncio.Semaphore(size)

    async def acquire(self) -> None:
        await self._semaphore.acquire()

    def release(self) -> None:
        self._semaphore.release()


class RowPacing:
    """One row's share of the batch's flow control (`core.call.CallPacing`)."""

    __slots__ = ("_admission", "_llm", "_paces", "admitted", "calling")

    def __init__(self, admission: Slots, llm: Slots, paces: "tuple[tuple[Pace, float], ...]") -> None:
        self._admission = admission
        self._llm = llm
        self._paces = paces  # (pace, units this row books on it)
        self.admitted = True  # the scheduler admitted the row before starting it
        self.calling = False  # the row holds an LLM slot

    def _leave_admission(self) -> None:
        if self.admitted:
            self.admitted = False
            self._admission.release()

    def release(self) -> None:
        """The model answered, or the row ended: every slot it holds goes back."""
        self._leave_admission()
        if self.calling:
            self.calling = False
            self._llm.release()

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        self._leave_admission()  # approved, the row queues for an LLM slot like any other
        yield

    async def before_llm(self) -> None:
        await self._llm.acquire()
        self.calling = True
        self._leave_admission()
        for pace, units in self._paces:
            await pace.take(units)


def pause_left(until: Optional[float], clock: Callable[[], float] = time.time) -> float:
    """Seconds until `until` (epoch s), 0 when passed or unset."""
    return max(0.0, until - clock()) if until else 0.0


__all__ = ["Pace", "Slots", "RowPacing", "pause_left"]
