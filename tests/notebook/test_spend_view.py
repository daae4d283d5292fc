"""The spend card and `%axonflow budget`'s table from events and records: what they say, the bar's
widths, and that everything is escaped and nothing is typeset as maths (dollar amounts)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from axonflow_notebook.core.events import BudgetChecked, CallFailed, CompletionFinished, DecisionMade
from axonflow_notebook.core.records import BudgetRecord, BudgetStatusRecord, UsageSummaryRecord
from axonflow_notebook.notebook.ui import CallView, budgets_table, render_event_text
from axonflow_notebook.testing.inert import assert_inert, assert_inert_markdown, assert_no_math_html

HOSTILE = "Team <script>alert(1)</script> $x$ \\(y\\) budget"


def decided(status: str = "approved", policies=(), reason=None) -> DecisionMade:
    return DecisionMade("c1", status=status, policies=tuple(policies), block_reason=reason, context_id="ctx-1",
                        latency_ms=2.0)


def budget(status: str = "within", used: float = 4.0, limit: float = 10.0, action: str = "block",
           name: str = "Team cap", warning=None) -> BudgetChecked:
    return BudgetChecked("c1", budget_id="team-cap", budget_name=name, used_usd=used, limit_usd=limit,
                         percentage=used / limit * 100, action=action, status=status, period="monthly",
                         scope="team", warning=warning)


def finished(cost: float = 1.0) -> CompletionFinished:
    return CompletionFinished("c1", model="gpt-4o-mini", provider="openai", prompt_tokens=1, completion_tokens=2,
                              total_tokens=3, cost_usd=cost, latency_ms=5.0, simulated=False, text="ok")


def view(*events) -> CallView:
    card = CallView(prompt="Summarise the report", model="gpt-4o-mini", backend="http://x", simulated=False,
                    actions=None)
    for event in events:
        card.handle(event)
    return card


def widths(html: str) -> tuple:
    used = re.search(r'axonflow-budget-used" style="width:([\d.]+)%', html)
    added = re.search(r'axonflow-budget-added" style="width:([\d.]+)%', html)
    return float(used.group(1)), float(added.group(1))


def test_a_call_under_a_budget_shows_what_it_added_and_the_bar():
    card = view(decided(), budget(), finished(1.0))
    payload = card.payload()["spend"]
    assert payload["tone"] == "ok" and payload["flag"] == ""
    assert payload["rows"][0] == ["This call", "$1.00"]
    assert payload["rows"][1] == ["Budget", "Team cap (team-cap) · monthly (UTC) · blocks calls at its limit"]
    assert payload["rows"][2] == ["Used", "$5.00 of $10.00 (50%) this month, after this call"]
    assert payload["bar"] == {"before": 40.0, "added": 10.0, "percent": 50.0,
                              "label": "$5.00 of $10.00 (50%) this month, after this call", "tone": "ok"}
    rich = card.summary(None)
    assert "axonflow-spend" in rich.html and widths(rich.html) == (40.0, 10.0)
    assert "budget Team cap: 50% of $10.00" in rich.plain and "spent $1.00" in rich.plain
    assert "████████▒▒░░░░░░░░░░ 50%" in rich.markdown
    card.close()


def test_a_warning_budget_warns_and_never_fails():
    card = view(decided(), budget("warning", used=12.0, action="warn", warning="Budget 'Team cap' exceeded - 120.0%"),
                finished(0.5))
    state = card.state
    assert state.outcome() == "allowed_with_warnings"
    payload = card.payload()
    assert payload["tone"] == "warn" and payload["outcome_word"] == "allowed with warnings"
    assert payload["spend"]["tone"] == "warn" and payload["spend"]["flag"] == "over budget (warning)"
    assert ["Warning", "Budget 'Team cap' exceeded - 120.0%"] in payload["spend"]["rows"]
    assert payload["spend"]["bar"]["before"] == 100.0 and payload["spend"]["bar"]["added"] == 0.0
    assert payload["spend"]["bar"]["percent"] == pytest.approx(125.0)
    assert "Call failed" not in card.summary(None).html
    card.close()


def test_a_call_refused_over_budget_added_nothing_and_shows_the_budget_used_up():
    card = view(budget("blocked", used=10.2), decided("blocked", ["budget_exceeded"], "Budget 'Team cap' exceeded"),
                CallFailed("c1", stage="pre_check", error_type="BudgetExceededError", message="budget used up"))
    payload = card.payload()
    assert payload["outcome_word"] == "blocked"
    spend = payload["spend"]
    assert spend["title"] == "Spend — budget used up, call refused" and spend["tone"] == "bad"
    assert spend["rows"][0] == ["This call", "nothing: the call was not sent to the model"]
    assert spend["bar"]["before"] == 100.0 and spend["note"] == ""
    rich = card.summary(None)
    assert "(used up, call refused)" in rich.plain and "Reason" in rich.html
    card.close()


def test_no_budget_no_spend_card_the_audit_cost_is_the_spend():
    card = view(decided(), finished(0.25))
    assert card.payload()["spend"] is None
    rich = card.summary(None)
    assert "axonflow-spend" not in rich.html and "spent $0.2500" in rich.plain
    card.close()


def test_everything_is_escaped_and_no_dollar_is_typeset():
    card = view(decided(), budget(name=HOSTILE, warning=HOSTILE), finished(0.000123))
    rich = card.summary(None)
    assert_inert(rich.html)
    assert_no_math_html(rich.html)
    assert_inert_markdown(rich.markdown)
    assert "\n" not in rich.plain
    line = render_event_text(budget(name=HOSTILE))
    assert "\n" not in line and "Team" in line
    card.close()


def statuses(now: dt.datetime):
    start, end = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0), now + dt.timedelta(days=20)
    cap = BudgetRecord(id="team-cap", name=HOSTILE, scope="workflow", scope_id="/home/ana/$HOME.ipynb",
                       limit_usd=10.0, period="monthly", on_exceed="block", source="api")
    soft = BudgetRecord(id="daily-soft", name="Daily soft", scope="organization", scope_id=None, limit_usd=2.0,
                        period="daily", on_exceed="warn", source="team-policies.yaml")
    return [BudgetStatusRecord(cap, 4.0, 6.0, 40.0, False, False, start, end),
            BudgetStatusRecord(soft, 2.5, -0.5, 125.0, True, False, start, end)]


def test_the_budget_table_shows_use_limit_period_forecast_and_source():
    now = dt.datetime(2026, 11, 11, 12, tzinfo=dt.timezone.utc)
    rows = statuses(now)
    usage = UsageSummaryRecord(0.75, 3, 30, 60, 0.25, "monthly", None, None)
    rich = budgets_table(rows, forecasts={"team-cap": 12.0, "daily-soft": 2.5}, applies={"team-cap"}, usage=usage,
                         notebook="/home/ana/$HOME.ipynb", user="ana", client_id="notebook", now=now.timestamp())
    assert_inert(rich.html)
    assert_no_math_html(rich.html)
    assert_inert_markdown(rich.markdown)
    assert "2 in force" in rich.plain and "This notebook this month: $0.7500 over 3 calls." in rich.plain
    assert "$4.00 of $10.00 (40%)" in rich.plain and "$12.00 (over by $2.00)" in rich.plain
    assert "extended linearly" in rich.plain and "covers this notebook" in rich.html
    assert "policy file team-policies.yaml" in rich.html and rich.html.count("axonflow-budget-bar") == 2
    assert rich.metadata == {"axonflow": {"budgets": ["team-cap", "daily-soft"]}}
    empty = budgets_table([], forecasts={}, applies=set())
    assert "none in force" in empty.plain and "%axonflow budget set" in empty.plain


def test_terminal_lines_for_a_budget():
    assert render_event_text(budget()) == ("budget Team cap: $4.00 of $10.00 (40%) used before this call, monthly")
    assert render_event_text(budget("blocked", used=10.0)).endswith("— USED UP, call refused")
    assert render_event_text(budget("warning", used=12.0, action="warn")).endswith("— WARNING, over its limit")
