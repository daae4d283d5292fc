"""A held call's approval request does not outlive its waiter.

Created with the waiter's deadline as its expiry and the model and context id as its
context; when the waiter gives up (deadline, cancellation, failing polls, exit) the
request is expired at once through AxonFlow's HITL expire route. Against the embedded
agent, an expired request is no longer pending and approving it is a 409.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from axonflow_notebook import ApprovalRejected, ApprovalTimeout, AxonFlowLogger, AxonFlowLoggerConfig
from axonflow_notebook.core import events as ev

from core_fakes import PreCheck

HELD = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
POLICIES = Path(__file__).resolve().parents[2] / "notebooks" / "policies.yaml"


async def _until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


@pytest.mark.parametrize("max_wait, expected", [(2.0, 2), (0.3, 1), (2.5, 3), (300.0, 300)])
async def test_request_expires_with_the_deadline_and_names_model_and_context(make_logger, fake, call, max_wait,
                                                                             expected):
    fake.pre = HELD
    fake.poll_statuses = ["approved"]
    await make_logger(approval_max_wait_seconds=max_wait).acompletion(**call())
    request = fake.created[0]
    assert request.expires_in_seconds == expected
    assert request.request_context == {"model": "openai/test-model", "context_id": "ctx-1"}


async def test_deadline_expires_the_request_before_the_timeout_is_raised(make_logger, fake, call, llm):
    fake.pre = HELD
    seen = []
    with pytest.raises(ApprovalTimeout, match="timed out") as info:
        await make_logger(approval_max_wait_seconds=0.1).acompletion(on_event=seen.append, **call())
    assert "req-1" in str(info.value) and info.value.policies == ["wire"]
    assert fake.expired == ["req-1"]  # already gone when the caller hears about it
    assert [e.status for e in seen if isinstance(e, ev.ApprovalDecided)] == ["timeout"]
    assert llm.count == 0


async def test_cancelled_waiter_expires_its_request(make_logger, fake, call):
    fake.pre = HELD
    logger = make_logger(approval_max_wait_seconds=30)
    task = asyncio.ensure_future(logger.acompletion(**call()))
    assert await _until(lambda: fake.polls >= 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await logger.aflush()
    assert fake.expired == ["req-1"]


async def test_failing_polls_expire_the_request(make_logger, fake, call):
    fake.pre = HELD
    fake.poll_statuses = [RuntimeError("down")] * 2
    logger = make_logger(breaker_failure_threshold=2)
    with pytest.raises(ApprovalRejected, match="2 consecutive"):
        await logger.acompletion(**call())
    assert await logger.aflush()
    assert fake.expired == ["req-1"]


@pytest.mark.parametrize("status", ["approved", "rejected", "expired"])
async def test_a_decided_request_is_left_alone(make_logger, fake, call, status):
    fake.pre = HELD
    fake.poll_statuses = [status]
    logger = make_logger()
    try:
        await logger.acompletion(**call())
    except ApprovalRejected:
        assert status != "approved"
    assert await logger.aflush()
    assert fake.expired == []


# ----- against the embedded agent -----------------------------------------------------------


@pytest.fixture
def held_agent(agent_factory):
    return agent_factory(policies=str(POLICIES))


def _config(agent, **overrides) -> AxonFlowLoggerConfig:
    values = dict(endpoint=agent.url, client_id="analyst", client_secret=getattr(agent, "secret", None) or "x",
                  approval_poll_interval_seconds=0.05, approval_max_wait_seconds=30.0, call_timeout_seconds=2.0)
    values.update(overrides)
    return AxonFlowLoggerConfig(**values)


async def _request_of(seen) -> str:
    assert await _until(lambda: any(isinstance(e, ev.ApprovalRequested) for e in seen))
    return next(e.request_id for e in seen if isinstance(e, ev.ApprovalRequested))


async def _assert_expired_and_unapprovable(agent, make_sdk, request_id: str) -> None:
    from axonflow import AxonFlowError
    from axonflow.hitl import HITLReviewInput

    sdk = make_sdk(agent, "analyst", getattr(agent, "secret", None) or "x")
    row = await sdk.get_hitl_request(request_id)
    assert row.status == "expired", row.status
    reviewer = make_sdk(agent, "reviewer", getattr(agent, "secret", None) or "x")
    with pytest.raises(AxonFlowError, match="409"):
        await reviewer.approve_hitl_request(request_id, HITLReviewInput(
            reviewer_id="late", reviewer_email="late@example.com", comment="too late"))


async def test_agent_request_carries_the_waiters_deadline(held_agent, make_sdk, call):
    from datetime import datetime, timedelta, timezone

    logger = AxonFlowLogger(_config(held_agent, approval_max_wait_seconds=7))
    seen = []
    before = datetime.now(timezone.utc)
    task = asyncio.ensure_future(logger.acompletion(on_event=seen.append, **call("Prepare a wire transfer")))
    request_id = await _request_of(seen)
    sdk = make_sdk(held_agent, "analyst", getattr(held_agent, "secret", None) or "x")
    row = await sdk.get_hitl_request(request_id)
    expires = datetime.fromisoformat(row.expires_at.replace("Z", "+00:00"))
    assert before + timedelta(seconds=6) <= expires <= before + timedelta(seconds=9)
    assert row.request_context == {"model": "openai/test-model", "context_id": row.request_context["context_id"]}
    assert row.request_context["context_id"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await logger.aclose()


async def test_agent_request_expires_when_the_deadline_passes(held_agent, make_sdk, call, llm):
    # AxonFlow's own expiry for it is ceil(2.1) = 3 s after its creation, 0.9 s after the
    # waiter's deadline: "expired" right after the timeout means the waiter expired it.
    logger = AxonFlowLogger(_config(held_agent, approval_max_wait_seconds=2.1))
    seen = []
    with pytest.raises(ApprovalTimeout, match="timed out"):
        await logger.acompletion(on_event=seen.append, **call("Prepare a wire transfer"))
    request_id = next(e.request_id for e in seen if isinstance(e, ev.ApprovalRequested))
    await _assert_expired_and_unapprovable(held_agent, make_sdk, request_id)
    assert llm.count == 0
    await logger.aclose()


async def test_agent_request_expires_when_the_waiter_is_cancelled(held_agent, make_sdk, call, llm):
    logger = AxonFlowLogger(_config(held_agent))
    seen = []
    task = asyncio.ensure_future(logger.acompletion(on_event=seen.append, **call("Prepare a wire transfer")))
    request_id = await _request_of(seen)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await logger.aflush(timeout=5)
    await _assert_expired_and_unapprovable(held_agent, make_sdk, request_id)
    items, _ = await _pending(held_agent)
    assert request_id not in [item.request_id for item in items]
    assert llm.count == 0
    await logger.aclose()


async def _pending(agent):
    from axonflow_notebook.core.review import GovernanceConsole

    console = GovernanceConsole(_config(agent, client_id="reviewer"))
    try:
        return await console.list_queue(status="pending")
    finally:
        await console.aclose()


WAITING_AT_EXIT = """
import asyncio, sys, threading
from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
from axonflow_notebook.core import events as ev

logger = AxonFlowLogger(AxonFlowLoggerConfig(endpoint=sys.argv[1], client_id="analyst", client_secret=sys.argv[3],
                                             approval_poll_interval_seconds=0.05, approval_max_wait_seconds=60))
requested = threading.Event()

def on_event(event):
    if isinstance(event, ev.ApprovalRequested):
        print("request", event.request_id, flush=True)
        requested.set()

def kernel():  # a loop that is simply abandoned at exit, as a kernel's is when it shuts down
    try:
        asyncio.run(logger.acompletion(on_event=on_event, model="openai/test-model", api_base=sys.argv[2],
                                       api_key="sk-test", messages=[{"role": "user", "content": "Prepare a wire transfer"}]))
    except Exception as exc:  # the exit expired the request while this thread still ran: the API says so
        print("ended", type(exc).__name__, exc, flush=True)

threading.Thread(target=kernel, daemon=True).start()
assert requested.wait(60)
print("exiting", flush=True)
"""


def test_a_wait_still_open_at_exit_is_expired(held_agent, llm):
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AXONFLOW_TELEMETRY": "off"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(WAITING_AT_EXIT), held_agent.url,
                           llm.url + "/v1", getattr(held_agent, "secret", None) or "x"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "exiting" in done.stdout
    request_id = next(line.split()[1] for line in done.stdout.splitlines() if line.startswith("request "))

    async def status() -> str:
        from axonflow import AxonFlow

        async with AxonFlow(endpoint=held_agent.url, client_id="analyst",
                            client_secret=getattr(held_agent, "secret", None) or "x") as sdk:
            return (await sdk.get_hitl_request(request_id)).status

    assert asyncio.run(status()) == "expired"
    for noise in ("Traceback", "Task was destroyed", "Unclosed"):
        assert noise not in done.stderr, done.stderr[-3000:]
