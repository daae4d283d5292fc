"""The local agent's secret: every route but GET /health refuses a request without it or with
another one (401, a clear message, nothing changed); the secret holder may self-approve."""

from __future__ import annotations

import httpx
import pytest
from axonflow import AuthenticationError
from axonflow.hitl import HITLCreateInput, HITLReviewInput

from axonflow_notebook.agent import AgentConfigError, EmbeddedAgent

HITL = {"client_id": "analyst", "original_query": "wire transfer", "request_type": "llm_chat",
        "triggered_policy_id": "p", "triggered_policy_name": "p", "trigger_reason": "require_approval"}
UUID = "0b9b3bb5-7f0c-4a1e-9d56-4c1f3f8a2b10"


def _writes(request_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("POST", "/api/policy/pre-check", {"query": "hello", "client_id": "intruder"}),
        ("POST", "/api/audit/llm-call", {"context_id": UUID, "client_id": "x", "provider": "openai",
                                         "model": "m", "token_usage": {}}),
        ("POST", "/api/v1/hitl/queue", HITL),
        ("POST", f"/api/v1/hitl/queue/{request_id}/approve", {"reviewer_id": "intruder"}),
        ("POST", f"/api/v1/hitl/queue/{request_id}/reject", {"reviewer_id": "intruder"}),
        ("POST", "/api/v1/hitl/expire", {"request_ids": [request_id]}),
        ("PUT", "/api/v1/local/policies", {"yaml": "", "source": "intruder"}),
        ("POST", "/api/v1/audit/search", {"limit": 10}),
        ("GET", "/api/v1/audit/tenant/analyst", None),
        ("GET", "/api/v1/hitl/queue", None),
        ("GET", f"/api/v1/hitl/queue/{request_id}", None),
        ("GET", "/api/v1/hitl/status", None),
        ("GET", "/api/v1/static-policies", None),
        ("GET", "/api/v1/local/policies", None),
        ("GET", "/api/v1/no-such-route", None),
    ]


@pytest.mark.parametrize("credentials", [None, ("analyst", ""), ("analyst", "wrong-secret"), ("", "wrong")])
def test_without_the_secret_every_route_is_401_and_nothing_changes(agent, credentials):
    good = httpx.Client(base_url=agent.url, auth=("analyst", agent.secret), timeout=10)
    with good:
        request_id = good.post("/api/v1/hitl/queue", json=HITL).json()["data"]["request_id"]
        context = good.post("/api/policy/pre-check", json={"query": "hi", "client_id": "analyst"}).json()
        before_trail = good.post("/api/v1/audit/search", json={"limit": 100}).json()
        before_queue = good.get("/api/v1/hitl/queue").json()
        before_policies = good.get("/api/v1/local/policies").json()["data"]

        with httpx.Client(base_url=agent.url, timeout=10, auth=credentials) as intruder:
            for method, path, body in _writes(request_id):
                response = intruder.request(method, path, json=body)
                assert response.status_code == 401, (method, path, response.text)
                error = response.json()["error"]
                assert error["code"] == 401 and "secret" in error["message"]
                assert agent.secret not in response.text
                if credentials and credentials[1]:
                    assert credentials[1] not in response.text
            assert intruder.get("/health").status_code == 200

        assert good.post("/api/v1/audit/search", json={"limit": 100}).json() == before_trail
        assert good.get("/api/v1/hitl/queue").json() == before_queue
        assert good.get("/api/v1/local/policies").json()["data"] == before_policies
        assert good.get(f"/api/v1/hitl/queue/{request_id}").json()["data"]["status"] == "pending"
        # The context the intruder tried to complete is still open for its owner.
        done = good.post("/api/audit/llm-call", json={
            "context_id": context["context_id"], "client_id": "analyst", "provider": "openai", "model": "m",
            "token_usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
        assert done.status_code == 200


async def test_the_sdk_with_a_wrong_secret_gets_an_authentication_error(agent, make_sdk):
    with pytest.raises(AuthenticationError):
        await make_sdk(agent, "analyst", "wrong").pre_check(user_token="anonymous", query="hello")


async def test_the_secret_holder_may_approve_their_own_request(sdk):
    row = await sdk.create_hitl_request(HITLCreateInput(**HITL))
    await sdk.approve_hitl_request(row.request_id, HITLReviewInput(reviewer_id="analyst", reviewer_email="analyst@example.com", comment="mine"))
    assert (await sdk.get_hitl_request(row.request_id)).status == "approved"


def test_the_username_still_names_the_client(agent):
    with httpx.Client(base_url=agent.url, auth=("alice", agent.secret)) as alice:
        alice.post("/api/policy/pre-check", json={"query": "hello", "client_id": "ignored"})
        entry = alice.post("/api/v1/audit/search", json={"limit": 1}).json()["entries"][0]
    assert entry["client_id"] == "alice"


def test_a_given_secret_is_used_and_never_shown(agent_factory):
    agent = agent_factory(secret="s3cr3t-given-value")
    assert agent.secret == "s3cr3t-given-value"
    assert "s3cr3t" not in repr(agent) and "secret required" in repr(agent)
    ok = httpx.post(f"{agent.url}/api/policy/pre-check", json={"query": "x", "client_id": "a"},
                    auth=("a", "s3cr3t-given-value"))
    assert ok.status_code == 200


def test_generated_secrets_differ_and_are_long(agent_factory):
    first, second = agent_factory(), agent_factory()
    assert first.secret != second.secret and len(first.secret) >= 40


def test_without_a_secret_anything_goes(agent_factory):
    agent = agent_factory(require_secret=False)
    assert agent.secret is None and "insecure" in repr(agent)
    response = httpx.post(f"{agent.url}/api/policy/pre-check", json={"query": "x", "client_id": "a"})
    assert response.status_code == 200


def test_an_auth_file_agent_has_no_secret(secured_agent):
    assert secured_agent.secret is None


@pytest.mark.parametrize("kwargs", [dict(secret="x", require_secret=False), dict(secret="x", auth="a.yaml"),
                                    dict(secret="")])
def test_contradictory_secret_settings_are_refused(tmp_path, kwargs):
    with pytest.raises(AgentConfigError):
        EmbeddedAgent(db_path=str(tmp_path / "a.db"), **kwargs)
