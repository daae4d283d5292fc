"""AxonFlow stops in the middle of a batch: fail-open or fail-closed row by row, visibly, journaled.

The embedded agent is stopped (a real outage: its port stops answering) once a few rows have
finished. The breaker the rows trip is the logger's own, so the next single call meets it too.
"""

from __future__ import annotations

import threading

import pytest

from axonflow_notebook.core.journal import Journal

from axonflow_notebook.testing.batches import llm_kwargs


def _batch_with_an_outage(batch_agent, make_logger, llm, tmp_path, *, fail_open: bool):
    logger = make_logger(fail_open=fail_open, call_timeout_seconds=1.0, breaker_failure_threshold=3)
    journal = Journal(tmp_path / "journal.sqlite3")
    detach = journal.attach(logger)
    llm.delay_seconds = 0.05
    finished = []
    stopped = threading.Event()

    def on_event(event) -> None:
        if type(event).__name__ == "RowFinished":
            finished.append(event)
            if len(finished) == 8 and not stopped.is_set():
                stopped.set()
                threading.Thread(target=batch_agent.stop, name="outage").start()

    result = logger.map([f"Summarise ticket {i}." for i in range(30)], concurrency=2, on_event=on_event,
                        **llm_kwargs(llm))
    return logger, journal, detach, result


@pytest.mark.parametrize("fail_open", [True, False], ids=["fail_open", "fail_closed"])
def test_an_outage_mid_batch_follows_fail_open_row_by_row(batch_agent, make_logger, llm, tmp_path, fail_open):
    logger, journal, detach, result = _batch_with_an_outage(batch_agent, make_logger, llm, tmp_path,
                                                            fail_open=fail_open)
    try:
        governed = [row for row in result if row.context_id is not None]
        outage = [row for row in result if row.context_id is None]
        assert len(governed) >= 8 and len(outage) >= 15, result
        assert all(row.status == "allowed" and not row.ungoverned for row in governed)
        if fail_open:  # every later row ran, each one marked ungoverned
            assert all(row.status == "allowed" and row.ungoverned and row.text for row in outage)
            assert llm.count == 30
            from axonflow_notebook.pandas.frame import result_columns

            errors = result_columns(result, "a")["a_error"]
            assert all(errors[row.index].startswith("ungoverned") for row in outage)
            assert all(errors[row.index] is None for row in governed)
        else:  # every later row refused, the model never called for it
            assert all(row.status == "failed" and not row.ungoverned for row in outage)
            assert all("AxonFlow unavailable" in str(row.error) for row in outage)
            assert llm.count == len(governed)
        # The journal holds every row, and says what happened to each.
        records = {r["call_id"]: r for r in journal.records(limit=100)}
        assert {row.call_id for row in result} <= set(records)
        word = "ungoverned" if fail_open else "refused"
        for row in outage:
            assert records[row.call_id]["decision"] == word, records[row.call_id]
        # The breaker is the logger's: the next single call meets it open.
        assert logger.breaker_state == "open"
        single = logger.govern(messages=[{"role": "user", "content": "hello"}], **llm_kwargs(llm))
        skipped = [e for e in single.events if type(e).__name__ == "GovernanceSkipped"]
        assert skipped and skipped[0].reason == "breaker_open"
    finally:
        detach()
        journal.close()
