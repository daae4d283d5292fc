"""GovernanceConsole answers with the project's own records, converted once from the SDK.

The converters take SDK models or raw JSON, tolerate missing and unknown fields, and turn
enums into words; against the embedded agent every console method returns records whose
policy ids are the ones cards show (`fin-wire-transfer`, `sys_pii_ssn`), not UUIDs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from pathlib import Path

import pytest

from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
from axonflow_notebook.core import sdk_records
from axonflow_notebook.core.records import ApprovalRequestRecord, AuditEntry, AuditPage, PolicyChange, PolicyRecord
from axonflow_notebook.core.review import GovernanceConsole, PolicyReloadRejected

POLICIES = Path(__file__).resolve().parents[2] / "notebooks" / "policies.yaml"
UTC = dt.timezone.utc
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def test_policy_record_from_the_sdk_model_uses_the_visible_id_and_words():
    from axonflow.policies import PolicyAction, PolicySeverity, StaticPolicy

    model = StaticPolicy.model_validate({
        "id": "3f1c6a2e-0000-4000-8000-000000000001", "policy_id": "sys_pii_ssn", "name": "SSN",
        "category": "pii-us", "tier": "system", "pattern": r"\d{3}-\d{2}-\d{4}", "severity": "critical",
        "action": "redact", "priority": 10, "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z", "brand_new_field": {"ignored": True},
    })
    assert model.action is PolicyAction.REDACT and model.severity is PolicySeverity.CRITICAL
    record = sdk_records.policy_record(model)
    assert record == PolicyRecord(id="sys_pii_ssn", name="SSN", category="pii-us", action="redact",
                                  severity="critical", priority=10, enabled=True, pattern=r"\d{3}-\d{2}-\d{4}",
                                  description="", tier="system", source="")


def test_converters_tolerate_missing_and_unknown_fields():
    policy = sdk_records.policy_record({"id": "uuid-only", "surprise": 1})
    assert policy.id == "uuid-only" and policy.action == "" and policy.priority == 0 and policy.enabled
    request = sdk_records.approval_record({"request_id": "r-1", "status": "PENDING", "created_at": "2026-02-03T04:05:06",
                                           "request_context": None, "extra": [1, 2]})
    assert request.status == "pending" and request.context == {} and request.expires_at is None
    assert request.created_at == dt.datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    entry = sdk_records.audit_entry({"id": "a-1", "timestamp": "not a time", "policy_details": None})
    assert entry.timestamp is None and entry.policies == () and entry.total_tokens == 0 and entry.cost_usd is None


def test_audit_entry_says_how_a_held_call_ended_and_carries_the_llm_fields():
    raw = {"id": "ctx-9", "timestamp": "2026-03-01T10:00:00.5Z", "policy_decision": "needs_approval",
           "policy_details": {"policies": ["fin-wire-transfer"], "block_reason": "require_approval",
                              "approval_status": "rejected"},
           "model": "openai/gpt-4o", "provider": "openai", "prompt_tokens": 12, "completion_tokens": 30,
           "tokens_used": 42, "cost": 0.0021, "response_time_ms": 812, "query": "wire $2,500",
           "client_id": "nb", "user_email": "ana@example.com", "audit_id": "aud-1",
           "metadata_json": {"call_id": "c1"}}
    entry = sdk_records.audit_entry(raw)
    assert entry == AuditEntry(id="ctx-9", timestamp=dt.datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=UTC),
                               decision="rejected", policies=("fin-wire-transfer",),
                               block_reason="require_approval", model="openai/gpt-4o", provider="openai",
                               prompt_tokens=12, completion_tokens=30, total_tokens=42, cost_usd=0.0021,
                               latency_ms=812, query_preview="wire $2,500", client_id="nb",
                               user="ana@example.com", audit_id="aud-1", metadata={"call_id": "c1"})
    pending = sdk_records.audit_entry({**raw, "policy_details": {"approval_status": "pending"}})
    assert pending.decision == "needs_approval"
    page = sdk_records.audit_page([raw, raw], limit=5, offset=0)  # the bare-array shape
    assert page == AuditPage(entries=(entry, entry), total=2, limit=5, offset=0)


def test_policy_change_from_the_reload_answer():
    change = sdk_records.policy_change({"version": "ab12", "loaded_at": "2026-04-01T08:00:00Z", "source": "cell",
                                        "added": ["x"], "changed": [], "removed": None})
    assert change == PolicyChange(version="ab12", loaded_at=dt.datetime(2026, 4, 1, 8, tzinfo=UTC), source="cell",
                                  added=("x",), changed=(), removed=())


# ----- against the embedded agent -----------------------------------------------------------


@pytest.fixture
def console_agent(agent_factory):
    return agent_factory(policies=str(POLICIES))


def _config(agent, client_id: str = "analyst", **overrides) -> AxonFlowLoggerConfig:
    return AxonFlowLoggerConfig(endpoint=agent.url, client_id=client_id,
                                client_secret=getattr(agent, "secret", None) or "x",
                                approval_poll_interval_seconds=0.05, approval_max_wait_seconds=30,
                                **overrides)


async def _first_pending(console: GovernanceConsole) -> ApprovalRequestRecord:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        items, total = await console.list_queue()
        if items:
            assert total >= len(items)
            return items[0]
        await asyncio.sleep(0.02)
    raise AssertionError("no pending request")


async def test_list_policies_shows_the_ids_users_see(console_agent):
    console = GovernanceConsole(_config(console_agent))
    policies = await console.list_policies()
    await console.aclose()
    assert policies and all(isinstance(p, PolicyRecord) for p in policies)
    by_id = {p.id: p for p in policies}
    assert by_id["fin-wire-transfer"].action == "require_approval"
    assert any(p.startswith("sys_pii_") for p in by_id)
    for policy in policies:
        assert "Policy" not in policy.action + policy.severity + policy.category
        assert policy.action == policy.action.lower() and not UUID.fullmatch(policy.id)


async def test_queue_request_approve_and_audit_as_records(console_agent, call, llm):
    logger = AxonFlowLogger(_config(console_agent))
    console = GovernanceConsole(logger)
    reviewer = GovernanceConsole(_config(console_agent, client_id="reviewer"))
    task = asyncio.ensure_future(logger.acompletion(**call("Prepare a wire transfer of $2,500")))
    try:
        pending = await _first_pending(reviewer)
        assert pending.status == "pending" and pending.policy_id == "fin-wire-transfer"
        assert pending.context["model"] == "openai/test-model" and pending.context["context_id"]
        assert isinstance(pending.created_at, dt.datetime) and pending.created_at.tzinfo is not None
        assert pending.expires_at > pending.created_at
        same = await reviewer.get_request(pending.request_id)
        assert same.request_id == pending.request_id and same.original_query == pending.original_query
        await reviewer.approve(pending.request_id, "rev-1", "rev@example.com", "No PO needed: internal")
        await task
        assert await logger.aflush()
        decided = await reviewer.get_request(pending.request_id)
        assert decided.status == "approved" and decided.review_comment == "No PO needed: internal"
        page = await console.search_audit(limit=20)
        assert isinstance(page, AuditPage) and page.total >= 1
        audited = [e for e in page.entries if e.audit_id]
        assert audited and audited[0].model == "openai/test-model" and audited[0].total_tokens > 0
        assert "fin-wire-transfer" in audited[0].policies
        assert await console.health() is True
    finally:
        task.cancel()
        await reviewer.aclose()
        await logger.aclose()


async def test_expire_ends_a_pending_request(console_agent, call):
    logger = AxonFlowLogger(_config(console_agent))
    reviewer = GovernanceConsole(_config(console_agent, client_id="reviewer"))
    task = asyncio.ensure_future(logger.agovern(**call("Prepare a wire transfer")))
    try:
        pending = await _first_pending(reviewer)
        assert await reviewer.expire([pending.request_id]) == 1
        assert (await reviewer.get_request(pending.request_id)).status == "expired"
        result = await task
        assert "expired" in str(result.error)
    finally:
        task.cancel()
        await reviewer.aclose()
        await logger.aclose()


RELOADED = """policies:
  - {id: only-nukes, name: Nukes, category: custom, pattern: '(?i)\\bnuke\\b', action: block, severity: critical,
     priority: 100, enabled: true, description: No nukes}
"""


async def test_reload_policies_reports_the_change_and_refuses_bad_text(console_agent):
    console = GovernanceConsole(_config(console_agent))
    try:
        dry = await console.reload_policies(RELOADED, "test cell", dry_run=True)
        assert isinstance(dry, PolicyChange) and "only-nukes" in dry.added
        assert "fin-wire-transfer" in dry.removed
        assert "only-nukes" not in {p.id for p in await console.list_policies()}  # a dry run changes nothing
        change = await console.reload_policies(RELOADED, "test cell")
        assert change.source == "test cell" and change.version and change.loaded_at is not None
        assert "only-nukes" in {p.id for p in await console.list_policies()}
        assert (await console.current_policies()).version == change.version
        with pytest.raises(PolicyReloadRejected) as info:
            await console.reload_policies("policies: [{id: broken}]", "bad cell")
        assert info.value.problems and all("\n" not in line for line in info.value.problems)
    finally:
        await console.aclose()
