"""The reviewer queue shows a batch's held rows as one group, decided with the queue's bulk actions,
and a terminal batch draws one progress line."""

from __future__ import annotations

import asyncio
import io

from axonflow_notebook.testing.widgets import widget_test_comms

from axonflow_notebook.testing.batches import held_requests, llm_kwargs, run, wait_for

PROMPTS = ["Please prepare the wire transfer for invoice 1.", "Summarise ticket 2.",
           "Please prepare the wire transfer for invoice 3.", "Summarise ticket 4.",
           "Please prepare the wire transfer for invoice 5."]


def test_the_queue_groups_a_batch_and_decides_it_in_bulk(make_logger, reviewer, llm):
    from axonflow_notebook.notebook.ui import ReviewerQueue, queue_text

    logger = make_logger(approval_max_wait_seconds=60.0)
    handle = logger.start_map(PROMPTS, concurrency=5, **llm_kwargs(llm))
    held = wait_for(lambda: (lambda r: r if len(r) == 3 else None)(held_requests(reviewer, handle.batch_id)),
                    what="three held rows")
    # a single call held too: it stays out of the batch's group
    single = logger.start_map(["One more wire transfer, invoice 99."], **llm_kwargs(llm))
    wait_for(lambda: held_requests(reviewer, single.batch_id), what="the other held request")
    records, _ = run(reviewer.list_queue(status="pending"))

    text = queue_text(records)
    for index in (0, 2, 4):
        assert f"batch {handle.batch_id[:8]} · row {index} of 5" in text

    with widget_test_comms():
        queue = ReviewerQueue(reviewer, "review-desk", "desk@example.com")
        queue.render(records, len(records))
        rows = queue.widget.rows
        groups = [r["group"] for r in rows]
        first = groups.index(handle.batch_id)
        assert groups[first:first + 3] == [handle.batch_id] * 3  # the batch's rows together, in row order
        assert [r["group_label"] for r in rows[first:first + 3]] == [
            f"batch {handle.batch_id[:8]} · row {i} of 5" for i in (0, 2, 4)]
        assert "row 0 of 5" in queue.fallback().plain or "row 0 of 5" in queue.fallback().markdown
        # The browser's group checkbox selects the group; Approve decides each request on its own.
        asyncio.run(queue.decide("approve", [r["request_id"] for r in rows[first:first + 3]], "batch ok"))
        queue.close()
    result = handle.result(timeout=30)
    assert [row.status for row in result] == ["approved", "allowed", "approved", "allowed", "approved"]
    for record in held:
        decided = run(reviewer.get_request(record.request_id))
        assert decided.status == "approved" and decided.review_comment == "batch ok"
    single.cancel()
    assert single.result(timeout=30).counts == {"cancelled": 1}


def test_a_terminal_draws_one_progress_line(make_logger, llm):
    from axonflow_notebook.notebook.ui import BatchTerminal

    out = io.StringIO()
    prompts = [f"Summarise ticket {i}." for i in range(60)] + ["When does Project Nightingale launch?"]
    terminal = BatchTerminal(total=len(prompts), model="openai/gpt-4o-mini", backend="the agent",
                             simulated=False, preview=lambda i: prompts[i], out=out)
    llm.delay_seconds = 0.02
    result = make_logger().map(prompts, concurrency=4, on_event=terminal.handle, max_tokens=16,
                               **llm_kwargs(llm))
    terminal.finish(result)
    text = out.getvalue()
    lines = text.split("\n")
    assert lines[0] == "AxonFlow: batch of 61 rows of openai/gpt-4o-mini via the agent"
    drawn = text.count("\r\033[K")
    assert 2 <= drawn <= 10 * result.elapsed_s + 4  # rewritten in place, at most ten times a second
    final = lines[1].rsplit("\r\033[K", 1)[-1]
    assert final.startswith("AxonFlow batch: 61/61 rows") and "60 allowed, 1 blocked" in final
    assert "rows/s" in final and "spent $" in final
    assert any(line.startswith("  #60 blocked: PolicyDeniedError") for line in lines)
