"""The static-policy API for custom policies through the official SDK (the real-AxonFlow path
of ``%%axonflow_policy``), applied live: create, update, toggle, delete, effective, with
conflicting ids, invalid fields, and pre-checks running while the set changes."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from axonflow.exceptions import AxonFlowError
from axonflow.policies import (
    CreateStaticPolicyRequest, EffectivePoliciesOptions, ListStaticPoliciesOptions, PolicyAction, PolicyCategory,
    PolicySeverity, PolicyTier, UpdateStaticPolicyRequest,
)


def _employee_ids(name: str = "Employee IDs", **extra) -> CreateStaticPolicyRequest:
    return CreateStaticPolicyRequest(name=name, category=PolicyCategory.PII_GLOBAL,
                                     pattern=r"\bEMP-[0-9]{6}\b", action=PolicyAction.REDACT,
                                     severity=PolicySeverity.HIGH, **extra)


@pytest.fixture
def http(agent):
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret), timeout=30) as client:
        yield client


def _version(http) -> str:
    return http.get("/api/v1/local/policies").json()["data"]["version"]


def _pre_check(http, query: str) -> dict:
    return http.post("/api/policy/pre-check", json={"query": query, "client_id": "analyst"}).json()


async def test_create_applies_live_and_reads_back(sdk, http):
    before = _version(http)
    created = await sdk.create_static_policy(_employee_ids(tags=["hr"]))
    assert created.policy_id == "employee-ids" and created.tier == PolicyTier.TENANT
    assert created.action == PolicyAction.REDACT and created.version == 1 and created.enabled
    answer = _pre_check(http, "Ask EMP-123456 about the rota")
    assert answer["requires_redaction"] and "employee-ids" in answer["policies"]
    assert answer["policy_bundle"] == _version(http) != before
    assert (await sdk.get_static_policy(created.id)).policy_id == "employee-ids"
    assert (await sdk.get_static_policy("employee-ids")).id == created.id
    listed = await sdk.list_static_policies(ListStaticPoliciesOptions(tier=PolicyTier.TENANT))
    assert [p.policy_id for p in listed] == ["employee-ids"]
    effective = await sdk.get_effective_static_policies()
    assert "employee-ids" in {p.policy_id for p in effective}
    raw = http.get(f"/api/v1/static-policies/{created.id}").json()
    assert raw["tags"] == ["hr"] and raw["created_at"] == raw["updated_at"] != "2026-01-01T00:00:00Z"


async def test_update_toggle_delete(sdk, http):
    created = await sdk.create_static_policy(_employee_ids())
    updated = await sdk.update_static_policy(created.id, UpdateStaticPolicyRequest(action=PolicyAction.BLOCK))
    assert updated.action == PolicyAction.BLOCK and updated.version == 2 and updated.updated_at >= created.created_at
    assert _pre_check(http, "EMP-123456")["approved"] is False
    toggled = await sdk.toggle_static_policy(created.id, False)
    assert toggled.enabled is False and toggled.version == 3
    assert _pre_check(http, "EMP-123456")["approved"] is True
    assert "employee-ids" not in {p.policy_id for p in await sdk.get_effective_static_policies()}
    assert "employee-ids" in {p.policy_id for p in await sdk.get_effective_static_policies(
        EffectivePoliciesOptions(include_disabled=True))}
    await sdk.toggle_static_policy(created.id, True)
    await sdk.delete_static_policy(created.id)
    with pytest.raises(AxonFlowError, match="404"):
        await sdk.get_static_policy(created.id)
    assert "employee-ids" not in _pre_check(http, "EMP-123456")["policies"]
    with pytest.raises(AxonFlowError, match="404"):
        await sdk.delete_static_policy(created.id)


async def test_conflicting_ids(sdk):
    await sdk.create_static_policy(_employee_ids())
    with pytest.raises(AxonFlowError, match="409.*already used by a custom policy"):
        await sdk.create_static_policy(_employee_ids())  # same name, same id
    with pytest.raises(AxonFlowError, match="409.*already used by a system policy"):
        await sdk.create_static_policy(_employee_ids(tags=["policy_id:sys_pii_email"]))
    tagged = await sdk.create_static_policy(_employee_ids(tags=["policy_id:emp-v2", "hr"]))
    assert tagged.policy_id == "emp-v2"
    with pytest.raises(AxonFlowError, match="409"):
        await sdk.create_static_policy(_employee_ids(name="Another", tags=["policy_id:emp-v2"]))


@pytest.mark.parametrize("field, value, message", [
    ("pattern", "(unclosed", "pattern '(unclosed' is not a valid RE2 regular expression"),
    ("pattern", "a*", "matches the empty string"),
    ("category", "code-secrets", "category must be one of custom,"),
    ("action", "allow", "action must be one of block,"),
    ("severity", "urgent", "severity must be one of low,"),
    ("priority", 10**9, "priority must be between"),
    ("name", "   ", "name must be 1-255 characters"),
    ("validator", "crc", "validator must be one of"),
    ("enabled", "yes", "enabled must be true or false"),
])
def test_each_invalid_field_is_one_clear_line(http, field, value, message):
    body = {"name": "Bad", "category": "custom", "pattern": "bad", "action": "warn", "tags": ["policy_id:bad"],
            field: value}
    response = http.post("/api/v1/static-policies", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400 and error["message"].startswith("policy 'bad': ") and message in error["message"]
    assert len(error["message"].splitlines()) == 1


def test_several_problems_are_one_line_each_and_nothing_changes(http):
    before = _version(http)
    response = http.post("/api/v1/static-policies", json={
        "name": "Bad", "category": "custom", "pattern": "(", "action": "allow", "severity": "urgent"})
    lines = response.json()["error"]["message"].splitlines()
    assert response.status_code == 400 and len(lines) == 3
    assert [line.split(": ", 1)[1].split(" ", 1)[0] for line in lines] == ["pattern", "action", "severity"]
    assert _version(http) == before
    for missing in ("name", "pattern", "category", "action"):
        body = {"name": "N", "category": "custom", "pattern": "p", "action": "warn"}
        del body[missing]
        assert http.post("/api/v1/static-policies", json=body).json()["error"]["message"] == f"{missing} is required"


def test_legacy_category_names_are_mapped(http):
    created = http.post("/api/v1/static-policies", json={
        "name": "Legacy", "category": "sql_injection", "pattern": "(?i)xp_cmdshell", "action": "block"})
    assert created.status_code == 201 and created.json()["category"] == "security-sqli"


async def test_system_policies_cannot_be_changed(sdk, http):
    calls = (lambda: sdk.update_static_policy("sys_pii_email", UpdateStaticPolicyRequest(action=PolicyAction.BLOCK)),
             lambda: sdk.toggle_static_policy("sys_pii_email", False),
             lambda: sdk.delete_static_policy("sys_pii_email"))
    for call in calls:  # the SDK raises its 403 error with the agent's message
        with pytest.raises(AxonFlowError, match="System policies cannot be"):
            await call()
    assert http.delete("/api/v1/static-policies/sys_pii_email").status_code == 403
    for tier, status in (("system", 403), ("organization", 403), ("galaxy", 400)):
        body = {"name": "T", "category": "custom", "pattern": "t", "action": "warn", "tier": tier}
        assert http.post("/api/v1/static-policies", json=body).status_code == status


async def test_concurrent_edits_lose_nothing(sdk):
    requests = [CreateStaticPolicyRequest(name=f"Rule {i}", category=PolicyCategory.SECURITY_ADMIN,
                                          pattern=f"rule-{i}-token", action=PolicyAction.WARN) for i in range(12)]
    await asyncio.gather(*(sdk.create_static_policy(r) for r in requests))
    listed = await sdk.list_static_policies(ListStaticPoliciesOptions(tier=PolicyTier.TENANT, limit=100))
    assert sorted(p.policy_id for p in listed) == sorted(f"rule-{i}" for i in range(12))


async def test_an_edit_starts_again_when_another_reload_lands_first(agent, sdk, monkeypatch):
    """A reload between reading the set and applying the edit is kept: the edit is redone on top."""
    state = agent.state
    real = state.reload_policies
    raced: list[str] = []

    async def reload_with_a_race(text, source, dry_run, *, expect_version=None):
        if not raced:
            raced.append(source)
            await real("policies:\n  - id: from-reload\n    name: From a reload\n    pattern: reloaded-token\n"
                       "    action: warn\n", "a policy cell", False)
        return await real(text, source, dry_run, expect_version=expect_version)

    monkeypatch.setattr(state, "reload_policies", reload_with_a_race)
    await sdk.create_static_policy(_employee_ids())
    tenant = {p.id for p in state.engine.policies() if p.tier == "tenant"}
    assert raced == ["static-policy API"] and tenant == {"from-reload", "employee-ids"}


async def _answered_more(answers: list, count: int, within: float = 10.0) -> None:
    """Wait until the hammering threads have `count` more answers: each set is pre-checked under
    load however slow the machine, rather than however many answers a fixed time allows."""
    target, deadline = len(answers) + count, time.monotonic() + within
    while len(answers) < target and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


async def test_pre_checks_keep_answering_while_the_set_changes(agent, sdk, http):
    """Calls in flight finish on the set they started with; every answer matches its version."""
    states: dict[str, bool] = {_version(http): False}  # version -> is the wire policy in force
    answers: list[dict] = []
    errors: list[str] = []
    stop = threading.Event()

    def hammer():
        with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret), timeout=30) as client:
            while not stop.is_set():
                r = client.post("/api/policy/pre-check", json={"query": "wire transfer now", "client_id": "a"})
                if r.status_code != 200:
                    errors.append(r.text)
                else:
                    answers.append(r.json())

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        wire = CreateStaticPolicyRequest(name="Wire", category=PolicyCategory.SENSITIVE_DATA,
                                         pattern=r"(?i)wire\s+transfer", action=PolicyAction.REQUIRE_APPROVAL)
        await _answered_more(answers, 4)
        created = await sdk.create_static_policy(wire)
        states[_version(http)] = True
        await _answered_more(answers, 4)
        for i in range(4):
            await sdk.toggle_static_policy(created.id, i % 2 == 1)
            states[_version(http)] = i % 2 == 1
            await _answered_more(answers, 4)
        await sdk.delete_static_policy(created.id)
        states[_version(http)] = False
        await _answered_more(answers, 4)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors and len(answers) > 20
    assert {a["policy_bundle"] for a in answers} <= set(states)
    for a in answers:
        assert (a.get("block_reason") == "require_approval") == states[a["policy_bundle"]]
