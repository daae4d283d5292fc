"""Flow control: rows in flight bounded, held rows out of the way, rates, retries, AxonFlow's rate limit."""

from __future__ import annotations

import time

from axonflow_notebook.testing.batches import llm_kwargs
from axonflow_notebook.testing.rate_limit_proxy import RateLimitedAxonFlow


def prompts(n: int, text: str = "Summarise ticket {i}.") -> list:
    return [text.format(i=i) for i in range(n)]


def test_rows_in_flight_never_exceed_the_concurrency(make_logger, llm):
    llm.delay_seconds = 0.15
    result = make_logger().map(prompts(24), concurrency=4, **llm_kwargs(llm))
    assert result.counts == {"allowed": 24}
    assert llm.max_in_flight == 4


def test_held_rows_give_their_slot_to_the_others(make_logger, llm):
    logger = make_logger(approval_max_wait_seconds=8.0)  # headroom on a loaded machine
    llm.delay_seconds = 0.05
    held = prompts(2, "Please prepare the wire transfer for invoice {i}.")
    finished = []
    result = logger.map(held + prompts(10), concurrency=2, on_event=lambda e: finished.append(e.index)
                        if type(e).__name__ == "RowFinished" else None, **llm_kwargs(llm))
    assert [row.status for row in result] == ["expired"] * 2 + ["allowed"] * 10
    assert finished[-2:] in ([0, 1], [1, 0])  # every other row ended while the two waited
    assert llm.max_in_flight <= 2


def test_requests_per_minute_space_the_llm_calls(make_logger, llm):
    started = time.monotonic()  # the clock of the server's `arrivals`
    result = make_logger().map(prompts(16), concurrency=8, rpm=480, **llm_kwargs(llm))  # 8 a second
    assert result.counts == {"allowed": 16}
    # 16 requests at 8 a second, one second's worth at once: the last may not leave before
    # (16 - 1) / 8 - 1 = 0.875 s after the first, whatever else the machine is doing.
    assert llm.arrivals[-1] - started >= 0.875


def test_tokens_per_minute_space_the_llm_calls(make_logger, llm):
    started = time.perf_counter()
    # ~12 prompt + 20 completion tokens a row; 1,600 tokens a minute is under one row a second.
    result = make_logger().map(prompts(4), max_tokens=20, concurrency=4, tpm=1600, **llm_kwargs(llm))
    assert result.counts == {"allowed": 4}
    assert time.perf_counter() - started >= 2.0


def test_provider_429s_are_retried_by_litellm(make_logger, llm):
    llm.fail_next = 1  # the first request is refused with 429, then the server recovers
    result = make_logger().map(prompts(3), concurrency=1, **llm_kwargs(llm))
    assert result.counts == {"allowed": 3}
    assert llm.count == 4  # one retry, inside the row's one governed call
    assert len({row.audit_id for row in result}) == 3


def test_axonflow_rate_limit_in_pre_check_answers_pauses_scheduling(batch_agent, make_logger, llm):
    proxy = RateLimitedAxonFlow(batch_agent.url, limit=4, window_s=1.5).start()
    try:
        logger = make_logger(endpoint=proxy.url)
        events = []
        started = time.perf_counter()
        result = logger.map(prompts(8), concurrency=2, on_event=events.append, **llm_kwargs(llm))
        elapsed = time.perf_counter() - started
    finally:
        proxy.stop()
    assert result.counts == {"allowed": 8}
    paused = [e for e in events if type(e).__name__ == "BatchPaused"]
    assert paused and paused[0].reason == "axonflow_rate_limit" and paused[0].until is not None
    decisions = [e for e in events if type(e).__name__ == "DecisionMade"]
    assert decisions[0].rate_limit is not None and decisions[0].rate_limit.limit == 4
    # No pre-check was sent while AxonFlow said none remained in its window.
    times = [t for t, _ in proxy.pre_checks]
    exhausted = next(t for t, remaining in proxy.pre_checks if remaining == 0)
    resumed = [t for t in times if t > exhausted]
    assert resumed and min(resumed) >= paused[0].until - 0.05
    assert elapsed >= 1.0
