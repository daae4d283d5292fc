"""A request must not outlive its waiter: expiry is honoured everywhere, POST /api/v1/hitl/expire
sweeps and expires named requests at once, and the audit trail says how each approval ended."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from axonflow import AxonFlowError
from axonflow.hitl import HITLCreateInput, HITLQueueListOptions, HITLReviewInput
from axonflow.types import AuditSearchRequest

REVIEW = HITLReviewInput(reviewer_id="rev-1", reviewer_email="rev@example.com", comment="ok")
POLICIES = """\
policies:
  - id: fin-wire-transfer
    name: Wire transfers need a human approval
    pattern: '(?i)\\bwire\\s+transfer\\b'
    action: require_approval
"""


def _input(**overrides) -> HITLCreateInput:
    values = dict(client_id="analyst", original_query="wire transfer", request_type="llm_chat",
                  triggered_policy_id="fin-wire-transfer", triggered_policy_name="fin-wire-transfer",
                  trigger_reason="require_approval")
    values.update(overrides)
    return HITLCreateInput(**values)


def _expire(agent, body=None, credentials=None) -> httpx.Response:
    kwargs = {"json": body} if body is not None else {}
    return httpx.post(f"{agent.url}/api/v1/hitl/expire", auth=credentials or ("analyst", agent.secret),
                      timeout=10, **kwargs)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_expires_in_seconds_is_honoured_and_an_expired_request_is_never_pending(sdk, reviewer_sdk):
    before = datetime.now(timezone.utc)
    row = await sdk.create_hitl_request(_input(expires_in_seconds=2))
    assert before + timedelta(seconds=1) <= _when(row.expires_at) <= before + timedelta(seconds=4)
    pending = await sdk.list_hitl_queue(HITLQueueListOptions(status="pending"))
    assert [r.request_id for r in pending.items] == [row.request_id]
    await asyncio.sleep(2.3)
    pending = await sdk.list_hitl_queue(HITLQueueListOptions(status="pending"))
    assert pending.items == [] and pending.total == 0
    with pytest.raises(AxonFlowError, match="HTTP 409.*request has expired"):
        await reviewer_sdk.approve_hitl_request(row.request_id, REVIEW)
    assert (await sdk.get_hitl_request(row.request_id)).status == "expired"


async def test_the_sweep_counts_what_it_expired(agent, sdk):
    await sdk.create_hitl_request(_input(expires_in_seconds=1))
    await sdk.create_hitl_request(_input())
    await asyncio.sleep(1.3)
    first = _expire(agent)
    assert first.status_code == 200
    assert first.json() == {"success": True, "data": {"expired_count": 1}}
    assert _expire(agent, {}).json()["data"]["expired_count"] == 0


async def test_named_requests_expire_at_once(agent, sdk, reviewer_sdk):
    gave_up = await sdk.create_hitl_request(_input())
    decided = await sdk.create_hitl_request(_input())
    waiting = await sdk.create_hitl_request(_input())
    await reviewer_sdk.approve_hitl_request(decided.request_id, REVIEW)
    response = _expire(agent, {"request_ids": [gave_up.request_id, decided.request_id, gave_up.request_id.upper()]})
    assert response.json()["data"]["expired_count"] == 1
    expired = await sdk.get_hitl_request(gave_up.request_id)
    assert expired.status == "expired"
    assert _when(expired.expires_at) <= datetime.now(timezone.utc)
    assert (await sdk.get_hitl_request(decided.request_id)).status == "approved"
    assert (await sdk.get_hitl_request(waiting.request_id)).status == "pending"
    with pytest.raises(AxonFlowError, match="HTTP 409.*request has expired"):
        await reviewer_sdk.approve_hitl_request(gave_up.request_id, REVIEW)
    with pytest.raises(AxonFlowError, match="HTTP 409.*cannot reject request with status: expired"):
        await reviewer_sdk.reject_hitl_request(gave_up.request_id, REVIEW)
    pending = await sdk.list_hitl_queue(HITLQueueListOptions(status="pending"))
    assert [r.request_id for r in pending.items] == [waiting.request_id]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"request_ids": "abc"}, "request_ids must be a list"),
        ({"request_ids": [1]}, "request_ids must be a list"),
        ({"request_ids": ["not-a-uuid"]}, "invalid request ID"),
        ({"ids": []}, "unknown field(s): ids"),
    ],
)
def test_bad_expire_bodies_are_400(agent, body, message):
    response = _expire(agent, body)
    assert response.status_code == 400 and message in response.json()["error"]


async def test_under_an_auth_file_a_client_expires_only_its_own(secured_agent, secured_sdk, make_sdk):
    mine = await secured_sdk.create_hitl_request(_input())
    colleague = make_sdk(secured_agent, "analyst2", "analyst2-secret")
    theirs = await colleague.create_hitl_request(_input(client_id="analyst2"))
    refused = _expire(secured_agent, {"request_ids": [theirs.request_id]}, ("analyst", "analyst-secret"))
    assert refused.status_code == 403 and "may only expire requests it created" in refused.json()["error"]
    assert (await colleague.get_hitl_request(theirs.request_id)).status == "pending"
    own = _expire(secured_agent, {"request_ids": [mine.request_id]}, ("analyst", "analyst-secret"))
    assert own.json()["data"]["expired_count"] == 1
    by_reviewer = _expire(secured_agent, {"request_ids": [theirs.request_id]}, ("reviewer", "reviewer-secret"))
    assert by_reviewer.json()["data"]["expired_count"] == 1


@pytest.fixture
async def held(agent_factory, make_sdk, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(POLICIES, encoding="utf-8")
    agent = agent_factory(policies=str(path))
    return agent, make_sdk(agent), make_sdk(agent, "reviewer")


async def _hold(sdk, query: str) -> tuple[str, str]:
    ctx = await sdk.pre_check(user_token="anonymous", query=query)
    assert ctx.block_reason == "require_approval"
    row = await sdk.create_hitl_request(_input(original_query=query, request_context={
        "model": "gpt-4o", "context_id": ctx.context_id}))
    return ctx.context_id, row.request_id


async def test_audit_entries_carry_the_approval_status(held):
    agent, sdk, reviewer = held
    approved_ctx, approved_id = await _hold(sdk, "wire transfer one")
    rejected_ctx, rejected_id = await _hold(sdk, "wire transfer two")
    expired_ctx, expired_id = await _hold(sdk, "wire transfer three")
    pending_ctx, _ = await _hold(sdk, "wire transfer four")
    plain = await sdk.pre_check(user_token="anonymous", query="a plain question")
    await reviewer.approve_hitl_request(approved_id, REVIEW)
    await reviewer.reject_hitl_request(rejected_id, REVIEW)
    assert _expire(agent, {"request_ids": [expired_id]}).json()["data"]["expired_count"] == 1

    trail = await sdk.search_audit_logs(AuditSearchRequest(limit=10))
    status = {e.id: e.policy_details.get("approval_status") for e in trail.entries}
    assert status == {approved_ctx: "approved", rejected_ctx: "rejected", expired_ctx: "expired",
                      pending_ctx: "pending", plain.context_id: None}
    assert {e.id: e.policy_decision for e in trail.entries}[approved_ctx] == "needs_approval"
    tenant = await sdk.get_audit_logs_by_tenant("analyst")
    assert {e.id: e.policy_details.get("approval_status") for e in tenant.entries} == status
