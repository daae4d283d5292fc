"""Budgets through the real pipeline: embedded agent over a socket, loopback LLM through LiteLLM.

The model is `openai/gpt-4o-mini` at the loopback server (its `api_base`), so LiteLLM prices
every call from its shipped price list and the core sends that cost with the audit
(`metadata.cost_usd`), which the agent charges to the budgets covering the call.
"""

from __future__ import annotations

import asyncio

import pytest

from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig, BudgetExceededError, PolicyDeniedError
from axonflow_notebook.core import call_origin
from axonflow_notebook.core import events as ev
from axonflow_notebook.core.errors import BudgetExceededError as CoreBudgetExceededError
from axonflow_notebook.core.journal import Journal
from axonflow_notebook.core.review import GovernanceConsole

SECRET = "budget-agent-SECRET-7"
MODEL = "openai/gpt-4o-mini"


@pytest.fixture
def gov_agent(agent_factory):
    return agent_factory(secret=SECRET)


@pytest.fixture
def origin():
    """Restore the process's call origin after a test that changes it."""
    saved = call_origin.current_origin()
    yield
    call_origin.set_origin(workflow_id=saved.workflow_id, user_id=saved.user_id)


@pytest.fixture
def make_live_logger(gov_agent):
    made = []

    def make(**overrides) -> AxonFlowLogger:
        values = dict(endpoint=gov_agent.url, client_id="analyst", client_secret=SECRET, call_timeout_seconds=5.0)
        values.update(overrides)
        logger = AxonFlowLogger(AxonFlowLoggerConfig(**values))
        made.append(logger)
        return logger

    yield make
    for logger in made:
        logger.close()


@pytest.fixture
def ask(llm):
    def kwargs(text: str = "one two three", **extra) -> dict:
        return {"model": MODEL, "api_base": llm.url + "/v1", "api_key": "sk-test",
                "messages": [{"role": "user", "content": text}], **extra}

    return kwargs


async def one_call_cost(logger, ask) -> float:
    result = await logger.agovern(**ask())  # the audit is recorded before agovern returns
    assert result.ok, result.error
    finished = next(e for e in result.events if isinstance(e, ev.CompletionFinished))
    assert finished.cost_usd and finished.cost_usd > 0
    return finished.cost_usd


async def test_a_blocking_budget_reached_mid_session_refuses_the_next_call_before_the_llm(make_live_logger, ask, llm,
                                                                                        tmp_path):
    logger = make_live_logger()
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.attach(logger)
    console = GovernanceConsole(logger)
    cost = await one_call_cost(logger, ask)
    await console.create_budget("team-cap", name="Team cap", scope="organization", limit_usd=2.5 * cost,
                                period="daily", on_exceed="block")
    for _ in range(2):  # use before each pre-check: 1, then 2 calls' cost: under 2.5
        result = await logger.agovern(**ask())
        assert result.ok and result.budget is not None and result.budget.status == "within"
    seen = []
    before = llm.count
    with pytest.raises(BudgetExceededError) as info:
        await logger.acompletion(on_event=seen.append, **ask())
    err = info.value
    assert isinstance(err, PolicyDeniedError) and BudgetExceededError is CoreBudgetExceededError
    assert (err.budget_id, err.budget_name, err.period, err.action) == ("team-cap", "Team cap", "daily", "block")
    assert err.limit_usd == pytest.approx(2.5 * cost) and err.used_usd == pytest.approx(3 * cost)
    assert err.policies == ["budget_exceeded"] and "Team cap" in str(err) and "today" in str(err)
    assert llm.count == before  # the LLM was never contacted
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["BudgetChecked", "DecisionMade", "CallFailed"], kinds
    budget, decision = seen[0], seen[1]
    assert budget.status == "blocked" and budget.budget_id == "team-cap" and budget.period == "daily"
    assert decision.status == "blocked" and decision.policies == ("budget_exceeded",)
    assert "Team cap" in decision.block_reason and decision.context_id

    # fail_open=True changes nothing: a 402 is a decision, not an outage; the breaker stays closed
    open_logger = make_live_logger(fail_open=True, breaker_failure_threshold=1)
    for _ in range(3):
        with pytest.raises(BudgetExceededError):
            await open_logger.acompletion(**ask())
        with pytest.raises(BudgetExceededError):
            await asyncio.to_thread(open_logger.completion, **ask())  # the sync path too
    assert open_logger.breaker_state == "closed" and llm.count == before

    # the journal records the refusal like any other: blocked, by policy budget_exceeded, before the LLM
    row = next(r for r in journal.records() if r["call_id"] == decision.call_id)
    assert row["decision"] == "blocked" and "budget_exceeded" in row["policies"]
    assert "Team cap" in row["block_reason"] and row["error"].startswith("BudgetExceededError")
    assert row["delivery"] == "not_applicable"
    journal.close()


async def test_a_warning_budget_lets_the_call_through_and_says_so(make_live_logger, ask, llm):
    logger = make_live_logger()
    console = GovernanceConsole(logger)
    cost = await one_call_cost(logger, ask)
    await console.create_budget("soft", name="Soft limit", scope="agent", scope_id="analyst",
                                limit_usd=cost / 2, period="monthly", on_exceed="warn")
    before = llm.count
    result = await logger.agovern(**ask())
    assert result.ok and result.text and llm.count == before + 1
    budget = result.budget
    assert budget.status == "warning" and budget.action == "warn" and budget.scope == "agent"
    assert budget.warning and "Soft limit" in budget.warning  # the X-Budget-Warning header
    assert budget.used_usd == pytest.approx(cost) and budget.limit_usd == pytest.approx(cost / 2)
    assert budget.percentage == pytest.approx(200.0) and budget.period == "monthly"
    assert not any(isinstance(e, ev.CallFailed) for e in result.events)
    assert result.decision.status == "approved"


async def test_budgets_follow_the_workflow_and_user_the_call_comes_from(make_live_logger, ask, llm, origin):
    logger = make_live_logger()
    console = GovernanceConsole(logger)
    call_origin.set_origin(workflow_id="/home/ana/churn.ipynb", user_id="ana")
    await console.create_budget("churn-nb", name="Churn notebook", scope="workflow",
                                scope_id="/home/ana/churn.ipynb", limit_usd=1e-6, period="daily", on_exceed="block")
    await console.create_budget("bo", name="Bo's allowance", scope="user", scope_id="bo", limit_usd=1e-6,
                                period="daily", on_exceed="block")
    first = await logger.agovern(**ask())  # nothing used yet: through, and charged to the notebook
    assert first.ok and first.budget.budget_id == "churn-nb"
    with pytest.raises(BudgetExceededError, match="Churn notebook"):
        await logger.acompletion(**ask())
    call_origin.set_origin(workflow_id="/home/ana/other.ipynb")  # another notebook: not covered
    assert (await logger.agovern(**ask())).ok
    call_origin.set_origin(user_id="bo")
    assert (await logger.agovern(**ask())).ok  # bo's first call
    with pytest.raises(BudgetExceededError, match="Bo's allowance"):
        await logger.acompletion(**ask())
    summary = await console.usage_summary(period="daily", workflow_id="/home/ana/churn.ipynb")
    assert summary.requests == 1


async def test_concurrent_calls_pass_a_nearly_used_budget_by_less_than_the_calls_in_flight(make_live_logger, ask,
                                                                                        llm):
    """The agent refuses once recorded use reaches the limit; use is recorded with each audit
    (axonflow_notebook/agent/budgets/ledger.py states the bound). With `agovern`, a call ends
    once its audit is recorded, so each of N workers holds at most one uncharged call: the
    budget ends less than N calls' cost over its limit, and never under it."""
    logger = make_live_logger()
    console = GovernanceConsole(logger)
    cost = await one_call_cost(logger, ask)
    limit = 12.5 * cost  # the first call already used one
    await console.create_budget("race", name="Race", scope="organization", limit_usd=limit, period="daily",
                                on_exceed="block")
    llm.delay_seconds = 0.02
    workers, admitted, refused = 8, [], []

    async def worker() -> None:
        while True:
            result = await logger.agovern(**ask())
            if isinstance(result.error, BudgetExceededError):
                refused.append(result.error)
                return
            assert result.ok, result.error
            admitted.append(result)

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(workers))), timeout=120)
    status = await console.budget_status("race")
    assert status.used_usd == pytest.approx((1 + len(admitted)) * cost)  # every call charged, once
    assert status.used_usd >= limit - 1e-12  # nobody was stopped before the limit was reached
    assert status.used_usd - limit < workers * cost  # the bound: less than the calls in flight
    assert status.blocked and len(refused) == workers
    assert llm.count == 1 + len(admitted)  # no refused call reached the LLM


async def test_budget_headroom_is_what_the_blocking_budgets_covering_the_calls_have_left(make_live_logger, ask):
    from axonflow_notebook.core.budget_console import budget_headroom

    logger = make_live_logger()
    console = GovernanceConsole(logger)
    assert await budget_headroom(logger) is None  # no budget: no limit
    cost = await one_call_cost(logger, ask)
    await console.create_budget("warn-only", name="Warn", scope="organization", limit_usd=cost / 10,
                                period="daily", on_exceed="warn")
    assert await budget_headroom(logger) is None  # a warning budget never stops a batch
    await console.create_budget("wide", name="Wide", scope="organization", limit_usd=10.0, period="monthly",
                                on_exceed="block")
    await console.create_budget("mine", name="Mine", scope="agent", scope_id="analyst", limit_usd=5 * cost,
                                period="daily", on_exceed="block")
    await console.create_budget("theirs", name="Theirs", scope="agent", scope_id="etl", limit_usd=cost / 10,
                                period="daily", on_exceed="block")  # covers other clients only
    assert await budget_headroom(logger) == pytest.approx(4 * cost)
    assert await budget_headroom(logger, agent_id="etl") == pytest.approx(cost / 10)  # etl has used nothing
    await console.update_budget("mine", limit_usd=cost / 2)
    assert await budget_headroom(logger) == 0.0
