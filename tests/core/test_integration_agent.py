"""The logger over real sockets: embedded agent + loopback LLM through LiteLLM."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

import httpx
import litellm
import pytest

from axonflow_notebook import (
    ApprovalRejected,
    ApprovalTimeout,
    AxonFlowLogger,
    AxonFlowLoggerConfig,
    PolicyDeniedError,
)
from axonflow_notebook.core import events as ev
from axonflow_notebook.core.review import GovernanceConsole

SECRET = "analyst-SECRET-42"

POLICIES = r"""policies:
  - {id: wire, name: Wire transfers, category: custom, pattern: '(?i)\bwire\s+transfer\b', action: require_approval, severity: high, priority: 100, enabled: true, description: Wire transfers need a human}
  - {id: nuke, name: Nukes, category: custom, pattern: '(?i)\bnuke\b', action: block, severity: critical, priority: 100, enabled: true, description: No nukes}
  - {id: acct, name: Account numbers, category: custom, pattern: '\bACCT-\d{6}\b', action: redact, severity: high, priority: 100, enabled: true, description: Account numbers}
"""


@pytest.fixture
def policies_file(tmp_path):
    path = tmp_path / "policies.yaml"
    path.write_text(POLICIES, encoding="utf-8")
    return str(path)


@pytest.fixture
def gov_agent(agent_factory, policies_file):
    return agent_factory(policies=policies_file, secret=SECRET)


def config_for(url: str, **overrides) -> AxonFlowLoggerConfig:
    values = dict(endpoint=url, client_id="analyst", client_secret=SECRET,
                  approval_poll_interval_seconds=0.05, approval_max_wait_seconds=10.0,
                  call_timeout_seconds=2.0)
    values.update(overrides)
    return AxonFlowLoggerConfig(**values)


@pytest.fixture
def make_live_logger(gov_agent):
    made = []

    def make(**overrides) -> AxonFlowLogger:
        logger = AxonFlowLogger(config_for(gov_agent.url, **overrides))
        made.append(logger)
        return logger

    yield make
    for logger in made:
        try:
            logger.close()
        except Exception:
            pass


def audited_entries(agent) -> list:
    body = httpx.post(agent.url + "/api/v1/audit/search", json={"limit": 1000}, auth=("analyst", agent.secret),
                      timeout=10).json()
    return [e for e in body["entries"] if e.get("audit_id")]


async def first_pending(console: GovernanceConsole, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items, _ = await console.list_queue(status="pending")
        if items:
            return items[0]
        await asyncio.sleep(0.02)
    raise AssertionError("no pending approval request appeared")


async def test_allow_is_audited(make_live_logger, gov_agent, call, llm):
    seen = []
    logger = make_live_logger()
    response = await logger.acompletion(on_event=seen.append, **call("quarterly summary please"))
    assert response.choices[0].message.content == llm.reply and llm.count == 1
    assert await logger.aflush()  # acompletion returns first; the audit follows in the background
    audit = next(e for e in seen if isinstance(e, ev.AuditRecorded))
    assert audit.delivered and audit.audit_id
    entries = audited_entries(gov_agent)
    assert [e["audit_id"] for e in entries] == [audit.audit_id]
    assert entries[0]["model"] == "openai/test-model" and entries[0]["provider"] == "openai"


async def test_deny(make_live_logger, call, llm):
    with pytest.raises(PolicyDeniedError) as info:
        await make_live_logger().acompletion(**call("nuke the database"))
    assert info.value.reason == "No nukes" and "nuke" in info.value.policies
    assert llm.count == 0


async def test_redact(make_live_logger, call, llm):
    seen = []
    await make_live_logger().acompletion(on_event=seen.append, **call("move ACCT-123456 funds"))
    red = next(e for e in seen if isinstance(e, ev.RedactionApplied))
    if red.applied:
        assert "ACCT-123456" not in llm.last_user_message()
    else:
        assert "no redacted text" in red.note


async def test_hitl_approved_by_reviewer_from_another_task(make_live_logger, gov_agent, make_sdk, call, llm):
    logger = make_live_logger()
    reviewer = GovernanceConsole(config_for(gov_agent.url, client_id="reviewer", client_secret=SECRET))
    seen = []
    task = asyncio.ensure_future(logger.acompletion(on_event=seen.append, **call("please wire transfer $5")))
    pending = await first_pending(reviewer)
    assert llm.count == 0
    await reviewer.approve(pending.request_id, "rev-1", "rev@example.com", "looks fine")
    response = await task
    assert response.choices[0].message.content == llm.reply
    await logger.aflush()
    decided = next(e for e in seen if isinstance(e, ev.ApprovalDecided))
    assert decided.status == "approved" and decided.comment == "looks fine"
    assert any(isinstance(e, ev.AuditRecorded) and e.delivered for e in seen)
    await reviewer.aclose()


async def test_hitl_rejected(make_live_logger, gov_agent, call, llm):
    logger = make_live_logger()
    console = GovernanceConsole(logger)
    task = asyncio.ensure_future(logger.acompletion(**call("wire transfer everything")))
    pending = await first_pending(console)
    await console.reject(pending.request_id, "rev-1", "rev@example.com", "no way")
    with pytest.raises(ApprovalRejected) as info:
        await task
    assert "wire" in info.value.policies and "no way" in info.value.reason
    assert llm.count == 0


async def test_hitl_expired_server_side(make_live_logger, gov_agent, call, llm):
    logger = make_live_logger()
    console = GovernanceConsole(logger)
    task = asyncio.ensure_future(logger.acompletion(**call("wire transfer now")))
    pending = await first_pending(console)
    with sqlite3.connect(gov_agent.db_path) as conn:
        conn.execute("UPDATE hitl_requests SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE request_id = ?",
                     (pending.request_id,))
    with pytest.raises(ApprovalRejected, match="expired"):
        await task
    assert llm.count == 0


async def test_hitl_client_timeout(make_live_logger, call, llm):
    with pytest.raises(ApprovalTimeout):
        await make_live_logger(approval_max_wait_seconds=0.3).acompletion(**call("wire transfer soon"))
    assert llm.count == 0


async def test_hitl_polling_disabled(make_live_logger, gov_agent, call):
    logger = make_live_logger(enable_hitl_polling=False)
    with pytest.raises(PolicyDeniedError) as info:
        await logger.acompletion(**call("wire transfer later"))
    assert info.value.reason == "require_approval"
    items, total = await GovernanceConsole(logger).list_queue(status=None)
    assert items == [] and total == 0


async def test_fail_open_and_closed_with_agent_stopped(agent_factory, policies_file, call, llm):
    agent = agent_factory(policies=policies_file)
    url = agent.url
    agent.stop()
    seen = []
    opened = AxonFlowLogger(config_for(url, call_timeout_seconds=0.5))
    response = await opened.acompletion(on_event=seen.append, **call())
    assert response.choices[0].message.content == llm.reply and llm.count == 1
    assert next(e for e in seen if isinstance(e, ev.GovernanceSkipped)).reason == "unreachable"
    llm.reset()
    closed = AxonFlowLogger(config_for(url, fail_open=False, call_timeout_seconds=0.5))
    started = time.monotonic()
    with pytest.raises(PolicyDeniedError) as info:
        await closed.acompletion(**call())
    assert time.monotonic() - started < 2.0  # no SDK retries with 1 s / 2 s waits
    assert "unreachable" in info.value.reason and info.value.__cause__ is not None
    assert llm.count == 0
    with pytest.raises(PolicyDeniedError):
        closed.completion(**call())
    assert llm.count == 0


async def test_breaker_open_half_open_closed_with_agent_restart(agent_factory, policies_file, tmp_path, call, llm):
    db = str(tmp_path / "restart.db")
    agent = agent_factory(policies=policies_file, db_path=db, secret=SECRET)
    port = agent.port
    logger = AxonFlowLogger(config_for(agent.url, breaker_failure_threshold=2, breaker_recovery_seconds=0.5,
                                       call_timeout_seconds=0.5))
    await logger.acompletion(**call())
    agent.stop()
    for _ in range(2):
        await logger.acompletion(**call())
    assert logger.breaker_state == "open"
    seen = []
    await logger.acompletion(on_event=seen.append, **call())
    assert next(e for e in seen if isinstance(e, ev.GovernanceSkipped)).reason == "breaker_open"
    agent_factory(policies=policies_file, db_path=db, port=port, secret=SECRET)
    await asyncio.sleep(0.6)
    seen.clear()
    await logger.acompletion(on_event=seen.append, **call())
    await logger.aflush()
    assert logger.breaker_state == "closed"
    assert any(isinstance(e, ev.DecisionMade) for e in seen)
    assert any(isinstance(e, ev.AuditRecorded) and e.delivered for e in seen)


def test_fifty_sequential_sync_calls_each_audited(make_live_logger, gov_agent, call, llm):
    logger = make_live_logger()
    for index in range(50):
        logger.completion(**call(f"question {index}"))
    assert llm.count == 50
    assert len(audited_entries(gov_agent)) == 50


async def test_sync_calls_inside_running_loop(make_live_logger, gov_agent, call, llm):
    logger = make_live_logger()
    for _ in range(3):
        logger.completion(**call())
    assert len(audited_entries(gov_agent)) == 3


async def test_streaming_async_and_sync(make_live_logger, gov_agent, call, llm):
    logger = make_live_logger()
    stream = await logger.acompletion(stream=True, **call())
    text = "".join([(c.choices[0].delta.content or "") if c.choices else "" async for c in stream])
    assert text == llm.reply
    sync_text = "".join((c.choices[0].delta.content or "") if c.choices else ""
                        for c in logger.completion(stream=True, **call()))
    assert sync_text == llm.reply
    assert await logger.aflush()  # the async stream's audit task runs on this loop
    entries = audited_entries(gov_agent)
    assert len(entries) == 2 and all(e["response_sample"] == llm.reply for e in entries)


@pytest.fixture
def callbacks():
    litellm.logging_callback_manager._reset_all_callbacks()
    yield
    litellm.logging_callback_manager._reset_all_callbacks()


async def test_callback_mode_success_and_failure_audits(make_live_logger, gov_agent, call, llm, callbacks):
    litellm.callbacks = [make_live_logger()]
    await litellm.acompletion(**call())
    llm.fail_status = 500
    with pytest.raises(Exception):
        await litellm.acompletion(num_retries=0, **call())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(audited_entries(gov_agent)) < 2:
        await asyncio.sleep(0.05)
    entries = audited_entries(gov_agent)
    assert len(entries) == 2
    assert any(e["response_sample"].startswith("[ERROR]") for e in entries)


async def test_secret_never_in_output(make_live_logger, agent_factory, policies_file, call, caplog):
    caplog.set_level(logging.DEBUG)
    logger = make_live_logger()
    texts = [repr(logger), str(logger), repr(logger.config), str(logger.config)]
    agent = agent_factory(policies=policies_file)
    url = agent.url
    agent.stop()
    closed = AxonFlowLogger(config_for(url, fail_open=False, call_timeout_seconds=0.3))
    with pytest.raises(PolicyDeniedError) as info:
        await closed.acompletion(**call())
    texts += [str(info.value), repr(info.value), str(info.value.__cause__), caplog.text]
    result = await closed.agovern(**call())
    texts += [repr(result), str(result.error)]
    assert not any(SECRET in text for text in texts)


async def test_bad_credentials_fail_closed_even_when_fail_open(secured_agent, call, llm):
    logger = AxonFlowLogger(config_for(secured_agent.url, client_id="analyst", client_secret="wrong-secret",
                                       fail_open=True, breaker_failure_threshold=1))
    for _ in range(2):
        with pytest.raises(PolicyDeniedError, match="rejected") as info:
            await logger.acompletion(**call())
    assert "wrong-secret" not in str(info.value)
    assert logger.breaker_state == "closed" and llm.count == 0
    good = AxonFlowLogger(config_for(secured_agent.url, client_id="analyst", client_secret="analyst-secret"))
    assert (await good.acompletion(**call())).choices[0].message.content == llm.reply
    await logger.aclose()
    await good.aclose()


async def test_sync_close_inside_running_loop_does_not_deadlock(make_live_logger, gov_agent, call):
    logger = make_live_logger()
    await logger.acompletion(**call())  # a client bound to this loop
    logger.completion(**call())  # and one on the runtime loop
    console = GovernanceConsole(config_for(gov_agent.url, client_id="reviewer"))
    assert await console.health()
    started = time.monotonic()
    logger.close()
    console.close()
    assert time.monotonic() - started < 2.0


async def test_console_audit_search_and_policies(make_live_logger, call):
    logger = make_live_logger()
    await logger.acompletion(**call())
    console = GovernanceConsole(logger)
    assert logger.breaker_state == "closed" and console.breaker_state == "closed"
    page = await console.search_audit(limit=10)
    assert page.entries
    policies = await console.list_policies()
    assert len(policies) > 0
