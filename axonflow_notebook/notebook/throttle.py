"""Throttle: coalesce many update requests into at most N flushes per second.

Events can arrive a thousand times a second (streamed tokens, polls) from any thread; the
frontend should see ≤ 10 comm updates a second (jupyter_server drops IOPub over its rate limit).
A request inside the quiet interval only marks the state dirty and arms one timer; `now=True`
flushes at once, for states that must never lag (a decision, the end of a call).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class Throttle:
    def __init__(self, flush: Callable[[], None], max_per_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._flush = flush
        self._interval = 1.0 / max_per_s if max_per_s and max_per_s > 0 else 0.0
        self._clock = clock
        self._lock = threading.RLock()
        self._last = float("-inf")
        self._dirty = False
        self._timer: Optional[threading.Timer] = None
        self._closed = False

    def request(self, *, now: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            t = self._clock()
            if now or t - self._last >= self._interval:
                self._run(t)
                return
            self._dirty = True
            if self._timer is None:
                self._timer = threading.Timer(self._last + self._interval - t, self._fire)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Run a pending flush now (no-op when nothing is pending)."""
        with self._lock:
            if self._dirty and not self._closed:
                self._run(self._clock())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._cancel_timer()

    def _fire(self) -> None:
        with self._lock:
            self._timer = None
            if self._dirty and not self._closed:
                self._run(self._clock())

    def _run(self, t: float) -> None:
        self._cancel_timer()
        self._dirty = False
        self._last = t
        self._flush()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
