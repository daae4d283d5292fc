"""`GovernanceConsole`'s budget and usage methods against the embedded agent, as records."""

from __future__ import annotations

import datetime as dt

import pytest

from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
from axonflow_notebook.core.budget_console import BudgetRequestRefused, covers, forecast_usd
from axonflow_notebook.core.records import BudgetRecord, BudgetStatusRecord
from axonflow_notebook.core.review import GovernanceConsole

POLICIES = """\
policies: []
budgets:
  - id: notebook-daily
    name: Notebook spend per day
    scope: organization
    limit_usd: 0.5
    period: daily
    on_exceed: block
"""


def console_for(agent, client_id: str, secret: str) -> GovernanceConsole:
    return GovernanceConsole(AxonFlowLoggerConfig(endpoint=agent.url, client_id=client_id, client_secret=secret))


async def test_a_reviewer_creates_and_changes_a_budget_a_non_reviewer_is_refused_in_one_line(secured_agent):
    reviewer = console_for(secured_agent, "reviewer", "reviewer-secret")
    analyst = console_for(secured_agent, "analyst", "analyst-secret")
    try:
        with pytest.raises(BudgetRequestRefused) as refused:
            await analyst.create_budget("cap", name="Cap", scope="team", scope_id="risk", limit_usd=5,
                                        period="weekly", on_exceed="block")
        assert refused.value.status == 403 and "only a reviewer" in str(refused.value)
        assert "\n" not in str(refused.value)
        created = await reviewer.create_budget("cap", name="Cap", scope="team", scope_id="risk", limit_usd=5,
                                               period="weekly", on_exceed="block", alert_thresholds=[80])
        assert created == BudgetRecord(id="cap", name="Cap", scope="team", scope_id="risk", limit_usd=5.0,
                                       period="weekly", on_exceed="block", alert_thresholds=(80,), enabled=True,
                                       created_at=created.created_at, updated_at=created.updated_at)
        with pytest.raises(BudgetRequestRefused, match="only a reviewer"):
            await analyst.update_budget("cap", limit_usd=50)
        changed = await reviewer.update_budget("cap", limit_usd=7.5, on_exceed="warn")
        assert (changed.limit_usd, changed.on_exceed) == (7.5, "warn")
        listed = await analyst.list_budgets()  # anyone may read
        assert [(b.id, b.limit_usd, b.source) for b in listed] == [("cap", 7.5, "api")]
        status = await analyst.budget_status("cap")
        assert isinstance(status, BudgetStatusRecord) and status.used_usd == 0 and status.remaining_usd == 7.5
        assert status.period_start is not None and status.period_start.tzinfo is not None
        with pytest.raises(BudgetRequestRefused) as bad:  # the SDK's own validation, one line
            await reviewer.update_budget("cap", limit_usd=0)
        assert bad.value.status == 400 and "limit_usd" in str(bad.value)
        with pytest.raises(BudgetRequestRefused) as missing:
            await analyst.budget_status("nope")
        assert missing.value.status == 404 and "nope" in str(missing.value)
        with pytest.raises(BudgetRequestRefused, match="only a reviewer"):
            await analyst.delete_budget("cap")
        await reviewer.delete_budget("cap")
        assert await reviewer.list_budgets() == []
    finally:
        await reviewer.aclose()
        await analyst.aclose()


async def test_budgets_of_the_policy_file_are_listed_with_their_source_and_read_only(agent_factory, tmp_path):
    path = tmp_path / "team-policies.yaml"
    path.write_text(POLICIES, encoding="utf-8")
    agent = agent_factory(policies=str(path), secret="s3cret-file-budgets")
    console = console_for(agent, "analyst", "s3cret-file-budgets")
    try:
        (budget,) = await console.list_budgets()
        assert (budget.id, budget.name, budget.limit_usd, budget.on_exceed) == (
            "notebook-daily", "Notebook spend per day", 0.5, "block")
        assert budget.source not in ("", "api") and "team-policies.yaml" in budget.source
        with pytest.raises(BudgetRequestRefused) as refused:
            await console.update_budget("notebook-daily", limit_usd=1)
        assert refused.value.status == 409 and "team-policies.yaml" in str(refused.value)
        (status,) = await console.budget_statuses()
        assert status.budget == budget  # the listed record (with its source) is kept
    finally:
        await console.aclose()


async def test_usage_summary_and_breakdown_after_calls(agent_factory, llm):
    agent = agent_factory(secret="s3cret-usage")
    logger = AxonFlowLogger(AxonFlowLoggerConfig(endpoint=agent.url, client_id="analyst", client_secret="s3cret-usage"))
    console = GovernanceConsole(logger)
    try:
        costs = []
        for _ in range(3):
            result = await logger.agovern(model="openai/gpt-4o-mini", api_base=llm.url + "/v1", api_key="sk-test",
                                          messages=[{"role": "user", "content": "count these words"}])
            assert result.ok
            costs.append(next(e.cost_usd for e in result.events if type(e).__name__ == "CompletionFinished"))
        summary = await console.usage_summary()
        assert summary.requests == 3 and summary.total_cost_usd == pytest.approx(sum(costs))
        assert summary.period == "monthly" and summary.tokens_in > 0
        by_model = await console.usage_breakdown("model", period="daily")
        assert by_model.group_by == "model" and [i.requests for i in by_model.items] == [3]
        assert by_model.items[0].cost_usd == pytest.approx(sum(costs))
        check = await console.check_budget(agent_id="analyst")
        assert check.allowed and check.budgets == ()
        with pytest.raises(TypeError, match="unknown field"):
            await console.check_budget(project="x")
    finally:
        await logger.aclose()


def test_forecast_is_linear_from_use_so_far_in_the_period():
    start = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    end = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    budget = BudgetRecord(id="m", name="M", scope="organization", scope_id=None, limit_usd=30.0, period="monthly",
                          on_exceed="block")
    status = BudgetStatusRecord(budget, used_usd=6.0, remaining_usd=24.0, percentage=20.0, exceeded=False,
                                blocked=False, period_start=start, period_end=end)
    ten_days_in = (start + dt.timedelta(days=10)).timestamp()
    assert forecast_usd(status, now=ten_days_in) == pytest.approx(18.0)  # 6 in 10 days -> 18 in 30
    assert forecast_usd(status, now=start.timestamp() + 1) == pytest.approx(6.0 * 30 * 86400 / 60)  # a minute's floor
    assert forecast_usd(status, now=end.timestamp() + 5) == pytest.approx(6.0)


def test_which_budgets_cover_a_call():
    def budget(scope, scope_id=None, enabled=True):
        return BudgetRecord(id="b", name="B", scope=scope, scope_id=scope_id, limit_usd=1.0, period="daily",
                            on_exceed="block", enabled=enabled)

    call = {"agent_id": "notebook", "workflow_id": "/w/a.ipynb", "user_id": "ana", "org_id": None, "team_id": None}
    assert covers(budget("organization"), call)
    assert not covers(budget("organization", "acme"), call)
    assert covers(budget("workflow"), call) and covers(budget("workflow", "/w/a.ipynb"), call)
    assert not covers(budget("workflow", "/w/b.ipynb"), call)
    assert covers(budget("user", "ana"), call) and not covers(budget("team"), call)
    assert not covers(budget("organization", enabled=False), call)
