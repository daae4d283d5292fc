"""Access under --auth, through the official SDK: 401, reviewers only, separation of duties."""

from __future__ import annotations

import httpx
import pytest
from axonflow import AuthenticationError, AxonFlowError, PolicyViolationError, TokenUsage
from axonflow.hitl import HITLCreateInput, HITLReviewInput
from axonflow.types import AuditSearchRequest

from axonflow_notebook.agent import AgentConfigError, EmbeddedAgent

REVIEW = HITLReviewInput(reviewer_id="spoofed", reviewer_email="spoofed@example.com", comment="ok")


def _create_input() -> HITLCreateInput:
    return HITLCreateInput(
        client_id="analyst",
        original_query="wire transfer please",
        request_type="litellm-completion",
        triggered_policy_id="fin-wire-transfer",
        triggered_policy_name="fin-wire-transfer",
        trigger_reason="require_approval",
    )


async def test_valid_credentials_work(secured_sdk):
    result = await secured_sdk.pre_check(user_token="anonymous", query="hello")
    assert result.approved is True


async def test_wrong_secret_unknown_client_and_no_secret_are_401(secured_agent, make_sdk):
    for client_id, secret in (("analyst", "wrong"), ("nobody", "nobody-secret"), ("analyst", "")):
        client = make_sdk(secured_agent, client_id, secret)
        with pytest.raises(AuthenticationError):
            await client.pre_check(user_token="anonymous", query="hello")


def test_401_body_is_the_middleware_envelope(secured_agent):
    response = httpx.post(f"{secured_agent.url}/api/policy/pre-check", json={"query": "x", "client_id": "a"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401
    assert httpx.get(f"{secured_agent.url}/health").status_code == 200


async def test_non_reviewer_cannot_decide(secured_sdk, make_sdk, secured_agent):
    row = await secured_sdk.create_hitl_request(_create_input())
    colleague = make_sdk(secured_agent, "analyst2", "analyst2-secret")
    with pytest.raises(PolicyViolationError, match="not a reviewer"):
        await colleague.approve_hitl_request(row.request_id, REVIEW)


async def test_a_client_may_not_decide_its_own_request(secured_agent, make_sdk):
    reviewer = make_sdk(secured_agent, "reviewer", "reviewer-secret")
    row = await reviewer.create_hitl_request(_create_input())
    with pytest.raises(PolicyViolationError, match="separation of duties"):
        await reviewer.approve_hitl_request(row.request_id, REVIEW)
    with pytest.raises(PolicyViolationError, match="separation of duties"):
        await reviewer.reject_hitl_request(row.request_id, REVIEW)
    other = make_sdk(secured_agent, "reviewer2", "reviewer2-secret")
    await other.approve_hitl_request(row.request_id, REVIEW)


async def test_reviewer_identity_is_the_authenticated_client(secured_sdk, secured_reviewer_sdk):
    row = await secured_sdk.create_hitl_request(_create_input())
    await secured_reviewer_sdk.approve_hitl_request(row.request_id, REVIEW)
    decided = await secured_sdk.get_hitl_request(row.request_id)
    assert decided.status == "approved"
    assert decided.reviewer_id == "reviewer"
    assert decided.reviewer_email == "reviewer@axonflow.local"
    assert decided.review_comment == "ok"


async def test_another_client_cannot_complete_my_context(secured_agent, secured_sdk, make_sdk):
    ctx = await secured_sdk.pre_check(user_token="anonymous", query="hello")
    intruder = make_sdk(secured_agent, "analyst2", "analyst2-secret")
    with pytest.raises(AxonFlowError, match="HTTP 400.*Invalid or expired context"):
        await intruder.audit_llm_call(
            context_id=ctx.context_id, response_summary="x", provider="openai", model="gpt-4o",
            token_usage=TokenUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2), latency_ms=1,
        )


async def test_audit_reads_are_scoped_to_the_client(secured_agent, secured_sdk, make_sdk, secured_reviewer_sdk):
    await secured_sdk.pre_check(user_token="anonymous", query="mine")
    other = make_sdk(secured_agent, "analyst2", "analyst2-secret")
    await other.pre_check(user_token="anonymous", query="theirs")
    mine = await secured_sdk.search_audit_logs(AuditSearchRequest(limit=10))
    assert [e.client_id for e in mine.entries] == ["analyst"]
    everything = await secured_reviewer_sdk.search_audit_logs(AuditSearchRequest(limit=10))
    assert {e.client_id for e in everything.entries} == {"analyst", "analyst2"}


def test_local_mode_refuses_non_loopback(tmp_path):
    agent = EmbeddedAgent(db_path=str(tmp_path / "a.db"), host="0.0.0.0")
    with pytest.raises(AgentConfigError, match="refusing to listen on 0.0.0.0"):
        agent.start()


@pytest.mark.parametrize(
    "text, message",
    [
        ("clients: []\n", "'clients' is empty"),
        ("clients:\n  - id: a\n", "clients[0] (id 'a'): field 'secret'"),
        ("clients:\n  - id: a\n    secret: s\n    reviewer: yes-please\n", "field 'reviewer'"),
        ("clients:\n  - id: a\n    secret: s\n  - id: a\n    secret: t\n", "clients[1] (id 'a'): field 'id' repeats"),
        ("clients:\n  - secret: s\n", "clients[0]: field 'id'"),
        ("nope: 1\n", "top-level 'clients:' list"),
    ],
)
def test_bad_auth_file_names_entry_and_field(tmp_path, text, message):
    path = tmp_path / "auth.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AgentConfigError) as info:
        EmbeddedAgent(db_path=str(tmp_path / "a.db"), auth=str(path)).start()
    assert message in str(info.value)
    assert "s\n" not in str(info.value)


def test_port_in_use_is_a_clear_error(agent, tmp_path):
    busy = EmbeddedAgent(port=agent.port, db_path=str(tmp_path / "b.db"))
    with pytest.raises(AgentConfigError, match=f"cannot listen on 127.0.0.1:{agent.port}"):
        busy.start()
    busy.stop()
