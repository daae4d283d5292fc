"""The SDK's own budget, usage and pricing calls against the embedded agent, over a real socket.

The SDK sends them to its orchestrator URL (``_orchestrator_request``), which is the client's
one ``endpoint``: the embedded agent's URL, with the agent's secret as the Basic password.
"""

from __future__ import annotations

import httpx
import pytest
from axonflow.exceptions import AxonFlowError
from axonflow.types import (
    BudgetCheckRequest,
    BudgetOnExceed,
    BudgetPeriod,
    BudgetScope,
    CreateBudgetRequest,
    ListBudgetsOptions,
    ListUsageRecordsOptions,
    TokenUsage,
    UpdateBudgetRequest,
)

from axonflow_notebook.agent.budgets.pricing import PriceTable


def _create(name="Team spend", budget_id="team-monthly", **fields) -> CreateBudgetRequest:
    values = dict(id=budget_id, name=name, scope=BudgetScope.ORGANIZATION, limit_usd=10.0,
                  period=BudgetPeriod.MONTHLY, on_exceed=BudgetOnExceed.WARN)
    values.update(fields)
    return CreateBudgetRequest(**values)


async def _call(sdk, cost: float, *, model="gpt-4o", context=None, prompt=20, completion=30):
    decision = await sdk.pre_check("anonymous", "Summarise the quarterly report", context=context)
    await sdk.audit_llm_call(decision.context_id, "ok", "openai", model,
                             TokenUsage(prompt_tokens=prompt, completion_tokens=completion,
                                        total_tokens=prompt + completion),
                             120, {"cost_usd": cost} if cost is not None else {})
    return decision


async def test_create_get_list_update_delete(sdk):
    created = await sdk.create_budget(_create(alert_thresholds=[80, 50]))
    assert (created.id, created.name, created.scope, created.limit_usd, created.period, created.on_exceed) == (
        "team-monthly", "Team spend", "organization", 10.0, "monthly", "warn")
    assert created.alert_thresholds == [50, 80] and created.enabled is True
    assert created.created_at and created.created_at == created.updated_at
    assert await sdk.get_budget("team-monthly") == created

    await sdk.create_budget(_create("Alice", "alice-daily", scope=BudgetScope.USER, scope_id="alice",
                                    period=BudgetPeriod.DAILY, limit_usd=1.0))
    listed = await sdk.list_budgets()
    assert listed.total == 2 and [b.id for b in listed.budgets] == ["team-monthly", "alice-daily"]
    users = await sdk.list_budgets(ListBudgetsOptions(scope=BudgetScope.USER))
    assert users.total == 1 and users.budgets[0].scope_id == "alice"
    page = await sdk.list_budgets(ListBudgetsOptions(limit=1, offset=1))
    assert page.total == 2 and [b.id for b in page.budgets] == ["alice-daily"]

    updated = await sdk.update_budget("team-monthly", UpdateBudgetRequest(limit_usd=25.0, on_exceed=BudgetOnExceed.BLOCK))
    assert (updated.limit_usd, updated.on_exceed, updated.name) == (25.0, "block", "Team spend")
    assert updated.updated_at > updated.created_at
    assert (await sdk.get_budget("team-monthly")).limit_usd == 25.0

    assert await sdk.delete_budget("team-monthly") is None
    assert [b.id for b in (await sdk.list_budgets()).budgets] == ["alice-daily"]
    with pytest.raises(AxonFlowError, match="HTTP 404.*budget not found: team-monthly"):
        await sdk.get_budget("team-monthly")


async def test_status_alerts_and_usage_after_calls(sdk):
    await sdk.create_budget(_create(limit_usd=1.0, alert_thresholds=[50, 80, 100]))
    await _call(sdk, 0.25)
    status = await sdk.get_budget_status("team-monthly")
    assert (status.used_usd, status.remaining_usd, status.percentage) == (0.25, 0.75, 25.0)
    assert not status.is_exceeded and not status.is_blocked
    assert status.period_start.endswith("T00:00:00.000000Z") and status.period_start[8:10] == "01"
    assert (await sdk.get_budget_alerts("team-monthly")).count == 0

    await _call(sdk, 0.35)  # 60%: the 50% threshold
    alerts = (await sdk.get_budget_alerts("team-monthly")).alerts
    assert [(a.threshold, a.alert_type) for a in alerts] == [(50, "threshold_reached")]
    assert alerts[0].percentage_reached == pytest.approx(60.0) and alerts[0].amount_usd == pytest.approx(0.6)
    assert alerts[0].message == "Budget 'Team spend' at 60.0% ($0.6000 / $1.00)"

    await _call(sdk, 0.5)  # 110%: 80 and 100 at once; a warn budget is "exceeded", not "blocked"
    alerts = (await sdk.get_budget_alerts("team-monthly")).alerts
    assert [(a.threshold, a.alert_type) for a in alerts] == [
        (100, "budget_exceeded"), (80, "budget_exceeded"), (50, "threshold_reached")]
    await _call(sdk, 0.01)  # thresholds already reached this period raise nothing again
    assert (await sdk.get_budget_alerts("team-monthly")).count == 3

    summary = await sdk.get_usage_summary("monthly")
    assert summary.total_requests == 4 and summary.total_cost_usd == pytest.approx(1.11)
    assert (summary.total_tokens_in, summary.total_tokens_out) == (80, 120)
    assert summary.average_cost_per_request == pytest.approx(1.11 / 4)
    assert summary.period == "monthly" and summary.period_start == status.period_start


async def test_usage_breakdown_and_records(sdk, make_sdk, agent):
    other = make_sdk(agent, "etl-job")
    await _call(sdk, 0.5, model="gpt-4o")
    await _call(sdk, 0.25, model="gpt-4o-mini", context={"team_id": "risk"})
    await _call(other, 0.25, model="gpt-4o-mini")

    by_model = await sdk.get_usage_breakdown("model", "daily")
    assert by_model.group_by == "model" and by_model.total_cost_usd == pytest.approx(1.0)
    assert [(i.group_value, i.cost_usd, i.request_count, i.percentage) for i in by_model.items] == [
        ("gpt-4o", 0.5, 1, 50.0), ("gpt-4o-mini", 0.5, 2, 50.0)]
    by_agent = await sdk.get_usage_breakdown("agent")
    assert {i.group_value: i.cost_usd for i in by_agent.items} == {"analyst": 0.75, "etl-job": 0.25}
    by_team = await sdk.get_usage_breakdown("team")
    assert {i.group_value: i.request_count for i in by_team.items} == {"": 2, "risk": 1}

    records = await sdk.list_usage_records()
    assert records.total == 3
    newest = records.records[0]
    assert (newest.agent_id, newest.model, newest.provider, newest.cost_usd) == ("etl-job", "gpt-4o-mini", "openai", 0.25)
    assert (newest.tokens_in, newest.tokens_out, newest.latency_ms, newest.success) == (20, 30, 120, True)
    assert newest.user_id == "local-dev@axonflow.local" and newest.created_at and newest.request_id
    assert records.records[1].team_id == "risk"
    mini = await sdk.list_usage_records(ListUsageRecordsOptions(model="gpt-4o-mini", limit=1))
    assert mini.total == 2 and len(mini.records) == 1


async def test_check_budget(sdk):
    assert (await sdk.check_budget(BudgetCheckRequest(org_id="acme"))).allowed is True
    await sdk.create_budget(_create("Analyst", "analyst-cap", scope=BudgetScope.AGENT, scope_id="analyst",
                                    limit_usd=0.5, on_exceed=BudgetOnExceed.BLOCK))
    await sdk.create_budget(_create("Org", "org-cap", limit_usd=100.0))
    fresh = await sdk.check_budget(BudgetCheckRequest(org_id="acme", agent_id="analyst"))
    assert fresh.allowed is True and fresh.action is None
    assert sorted(b.id for b in fresh.budgets) == ["analyst-cap", "org-cap"]

    await _call(sdk, 0.5)
    blocked = await sdk.check_budget(BudgetCheckRequest(org_id="acme", agent_id="analyst"))
    assert (blocked.allowed, blocked.action) == (False, "block")
    assert blocked.message == "Budget 'Analyst' exceeded - requests blocked"
    other = await sdk.check_budget(BudgetCheckRequest(org_id="acme", agent_id="etl-job"))
    assert other.allowed is True and [b.id for b in other.budgets] == ["org-cap"]


async def test_pricing_from_litellms_price_list(sdk):
    table = PriceTable().load()
    gpt4o = table.lookup("gpt-4o")
    assert gpt4o is not None and "LiteLLM price list" in table.source
    one = await sdk.get_pricing("openai", "gpt-4o")
    assert [(p.provider, p.model) for p in one.pricing] == [("openai", "gpt-4o")]
    assert one.pricing[0].pricing.input_per_1k == gpt4o.input_per_1k
    assert one.pricing[0].pricing.output_per_1k == gpt4o.output_per_1k
    anthropic = await sdk.get_pricing("anthropic")
    assert anthropic.pricing and {p.provider for p in anthropic.pricing} == {"anthropic"}
    everything = await sdk.get_pricing()
    assert len(everything.pricing) > len(anthropic.pricing) > 5
    with pytest.raises(AxonFlowError, match="HTTP 404.*no price for 'no-such-model'"):
        await sdk.get_pricing("openai", "no-such-model")


async def test_a_cost_the_client_did_not_send_is_estimated_from_the_price_list(sdk):
    gpt4o = PriceTable().load().lookup("gpt-4o")
    await _call(sdk, None, model="gpt-4o", prompt=1000, completion=2000)
    await _call(sdk, None, model="openai/test-model")
    records = (await sdk.list_usage_records()).records
    raw = {r.model: r for r in records}
    assert raw["gpt-4o"].cost_usd == pytest.approx(gpt4o.input_per_1k + 2 * gpt4o.output_per_1k)
    assert raw["openai/test-model"].cost_usd == 0.0


async def test_cost_usd_is_read_before_cost(agent, sdk):
    decision = await sdk.pre_check("anonymous", "hello")
    await sdk.audit_llm_call(decision.context_id, "ok", "openai", "m",
                             TokenUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2), 5,
                             {"cost_usd": 0.02, "cost": 0.9})
    decision = await sdk.pre_check("anonymous", "hello")
    await sdk.audit_llm_call(decision.context_id, "ok", "openai", "m",
                             TokenUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2), 5, {"cost": 0.03})
    assert (await sdk.get_usage_summary()).total_cost_usd == pytest.approx(0.05)
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret)) as http:
        sources = [r["cost_source"] for r in http.get("/api/v1/usage/records").json()["records"]]
    assert sources == ["client", "client"]


async def test_an_audit_sent_twice_charges_the_call_once(agent, sdk):
    decision = await sdk.pre_check("anonymous", "hello")
    usage = TokenUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
    await sdk.audit_llm_call(decision.context_id, "ok", "openai", "m", usage, 5, {"cost_usd": 0.4})
    await sdk.audit_llm_call(decision.context_id, "ok", "openai", "m", usage, 5, {"cost_usd": 0.5})
    summary = await sdk.get_usage_summary()
    assert (summary.total_requests, summary.total_cost_usd) == (1, 0.5)


BAD_CREATE = [
    ({"id": ""}, "id must be 1-128 characters"),
    ({"id": "has space"}, "id must be 1-128 characters"),
    ({"name": "  "}, "name must be 1-255 characters"),
    ({"name": "a\nb"}, "without control characters"),
    ({"scope": "galaxy"}, "scope must be one of organization, team, agent, workflow, user"),
    ({"limit_usd": 0}, "limit_usd must be greater than 0"),
    ({"limit_usd": -3}, "limit_usd must be greater than 0"),
    ({"limit_usd": "5"}, "limit_usd must be a number of US dollars greater than 0"),
    ({"limit_usd": 2e9}, "limit_usd must be at most 1000000000"),
    ({"period": "hourly"}, "period must be one of daily, weekly, monthly, quarterly, yearly"),
    ({"on_exceed": "explode"}, "on_exceed must be one of warn, block, downgrade"),
    ({"alert_thresholds": [50, "80"]}, "alert_thresholds must be a list of whole percentages from 1 to 1000"),
    ({"alert_thresholds": [0]}, "alert_thresholds must be a list of whole percentages"),
    ({"scope_id": 7}, "scope_id must be a string of at most 256 characters"),
    ({"enabled": "yes"}, "enabled must be true or false"),
    ({"limit": 5}, "unknown field(s): limit (known: id, name, scope"),
]


@pytest.mark.parametrize(("change", "message"), BAD_CREATE)
def test_a_bad_budget_is_400_with_one_line_naming_the_field(agent, change, message):
    body = {"id": "b", "name": "B", "scope": "organization", "limit_usd": 5, "period": "daily", **change}
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret)) as http:
        response = http.post("/api/v1/budgets", json=body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert message in error and "\n" not in error
        assert http.get("/api/v1/budgets").json()["total"] == 0


def test_missing_fields_are_all_named(agent):
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret)) as http:
        error = http.post("/api/v1/budgets", json={"name": "B"}).json()["error"]
    assert error == "id is required; scope is required; limit_usd is required; period is required"


@pytest.mark.parametrize(("change", "message"), [
    ({"limit_usd": 0}, "limit_usd must be greater than 0"),
    ({"scope": "user"}, "scope cannot be changed (delete the budget and create it again)"),
    ({"period": "daily"}, "period cannot be changed"),
    ({"colour": "red"}, "unknown field(s): colour"),
])
def test_a_bad_update_is_400_and_changes_nothing(agent, change, message):
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret)) as http:
        http.post("/api/v1/budgets", json={"id": "b", "name": "B", "scope": "organization",
                                           "limit_usd": 5, "period": "monthly"}).raise_for_status()
        response = http.put("/api/v1/budgets/b", json=change)
        assert response.status_code == 400 and message in response.json()["error"]
        assert http.get("/api/v1/budgets/b").json()["limit_usd"] == 5


async def test_duplicate_unknown_and_bad_queries(agent, sdk):
    await sdk.create_budget(_create())
    with pytest.raises(AxonFlowError, match="HTTP 409.*already exists"):
        await sdk.create_budget(_create())
    for call in (sdk.get_budget_status("nope"), sdk.get_budget_alerts("nope"), sdk.delete_budget("nope"),
                 sdk.update_budget("nope", UpdateBudgetRequest(name="x"))):
        with pytest.raises(AxonFlowError, match="HTTP 404"):
            await call
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret)) as http:
        for path, message in (
            ("/api/v1/usage?period=hourly", "period must be one of daily"),
            ("/api/v1/usage/breakdown?group_by=colour", "group_by must be one of provider, model"),
            ("/api/v1/usage/records?limit=0", "limit must be a whole number from 1 to 1000"),
            ("/api/v1/usage?start_time=yesterday", "start_time must be an ISO 8601 time"),
            ("/api/v1/budgets?scope=galaxy", "scope must be one of"),
        ):
            response = http.get(path)
            assert response.status_code == 400 and message in response.json()["error"], path
        response = http.post("/api/v1/budgets/check", json={"team": "x"})
        assert response.status_code == 400 and "unknown field(s): team" in response.json()["error"]


async def test_with_an_auth_file_only_reviewers_change_budgets(secured_sdk, secured_reviewer_sdk):
    with pytest.raises(AxonFlowError, match="HTTP 403.*only a reviewer may create, change or delete budgets"):
        await secured_sdk.create_budget(_create())
    await secured_reviewer_sdk.create_budget(_create())
    with pytest.raises(AxonFlowError, match="HTTP 403"):
        await secured_sdk.update_budget("team-monthly", UpdateBudgetRequest(limit_usd=1.0))
    with pytest.raises(AxonFlowError, match="HTTP 403"):
        await secured_sdk.delete_budget("team-monthly")
    assert (await secured_sdk.get_budget("team-monthly")).limit_usd == 10.0  # reading is open
    assert (await secured_sdk.get_budget_status("team-monthly")).used_usd == 0.0


def test_budget_routes_need_the_secret(agent):
    for method, path in (("GET", "/api/v1/budgets"), ("POST", "/api/v1/budgets"), ("GET", "/api/v1/usage"),
                         ("GET", "/api/v1/pricing"), ("POST", "/api/v1/budgets/check")):
        response = httpx.request(method, agent.url + path, auth=("analyst", "wrong"), json={})
        assert response.status_code == 401, path
