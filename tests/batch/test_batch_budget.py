"""The client-side budget: a forecast before the first call, and a stop before the budget is passed."""

from __future__ import annotations

import pytest

from axonflow_notebook.testing.batches import CLIENT, llm_kwargs, run


def prompts(n: int) -> list:
    return [f"Classify support ticket {i} as bug, question or praise: the app crashes on start." for i in range(n)]


def test_forecast_comes_before_the_first_call(make_logger, llm):
    logger = make_logger()
    events = []
    result = logger.map(prompts(3), max_tokens=16, on_event=events.append, **llm_kwargs(llm))
    started = next(e for e in events if type(e).__name__ == "BatchStarted")
    assert events.index(started) < min(i for i, e in enumerate(events) if type(e).__name__ == "RowStarted")
    assert started.forecast_usd == result.forecast_usd and started.forecast_usd > 0
    assert "max_tokens=16" in started.forecast_basis and "upper bound" in started.forecast_basis
    # The forecast bounds what the rows cost: prompts counted exactly, completions at most 16 tokens.
    assert 0 < result.spent_usd <= result.forecast_usd
    estimate = logger.map(prompts(1), completion_tokens_estimate=100, **llm_kwargs(llm))
    assert "estimate of 100 completion tokens" in estimate.forecast_basis


def test_budget_stops_scheduling_before_it_would_be_passed(make_logger, llm, reviewer):
    logger = make_logger()
    one_row = logger.map(prompts(1), max_tokens=16, **llm_kwargs(llm)).forecast_usd
    llm.reset()
    budget = one_row * 6.5  # room for the forecasts of six rows, whatever they really cost
    events = []
    result = logger.map(prompts(40), max_tokens=16, concurrency=4, budget_usd=budget,
                        on_event=events.append, **llm_kwargs(llm))

    statuses = [row.status for row in result]
    ran = statuses.count("allowed")
    assert result.stopped == "budget" and 6 <= ran < 40
    assert statuses == ["allowed"] * ran + ["skipped_budget"] * (40 - ran)  # scheduling stopped
    assert result.spent_usd <= budget
    assert llm.count == ran  # skipped rows never reached the model …
    skipped = [row for row in result if row.status == "skipped_budget"]
    assert all("not sent" in str(row.error) and "budget" in str(row.error) for row in skipped)
    assert all(row.context_id is None and row.audit_id is None for row in skipped)
    page = run(reviewer.search_audit(limit=1000, client_id=CLIENT))
    assert page.total == 1 + ran  # … nor AxonFlow (the first row is the one-row batch above)
    pause = [e for e in events if type(e).__name__ == "BatchPaused"]
    assert [e.reason for e in pause] == ["budget"] and "budget" in pause[0].detail
    finished = events[-1]
    assert type(finished).__name__ == "BatchFinished" and finished.stopped == "budget"
    assert dict(finished.counts) == {"allowed": ran, "skipped_budget": 40 - ran}


def test_a_budget_needs_a_price_and_is_refused_before_any_call(make_logger, llm, reviewer):
    logger = make_logger()
    with pytest.raises(ValueError, match="needs a price"):
        logger.map(prompts(3), budget_usd=1.0, **llm_kwargs(llm, model="openai/test-model"))
    assert llm.count == 0
    assert run(reviewer.search_audit(limit=10, client_id=CLIENT)).total == 0


def test_a_budget_smaller_than_one_row_runs_nothing(make_logger, llm):
    logger = make_logger()
    result = logger.map(prompts(5), max_tokens=16, budget_usd=1e-9, **llm_kwargs(llm))
    assert [row.status for row in result] == ["skipped_budget"] * 5 and llm.count == 0
    assert result.spent_usd is None and result.stopped == "budget"
