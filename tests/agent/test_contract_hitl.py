"""The HITL queue through the official SDK: create, list, get, approve/reject, 409s, expiry."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from axonflow import AxonFlowError
from axonflow.hitl import HITLCreateInput, HITLQueueListOptions, HITLReviewInput


def _create_input(**overrides) -> HITLCreateInput:
    values = dict(
        client_id="analyst",
        original_query="Start a wire transfer of $5,000",
        request_type="litellm-completion",
        request_context={"model": "gpt-4o"},
        triggered_policy_id="fin-wire-transfer",
        triggered_policy_name="fin-wire-transfer",
        trigger_reason="require_approval",
    )
    values.update(overrides)
    return HITLCreateInput(**values)


REVIEW = HITLReviewInput(reviewer_id="rev-1", reviewer_email="rev@example.com", comment="looks fine")


def test_status_reports_enabled(agent):
    response = httpx.get(f"{agent.url}/api/v1/hitl/status", auth=("analyst", agent.secret))
    assert response.status_code == 200
    assert response.json()["enabled"] is True


def test_create_answers_201_in_the_envelope(agent):
    body = _create_input().model_dump(exclude_none=True)
    response = httpx.post(f"{agent.url}/api/v1/hitl/queue", json=body, auth=("analyst", agent.secret))
    assert response.status_code == 201
    payload = response.json()
    assert payload["success"] is True and payload["data"]["status"] == "pending"


async def test_create_defaults_severity_high_and_24h_expiry(sdk):
    before = datetime.now(timezone.utc)
    row = await sdk.create_hitl_request(_create_input())
    assert row.status == "pending" and row.severity == "high"
    assert row.request_context == {"model": "gpt-4o"}
    expires = datetime.fromisoformat(row.expires_at.replace("Z", "+00:00"))
    assert before + timedelta(hours=23, minutes=59) <= expires <= before + timedelta(hours=24, minutes=1)


async def test_expiry_is_capped_at_seven_days(sdk):
    before = datetime.now(timezone.utc)
    row = await sdk.create_hitl_request(_create_input(expires_in_seconds=30 * 24 * 3600))
    expires = datetime.fromisoformat(row.expires_at.replace("Z", "+00:00"))
    assert expires <= before + timedelta(days=7, minutes=1)
    assert expires >= before + timedelta(days=6, hours=23)


async def test_create_without_policy_fields_is_400(sdk):
    with pytest.raises(AxonFlowError, match="HTTP 400.*triggered_policy_id is required"):
        await sdk.create_hitl_request(
            HITLCreateInput(client_id="analyst", original_query="q", request_type="llm_chat")
        )


async def test_invalid_severity_is_400(sdk):
    with pytest.raises(AxonFlowError, match="HTTP 400.*invalid severity"):
        await sdk.create_hitl_request(_create_input(severity="urgent"))


async def test_get_returns_the_row(sdk):
    created = await sdk.create_hitl_request(_create_input(user_id="u-7"))
    fetched = await sdk.get_hitl_request(created.request_id)
    assert fetched.request_id == created.request_id
    assert fetched.original_query == "Start a wire transfer of $5,000"
    assert fetched.user_id == "u-7"


async def test_get_unknown_is_404_and_malformed_id_400(sdk):
    with pytest.raises(AxonFlowError, match="HTTP 404.*approval request not found"):
        await sdk.get_hitl_request("0b9b3bb5-7f0c-4a1e-9d56-4c1f3f8a2b10")
    with pytest.raises(AxonFlowError, match="HTTP 400.*invalid request ID"):
        await sdk.get_hitl_request("not-a-uuid")


async def test_list_filters_by_status_and_severity_with_paging(sdk, reviewer_sdk):
    low = [await sdk.create_hitl_request(_create_input(severity="low")) for _ in range(3)]
    critical = await sdk.create_hitl_request(_create_input(severity="critical"))
    await reviewer_sdk.approve_hitl_request(low[0].request_id, REVIEW)

    pending = await sdk.list_hitl_queue(HITLQueueListOptions(status="pending"))
    assert pending.total == 3
    assert {r.request_id for r in pending.items} == {low[1].request_id, low[2].request_id, critical.request_id}
    # Newest first.
    assert pending.items[0].request_id == critical.request_id

    crit = await sdk.list_hitl_queue(HITLQueueListOptions(severity="critical"))
    assert [r.request_id for r in crit.items] == [critical.request_id]

    page = await sdk.list_hitl_queue(HITLQueueListOptions(status="pending", limit=2, offset=0))
    assert len(page.items) == 2 and page.total == 3 and page.has_more is True
    rest = await sdk.list_hitl_queue(HITLQueueListOptions(status="pending", limit=2, offset=2))
    assert len(rest.items) == 1

    approved = await sdk.list_hitl_queue(HITLQueueListOptions(status="approved"))
    assert [r.request_id for r in approved.items] == [low[0].request_id]


async def test_approve_records_the_reviewer_and_second_decision_is_409(sdk, reviewer_sdk):
    row = await sdk.create_hitl_request(_create_input())
    await reviewer_sdk.approve_hitl_request(row.request_id, REVIEW)
    decided = await sdk.get_hitl_request(row.request_id)
    assert decided.status == "approved"
    assert decided.reviewer_id == "rev-1"
    assert decided.reviewer_email == "rev@example.com"
    assert decided.review_comment == "looks fine"
    assert decided.reviewed_at
    with pytest.raises(AxonFlowError, match="HTTP 409.*cannot approve request with status: approved"):
        await reviewer_sdk.approve_hitl_request(row.request_id, REVIEW)
    with pytest.raises(AxonFlowError, match="HTTP 409.*cannot reject request with status: approved"):
        await reviewer_sdk.reject_hitl_request(row.request_id, REVIEW)


async def test_reject(sdk, reviewer_sdk):
    row = await sdk.create_hitl_request(_create_input())
    await reviewer_sdk.reject_hitl_request(row.request_id, REVIEW)
    assert (await sdk.get_hitl_request(row.request_id)).status == "rejected"


async def test_concurrent_deciders_exactly_one_wins(sdk, reviewer_sdk):
    row = await sdk.create_hitl_request(_create_input())
    results = await asyncio.gather(
        *(reviewer_sdk.approve_hitl_request(row.request_id, REVIEW) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(r is None for r in results) == 1
    assert all("HTTP 409" in str(r) for r in results if r is not None)


async def test_expired_request_reads_back_expired_and_cannot_be_approved(sdk, reviewer_sdk):
    row = await sdk.create_hitl_request(_create_input(expires_in_seconds=1))
    assert row.status == "pending"
    await asyncio.sleep(1.2)
    assert (await sdk.get_hitl_request(row.request_id)).status == "expired"
    with pytest.raises(AxonFlowError, match="HTTP 409.*request has expired"):
        await reviewer_sdk.approve_hitl_request(row.request_id, REVIEW)
    listed = await sdk.list_hitl_queue(HITLQueueListOptions(status="expired"))
    assert [r.request_id for r in listed.items] == [row.request_id]


async def test_held_call_approved_then_audited_is_one_entry(agent_factory, make_sdk, tmp_path):
    """The LiteLLM flow end to end: hold → queue → approve → audit with the original context."""
    from axonflow import TokenUsage
    from axonflow.types import AuditSearchRequest

    policies = tmp_path / "p.yaml"
    policies.write_text(
        "policies:\n"
        "  - id: fin-wire-transfer\n"
        "    name: Wire transfers need a human approval\n"
        "    category: custom\n"
        "    pattern: '(?i)\\bwire\\s+transfer\\b'\n"
        "    action: require_approval\n"
        "    severity: high\n"
        "    priority: 500\n"
        "    enabled: true\n"
        "    description: Wire transfers need a human approval\n",
        encoding="utf-8",
    )
    agent = agent_factory(policies=str(policies))
    analyst, reviewer = make_sdk(agent), make_sdk(agent, "reviewer")
    ctx = await analyst.pre_check(user_token="anonymous", query="Send a wire transfer to ACME")
    assert ctx.approved is False and ctx.block_reason == "require_approval"
    row = await analyst.create_hitl_request(_create_input(
        original_query="Send a wire transfer to ACME",
        triggered_policy_id=ctx.policies[0], triggered_policy_name=ctx.policies[0],
    ))
    await reviewer.approve_hitl_request(row.request_id, REVIEW)
    assert (await analyst.get_hitl_request(row.request_id)).status == "approved"
    await analyst.audit_llm_call(
        context_id=ctx.context_id, response_summary="sent", provider="openai", model="gpt-4o",
        token_usage=TokenUsage(prompt_tokens=3, completion_tokens=4, total_tokens=7), latency_ms=12,
    )
    trail = await analyst.search_audit_logs(AuditSearchRequest(limit=10))
    assert len(trail.entries) == 1
    entry = trail.entries[0]
    assert entry.policy_decision == "needs_approval" and entry.model == "gpt-4o"
    assert entry.policy_details["policies"] == ["fin-wire-transfer"]
