"""A 200-row batch against the embedded agent: every row governed as its policy says, one audit each.

Allowed, warned, redacted, blocked and held rows are mixed; the held rows are decided in bulk from
another client (one approve or reject per request, one of them rejected) while the batch keeps
running; a held row left undecided ends `expired` with its request expired.
"""

from __future__ import annotations

import asyncio

from axonflow_notebook.testing.batches import CLIENT, held_requests, llm_kwargs, run, wait_for

KINDS = {
    # kind: (prompt, expected status, expected policy)
    "plain": ("Summarise support ticket {i}: the export button is slow.", "allowed", None),
    "warned": ("Ticket {i}: a question about salary bands.", "allowed", "hr-salary"),
    "redacted": ("Ticket {i}: customer ACCT-{i:08d} asks about fees.", "redacted", "acct-number"),
    "blocked": ("Ticket {i}: status of Project Nightingale?", "blocked", "project-nightingale"),
    "held": ("Ticket {i}: please prepare the wire transfer for invoice {i}.", "approved", "fin-wire-transfer"),
}
PATTERN = ["plain"] * 6 + ["warned", "redacted", "plain", "blocked"] + ["plain"] * 5 + ["held"] + \
    ["plain"] * 2 + ["redacted", "plain"]  # 20 rows: 10 of them repeat to 200


def batch_of(n: int) -> list:
    kinds = [PATTERN[i % len(PATTERN)] for i in range(n)]
    return [(kind, KINDS[kind][0].format(i=i)) for i, kind in enumerate(kinds)]


def test_200_rows_each_governed_as_its_policy_says(make_logger, reviewer, llm):
    logger = make_logger(approval_max_wait_seconds=90.0)
    rows = batch_of(200)
    events = []
    handle = logger.start_map([prompt for _, prompt in rows], concurrency=16, on_event=events.append,
                              **llm_kwargs(llm))
    held_total = sum(1 for kind, _ in rows if kind == "held")

    # The held rows wait for a reviewer; the others go on meanwhile.
    held = wait_for(lambda: (lambda r: r if len(r) == held_total else None)(
        held_requests(reviewer, handle.batch_id)), timeout=120, what=f"{held_total} held rows")
    assert all(r.context["batch_size"] == 200 and r.context["model"] == llm_kwargs(llm)["model"]
               for r in held)
    rejected = held[3]
    for record in held:  # bulk: one decision per request, from another client
        decide = reviewer.reject if record is rejected else reviewer.approve
        run(decide(record.request_id, reviewer_id="review-desk", reviewer_email="desk@example.com",
                   comment="bulk decision"))
    result = handle.result(timeout=180)

    assert len(result) == 200 and [row.index for row in result] == list(range(200))
    for (kind, prompt), row in zip(rows, result):
        _, status, policy = KINDS[kind]
        if row.index == rejected.context["batch_index"]:
            status = "rejected"
        assert row.status == status, (row.index, prompt, row.status, row.error)
        if policy:
            assert policy in row.policies, (row.index, row.policies)
        if row.ok:
            assert row.text == llm.reply and row.audit_id and row.cost and row.cost > 0
        else:
            assert row.error is not None and row.text is None
    assert {row.request_id for row in result if row.request_id} == {r.request_id for r in held}
    assert result.counts == {"allowed": 160, "redacted": 20, "approved": 9, "blocked": 10, "rejected": 1}
    # Only the rows that went through reached the model, the redacted ones without the number.
    assert llm.count == 189
    assert not any("ACCT-" in str(body["messages"]) for body in llm.requests)

    # One audit entry per row (the decision, completed by the call's audit when it ran).
    page = run(reviewer.search_audit(limit=1000, client_id=CLIENT))
    assert page.total == 200
    by_context = {entry.id: entry for entry in page.entries}
    assert set(by_context) == {row.context_id for row in result}
    for row in result:
        entry = by_context[row.context_id]
        assert (entry.audit_id == row.audit_id) if row.ok else entry.audit_id is None
        if row.ok:
            assert entry.metadata.get("batch_id") == handle.batch_id
            assert entry.metadata.get("batch_index") == row.index

    # The progress events: one start, one finish per row, one end, all carrying the batch id.
    finished = [e for e in events if type(e).__name__ == "RowFinished"]
    assert sorted(e.index for e in finished) == list(range(200))
    assert {e.batch_id for e in finished} == {handle.batch_id}
    assert [type(e).__name__ for e in events if type(e).__name__.startswith("Batch")] == \
        ["BatchStarted", "BatchFinished"]
    frame = result.to_pandas()
    assert list(frame["status"]) == [row.status for row in result]


def test_undecided_held_rows_expire_with_their_requests(make_logger, reviewer, llm):
    logger = make_logger(approval_max_wait_seconds=2.0)
    prompts = ["Please prepare the wire transfer for invoice 1.", "Summarise ticket 2.",
               "Please prepare the wire transfer for invoice 3."]
    result = asyncio.run(logger.amap(prompts, concurrency=2, **llm_kwargs(llm)))
    assert [row.status for row in result] == ["expired", "allowed", "expired"]
    for row in (result[0], result[2]):
        assert "timed out" in str(row.error)
        assert run(reviewer.get_request(row.request_id)).status == "expired"
    assert held_requests(reviewer, result.batch_id) == []


def test_items_are_prompts_or_messages_and_wrong_ones_fail_before_any_call(make_logger, llm):
    logger = make_logger()
    result = logger.map(["Say hi.", [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "Say bye."}]], **llm_kwargs(llm))
    assert [row.status for row in result] == ["allowed", "allowed"]
    assert llm.requests[-1]["messages"][0] == {"role": "system", "content": "Be brief."} or \
        llm.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    count = llm.count
    for bad, words in ((["fine", 42], "batch item 1"), ("one string", "not one str"),
                       ([[]], "batch item 0")):
        try:
            logger.map(bad, **llm_kwargs(llm))
        except TypeError as exc:
            assert words in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")
    for options, words in (({"concurrency": 0}, "concurrency"), ({"rpm": -1}, "rpm"),
                           ({"stream": True}, "stream"), ({"budget_usd": float("nan")}, "budget")):
        try:
            logger.map(["hi"], **llm_kwargs(llm), **options)
        except ValueError as exc:
            assert words in str(exc)
        else:
            raise AssertionError(f"{options} was accepted")
    assert llm.count == count
