"""The half-open breaker, the guard, fail-open and fail-closed (injected client)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from axonflow.exceptions import AuthenticationError, AxonFlowError, BudgetExceededError, PolicyViolationError

from axonflow_notebook import PolicyDeniedError
from axonflow_notebook.core import events as ev
from axonflow_notebook.core.breaker import Admission, BreakerState, CircuitBreaker
from axonflow_notebook.core.guard import GovernanceUnavailable, guarded


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_breaker_cycle():
    clock = Clock()
    breaker = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(2):
        breaker.record_failure(breaker.acquire())
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure(breaker.acquire())
    assert breaker.state is BreakerState.OPEN
    assert breaker.acquire() is Admission.REFUSED
    clock.now += 10
    probe = breaker.acquire()
    assert probe is Admission.PROBE and breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire() is Admission.REFUSED  # single probe
    breaker.record_failure(probe)
    assert breaker.state is BreakerState.OPEN and breaker.acquire() is Admission.REFUSED
    clock.now += 10
    probe = breaker.acquire()
    breaker.release(probe)  # cancelled probe frees its slot
    probe = breaker.acquire()
    assert probe is Admission.PROBE
    breaker.record_success(probe)
    assert breaker.state is BreakerState.CLOSED and breaker.acquire() is Admission.CALL


def test_success_resets_consecutive_count():
    breaker = CircuitBreaker(2, 10.0)
    breaker.record_failure(breaker.acquire())
    breaker.record_success(breaker.acquire())
    breaker.record_failure(breaker.acquire())
    assert breaker.state is BreakerState.CLOSED


async def test_guard_timeout_and_cancelled_probe():
    clock = Clock()
    breaker = CircuitBreaker(1, 5.0, clock=clock)

    async def slow():
        await asyncio.sleep(5)

    with pytest.raises(GovernanceUnavailable) as info:
        await guarded(breaker, 0.05, slow)
    assert info.value.reason == "timeout" and breaker.state is BreakerState.OPEN
    clock.now += 5
    task = asyncio.ensure_future(guarded(breaker, 5, slow))
    await asyncio.sleep(0.01)
    # concurrent callers during the probe do not reach the call
    reached = []

    async def record():
        reached.append(1)

    with pytest.raises(GovernanceUnavailable, match="breaker_open"):
        await guarded(breaker, 1, record)
    assert reached == []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await guarded(breaker, 1, record) is None  # the slot was freed
    assert breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize("exc,reason", [
    (httpx.ConnectError("refused"), "unreachable"),
    (httpx.ReadTimeout("slow"), "timeout"),
    (AxonFlowError("HTTP 503: down"), "server_error"),
    (AxonFlowError("HTTP 400: bad"), "bad_response"),
    (KeyError("context_id"), "bad_response"),
])
async def test_fail_open_proceeds_and_reports(make_logger, fake, call, llm, exc, reason):
    fake.pre_error = exc
    seen = []
    logger = make_logger()
    response = await logger.acompletion(on_event=seen.append, **call())
    assert response.choices[0].message.content == llm.reply
    await logger.aflush()
    skipped = next(e for e in seen if isinstance(e, ev.GovernanceSkipped))
    assert skipped.reason == reason and skipped.stage == "pre_check"
    audit = next(e for e in seen if isinstance(e, ev.AuditRecorded))
    assert not audit.delivered and fake.audits == []


@pytest.mark.parametrize("exc,cause", [
    (httpx.ConnectError("refused"), "unreachable"),
    (AxonFlowError("HTTP 500: boom"), "server_error"),
])
async def test_fail_closed_raises_policy_denied_naming_cause(make_logger, fake, call, llm, exc, cause):
    fake.pre_error = exc
    with pytest.raises(PolicyDeniedError) as info:
        await make_logger(fail_open=False).acompletion(**call())
    assert cause in info.value.reason and info.value.__cause__ is not None
    assert llm.count == 0


async def test_fail_closed_timeout(make_logger, fake, call, llm):
    fake.pre_delay = 1.0
    with pytest.raises(PolicyDeniedError, match="timeout"):
        await make_logger(fail_open=False, call_timeout_seconds=0.05).acompletion(**call())
    assert llm.count == 0


@pytest.mark.parametrize("exc,says", [
    (AuthenticationError("Invalid credentials"), "rejected"),
    (BudgetExceededError("Budget exceeded"), "used up"),  # the core's BudgetExceededError (a PolicyDeniedError)
    (PolicyViolationError("Tenant mismatch"), "rejected"),
])
async def test_platform_rejection_fails_closed_even_when_open(make_logger, fake, call, llm, exc, says):
    fake.pre_error = exc
    logger = make_logger(fail_open=True, breaker_failure_threshold=1)
    for _ in range(2):
        with pytest.raises(PolicyDeniedError, match=says):
            await logger.acompletion(**call())
    assert logger.breaker_state == "closed" and llm.count == 0


async def test_breaker_opens_and_skips_network(make_logger, fake, call, llm):
    fake.pre_error = httpx.ConnectError("refused")
    logger = make_logger(breaker_failure_threshold=2, breaker_recovery_seconds=60)
    for _ in range(2):
        await logger.acompletion(**call())
    assert logger.breaker_state == "open" and len(fake.pre_checks) == 2
    seen = []
    await logger.acompletion(on_event=seen.append, **call())
    assert len(fake.pre_checks) == 2
    assert next(e for e in seen if isinstance(e, ev.GovernanceSkipped)).reason == "breaker_open"
    closed = make_logger(fail_open=False, breaker_failure_threshold=1, breaker_recovery_seconds=60)
    with pytest.raises(PolicyDeniedError):
        await closed.acompletion(**call())
    with pytest.raises(PolicyDeniedError, match="breaker_open"):
        await closed.acompletion(**call())
    assert llm.count == 3
