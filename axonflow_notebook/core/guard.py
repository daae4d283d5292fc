"""Guard: timeout + breaker around one AxonFlow call, with a verdict on failure.

The guard never decides fail-open vs fail-closed; it tells the pipeline *why*
governance did not answer (`GovernanceUnavailable`) or that a healthy platform
refused outright (`PlatformRejected`), and the pipeline applies the policy.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Optional, TypeVar

from .breaker import Admission, CircuitBreaker

T = TypeVar("T")


class GovernanceUnavailable(Exception):
    """AxonFlow could not give an answer; `reason` is a GovernanceSkipped reason."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class PlatformRejected(Exception):
    """401/402/403: AxonFlow is up and refused the request."""


def _platform_rejection_types() -> tuple:
    from axonflow.exceptions import AuthenticationError, BudgetExceededError, PolicyViolationError

    return (AuthenticationError, BudgetExceededError, PolicyViolationError)


def classify(exc: BaseException) -> str:
    """Map a transport/SDK failure to a GovernanceSkipped reason."""
    import httpx
    from axonflow import exceptions as axe

    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, httpx.TimeoutException, axe.TimeoutError)):
        return "timeout"
    if isinstance(exc, (httpx.TransportError, axe.ConnectionError, OSError)):
        return "unreachable"
    text = str(exc)
    if isinstance(exc, axe.AxonFlowError) and text.startswith("HTTP 5"):
        return "server_error"
    return "bad_response"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text[:300]}" if text else name


if hasattr(asyncio, "timeout"):

    async def bounded(awaitable: Awaitable[T], timeout: float) -> T:
        """`await` with a deadline, without wait_for's extra task (hot path)."""
        async with asyncio.timeout(timeout):
            return await awaitable

else:  # Python 3.10

    async def bounded(awaitable: Awaitable[T], timeout: float) -> T:
        return await asyncio.wait_for(awaitable, timeout)


async def guarded(
    breaker: CircuitBreaker,
    timeout: float,
    call: Callable[[], Awaitable[T]],
    gate: Optional[asyncio.Semaphore] = None,
) -> T:
    """Run `call()` bounded by `timeout`, admitted and judged by `breaker`.

    With a `gate`, the call first waits for a slot; that wait is ours, not
    AxonFlow's, so it is not part of the timeout.
    """
    if gate is None:
        return await _guarded(breaker, timeout, call)
    async with gate:
        return await _guarded(breaker, timeout, call)


async def _guarded(breaker: CircuitBreaker, timeout: float, call: Callable[[], Awaitable[T]]) -> T:
    admission = breaker.acquire()
    if admission is Admission.REFUSED:
        raise GovernanceUnavailable("breaker_open", "circuit breaker open; AxonFlow not contacted")
    try:
        result = await bounded(call(), timeout)
    except asyncio.CancelledError:
        breaker.release(admission)
        raise
    except _platform_rejection_types() as exc:
        breaker.record_success(admission)
        raise PlatformRejected(_describe(exc)) from exc
    except Exception as exc:  # every other failure is an availability failure
        breaker.record_failure(admission)
        reason = classify(exc)
        detail = f"no answer within {timeout:g}s" if reason == "timeout" else _describe(exc)
        raise GovernanceUnavailable(reason, detail) from exc
    except BaseException:
        breaker.release(admission)
        raise
    breaker.record_success(admission)
    return result


__all__ = ["GovernanceUnavailable", "PlatformRejected", "guarded", "bounded", "classify"]
