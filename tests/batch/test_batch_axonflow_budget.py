"""AxonFlow's own budgets stop a batch (issue 16): read before the first call, and a 402 mid-batch.

Real parts: the embedded agent over a socket (budgets created through the console, spend by
another client through the official SDK), the loopback LLM server through LiteLLM with
`openai/gpt-4o-mini` (priced by LiteLLM's shipped price map; the core sends that cost with each
audit and the agent charges it to the budgets covering the call).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from axonflow_notebook.core.errors import BudgetExceededError
from axonflow_notebook.core.journal import Journal
from axonflow_notebook.core.money import usd

from axonflow_notebook.testing.batches import CLIENT, llm_kwargs, run

POLICIES = Path(__file__).resolve().parents[2] / "notebooks" / "policies.yaml"


def prompts(n: int) -> list:
    return [f"Classify support ticket {i} as bug, question or praise: the app crashes on start."
            for i in range(10, 10 + n)]


def one_row(logger, llm) -> tuple:
    """(forecast, cost) of one row like the batch's, spent before the budget is set."""
    result = logger.map(prompts(1), max_tokens=16, **llm_kwargs(llm))
    assert result.ok and result.spent_usd and result.forecast_usd
    llm.reset()
    return result.forecast_usd, result.spent_usd


def events_of(kind: str, events: list) -> list:
    return [e for e in events if type(e).__name__ == kind]


def test_a_batch_stops_before_it_would_pass_what_the_axonflow_budget_has_left(make_logger, llm, reviewer):
    logger = make_logger()
    forecast, cost = one_row(logger, llm)
    limit = cost + 6.5 * forecast  # room for the forecasts of six rows after the one spent
    run(reviewer.create_budget("team-ml", name="Team ML", scope="agent", scope_id=CLIENT, limit_usd=limit,
                               period="daily", on_exceed="block"))
    events: list = []
    result = logger.map(prompts(40), max_tokens=16, concurrency=4, on_event=events.append, **llm_kwargs(llm))

    statuses = [row.status for row in result]
    ran = statuses.count("allowed")
    assert result.stopped == "budget" and 6 <= ran < 40, result
    assert statuses == ["allowed"] * ran + ["skipped_budget"] * (40 - ran)
    assert llm.count == ran  # skipped rows reached neither the model …
    assert run(reviewer.search_audit(limit=1000, client_id=CLIENT)).total == 1 + ran  # … nor AxonFlow
    status = run(reviewer.budget_status("team-ml"))
    assert status.used_usd <= limit and not status.blocked  # the budget was never passed
    skipped = [row for row in result if row.status == "skipped_budget"]
    assert all("not sent" in str(row.error) and "AxonFlow budget 'Team ML' (team-ml)" in str(row.error)
               for row in skipped)
    (started,) = events_of("BatchStarted", events)
    assert started.axonflow_headroom_usd == pytest.approx(6.5 * forecast)
    assert started.budget_usd is None and "AxonFlow budget 'Team ML' (team-ml) had $" in started.axonflow_budget
    # the headroom written as the batch summary writes it ("of the $X the AxonFlow budget had left")
    assert f"had {usd(started.axonflow_headroom_usd)} left" in started.axonflow_budget
    (pause,) = events_of("BatchPaused", events)
    assert pause.reason == "budget" and "AxonFlow budget 'Team ML' (team-ml)" in pause.detail
    assert "Team ML" in result.stop_detail and events[-1].stopped == "budget"

    # Less left than one row's forecast: the next batch sends nothing at all; nothing left, nor.
    run(reviewer.update_budget("team-ml", limit_usd=status.used_usd + forecast / 2))
    again = logger.map(prompts(3), max_tokens=16, **llm_kwargs(llm))
    assert [row.status for row in again] == ["skipped_budget"] * 3 and again.stopped == "budget"
    run(reviewer.update_budget("team-ml", limit_usd=status.used_usd))
    used_up = logger.map(prompts(3), max_tokens=16, **llm_kwargs(llm))
    assert [row.status for row in used_up] == ["skipped_budget"] * 3
    assert "AxonFlow budget 'Team ML' (team-ml) is used up" in used_up.stop_detail
    assert llm.count == ran


def spend_elsewhere(url: str, secret: str, usd: float) -> None:
    """Another client spends `usd` through the official SDK: a pre-check, then its llm-call audit."""
    from axonflow import AxonFlow
    from axonflow.types import RetryConfig, TokenUsage

    async def spend() -> None:
        async with AxonFlow(endpoint=url, client_id="etl-job", client_secret=secret, timeout=10.0,
                            retry_config=RetryConfig(max_attempts=1)) as sdk:
            decision = await sdk.pre_check("anonymous", "nightly load")
            await sdk.audit_llm_call(decision.context_id, "ok", "openai", "gpt-4o",
                                     TokenUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2), 5,
                                     {"cost_usd": usd})

    worker = threading.Thread(target=lambda: asyncio.run(spend()), name="etl-job")
    worker.start()
    worker.join(30)


def test_a_402_mid_batch_stops_scheduling_and_names_the_budget(batch_agent, make_logger, llm, reviewer, tmp_path):
    logger = make_logger()
    journal = Journal(tmp_path / "journal.sqlite3")
    detach = journal.attach(logger)
    try:
        forecast, cost = one_row(logger, llm)
        limit = cost + 100 * forecast  # far more than the batch's forecast: only spend elsewhere stops it
        run(reviewer.create_budget("org-day", name="Org spend", scope="organization", limit_usd=limit,
                                   period="daily", on_exceed="block"))
        finished = []

        def on_event(event) -> None:
            if type(event).__name__ == "RowFinished":
                finished.append(event)
                if len(finished) == 3:  # once three rows have ended, another client uses the budget up
                    spend_elsewhere(batch_agent.url, batch_agent.test_secret, limit)

        result = logger.map(prompts(20), max_tokens=16, concurrency=1, on_event=on_event, **llm_kwargs(llm))

        # Pre-checks run one row ahead of the model (core/batch/flow.py), so the rows whose
        # pre-check came before the spend went through; with one pre-check in flight at a time,
        # exactly one row meets the 402, and scheduling stops there.
        statuses = [row.status for row in result]
        ran = statuses.count("allowed")
        assert 3 <= ran <= 5 and statuses == ["allowed"] * ran + ["blocked"] + ["skipped_budget"] * (19 - ran), \
            statuses
        refused = result[ran]
        assert isinstance(refused.error, BudgetExceededError) and refused.error.budget_id == "org-day"
        assert refused.policies == ("budget_exceeded",)
        frame = result.to_pandas()
        assert frame["error"][ran].startswith("BudgetExceededError: budget 'Org spend' (org-day) is used up")
        assert result.stopped == "budget" and f"AxonFlow refused row {ran}" in result.stop_detail
        assert "'Org spend' (org-day)" in result.stop_detail
        assert all("'Org spend' (org-day)" in frame["error"][i] for i in range(ran + 1, 20))
        assert llm.count == ran  # neither the refused row nor any later one reached the model
        # Nothing is lost: every row that started is in the journal, the refused one as refused.
        assert logger.flush(10)
        records = {r["call_id"]: r for r in journal.records(limit=100)}
        started = [row for row in result if row.call_id]
        assert len(started) == ran + 1 and {row.call_id for row in started} <= set(records)
        assert records[refused.call_id]["decision"] == "blocked"
    finally:
        detach()
        journal.close()


def test_without_a_blocking_budget_covering_it_a_batch_runs_as_before(make_logger, llm, reviewer):
    logger = make_logger()
    forecast, cost = one_row(logger, llm)
    run(reviewer.create_budget("soft", name="Soft", scope="organization", limit_usd=cost / 10,
                               period="daily", on_exceed="warn"))  # a warning budget never stops a batch
    run(reviewer.create_budget("theirs", name="Theirs", scope="agent", scope_id="etl-job", limit_usd=cost / 10,
                               period="daily", on_exceed="block"))  # covers another client only
    events: list = []
    result = logger.map(prompts(8), max_tokens=16, concurrency=4, on_event=events.append, **llm_kwargs(llm))
    assert [row.status for row in result] == ["allowed"] * 8 and result.stopped is None
    (started,) = events_of("BatchStarted", events)
    assert started.axonflow_headroom_usd is None and started.axonflow_budget is None
    assert not events_of("BatchPaused", events) and llm.count == 8


@pytest.mark.parametrize("fail_open", [True, False], ids=["fail_open", "fail_closed"])
def test_axonflow_down_while_preparing_follows_fail_open(batch_agent, make_logger, llm, reviewer, fail_open):
    logger = make_logger(fail_open=fail_open, call_timeout_seconds=1.0)
    run(reviewer.create_budget("cap", name="Cap", scope="organization", limit_usd=1.0, period="daily",
                               on_exceed="block"))
    batch_agent.stop()
    events: list = []
    if not fail_open:
        with pytest.raises(ValueError) as refused:
            logger.map(prompts(3), max_tokens=16, on_event=events.append, **llm_kwargs(llm))
        message = str(refused.value)
        assert "\n" not in message and message.startswith("AxonFlow did not answer its budget check")
        assert "the batch was not started" in message and "fail_open is off" in message
        assert llm.count == 0 and not events_of("RowStarted", events)
        return
    result = logger.map(prompts(3), max_tokens=16, on_event=events.append, **llm_kwargs(llm))
    (started,) = events_of("BatchStarted", events)
    assert started.axonflow_headroom_usd is None
    assert "runs without AxonFlow's budgets (fail_open)" in started.axonflow_budget
    assert all(row.status == "allowed" and row.ungoverned for row in result) and llm.count == 3



@pytest.mark.parametrize("fault", ["http_404", "http_503"])
def test_an_axonflow_without_budget_routes_adds_no_limit_one_that_fails_refuses_under_fail_closed(fault):
    """404 on the budget routes: an AxonFlow without budgets, so no limit (even fail-closed);
    any other refusal is not knowing, and fail-closed refuses the batch in one line."""
    from array import array

    from axonflow_notebook.core.batch import AxonFlowBudget, BatchForecast, SpendLedger
    from axonflow_notebook.core.config import AxonFlowLoggerConfig
    from axonflow_notebook.core.logger import AxonFlowLogger
    from axonflow_notebook.testing.faulty_agent import FaultyAgent

    plan = BatchForecast(array("l", [10]), 16, "max_tokens=16", 1e-6, 1e-6)
    with FaultyAgent(fault) as faulty:
        logger = AxonFlowLogger(AxonFlowLoggerConfig(endpoint=faulty.url, client_id=CLIENT, client_secret="s",
                                                     fail_open=False, call_timeout_seconds=2.0))
        try:
            limit = AxonFlowBudget(logger)
            if fault == "http_404":
                run(limit.prepare(plan))
                assert not limit.active and limit.describe() is None
                assert limit.refuses(SpendLedger(spent_usd=1e9), 1.0) is None
            else:
                with pytest.raises(ValueError) as refused:
                    run(limit.prepare(plan))
                assert "\n" not in str(refused.value) and "AxonFlow refused its budget check" in str(refused.value)
                assert "the batch was not started" in str(refused.value)
            assert faulty.requests >= 1
        finally:
            logger.close()


# A shell of its own (IPython's shell is one per process), with its own local agent.
def test_the_magic_stops_on_the_axonflow_budget_and_its_card_says_so(tmp_path, llm):
    from axonflow_notebook.testing.inert import assert_inert, assert_inert_markdown
    from axonflow_notebook.testing.shell import bundle_text, governed_shell, published

    
    env = {"AXONFLOW_POLICIES": str(POLICIES), "OPENAI_API_KEY": "sk-test", "OPENAI_API_BASE": llm.url + "/v1"}
    cell = "%%governed --over {} --max-tokens 16 -m openai/gpt-4o-mini\n{{text}}"
    with governed_shell(tmp_path, env=env, simulate="never") as shell:
        shell.run_cell("import pandas as pd\n"
                       "one = pd.DataFrame({'text': ['Summarise ticket 10.']})\n"
                       "rows = pd.DataFrame({'text': [f'Summarise ticket {i}.' for i in range(10, 40)]})")
        assert shell.run_cell(cell.format("one")).success
        first = shell.user_ns["_governed_batch"]
        limit = first.spent_usd + 3.5 * first.forecast_usd  # room for three rows' forecasts
        shell.run_line_magic("axonflow", f"budget set nb-batch --limit {limit!r} --period daily "
                                         "--scope organization --action block --name 'Batch notebook'")
        with published(shell) as sent:
            outcome = shell.run_cell(cell.format("rows"))
        assert outcome.success, outcome.error_in_exec
        statuses = list(shell.user_ns["_governed"]["answer_status"])
        ran = statuses.count("allowed")
        assert 3 <= ran < 30 and statuses == ["allowed"] * ran + ["skipped_budget"] * (30 - ran)
        errors = shell.user_ns["_governed"]["answer_error"]
        assert all("AxonFlow budget 'Batch notebook' (nb-batch)" in errors[i] for i in range(ran, 30))
        final = [data for data, _, update in sent if update][-1]
        text = bundle_text([(final, {}, True)])
        assert f"budget reached: scheduling stopped, {30 - ran} rows skipped" in text
        assert "AxonFlow budget 'Batch notebook' (nb-batch)" in final["text/plain"]
        assert "the AxonFlow budget had left (" in final["text/plain"]  # the spend line
        for form in ("text/html", "text/markdown"):  # the stop, naming the budget, in every form
            assert "budget reached: scheduling stopped" in final[form] and "Batch notebook" in final[form]
            assert "the AxonFlow budget had left (" in final[form]
        assert_inert(final["text/html"])
        assert_inert_markdown(final["text/markdown"])
