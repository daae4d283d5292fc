"""Half-open circuit breaker guarding AxonFlow's availability.

Thread-safe (a plain lock, never held across an await) because the same
logger serves the user's event loop and the runtime's loop (runtime.py) at once.
"""

from __future__ import annotations

import threading
import time
from enum import Enum


class BreakerState(str, Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Admission(Enum):
    """What `acquire` granted: a normal call, the single probe, or nothing."""

    CALL = "call"
    PROBE = "probe"
    REFUSED = "refused"


class CircuitBreaker:
    def __init__(self, failure_threshold: int, recovery_seconds: float, clock=time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.recovery_seconds = recovery_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def acquire(self) -> Admission:
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return Admission.CALL
            if self._state is BreakerState.OPEN:
                if self._clock() - self._opened_at < self.recovery_seconds:
                    return Admission.REFUSED
                self._state = BreakerState.HALF_OPEN
            if self._probe_in_flight:
                return Admission.REFUSED
            self._probe_in_flight = True
            return Admission.PROBE

    def record_success(self, admission: Admission) -> None:
        with self._lock:
            if admission is Admission.PROBE or self._state is not BreakerState.OPEN:
                self._state = BreakerState.CLOSED
                self._failures = 0
            if admission is Admission.PROBE:
                self._probe_in_flight = False

    def record_failure(self, admission: Admission) -> None:
        with self._lock:
            self._failures += 1
            if admission is Admission.PROBE or self._failures >= self.failure_threshold:
                if self._state is not BreakerState.OPEN or admission is Admission.PROBE:
                    self._opened_at = self._clock()
                self._state = BreakerState.OPEN
            if admission is Admission.PROBE:
                self._probe_in_flight = False

    def release(self, admission: Admission) -> None:
        """Give back a slot without a verdict (the call was cancelled)."""
        if admission is Admission.PROBE:
            with self._lock:
                self._probe_in_flight = False


__all__ = ["CircuitBreaker", "BreakerState", "Admission"]
