"""Stopping a batch part-way: `BatchHandle.cancel()`, and Ctrl-C in a script's `logger.map`.

Scheduling stops, the rows in flight are cancelled and unwind (held rows' requests expired, an
LLM call cut off audited as cancelled), the rows that finished keep their result, the others end
`cancelled`, and nothing of the batch is left running: no task, no thread.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from axonflow_notebook.core.runtime import get_runtime

from axonflow_notebook.testing.batches import CLIENT, llm_kwargs, run, wait_for


# Idle workers of event loops' default executors (asyncio's `to_thread`, aiohttp's resolver, the
# loopback servers' loops): a bounded pool each loop keeps and reuses, not threads of the batch.
EXECUTOR_WORKERS = ("asyncio_", "uvloop_")


def _batch_tasks() -> list:
    loop = get_runtime().loop
    found = []

    async def look() -> None:
        found.extend(t for t in asyncio.all_tasks(loop) if "BatchRun" in repr(t.get_coro()))

    asyncio.run_coroutine_threadsafe(look(), loop).result(5)
    return found


def test_cancel_stops_scheduling_and_keeps_what_finished(make_logger, reviewer, llm):
    logger = make_logger(approval_max_wait_seconds=60.0)
    # LiteLLM's, the SDK's and the core loop's own threads exist from here on.
    logger.start_map(["warm-up"], **llm_kwargs(llm)).result(30)
    threads_before = {t.ident for t in threading.enumerate()}
    llm.reset()
    llm.delay_seconds = 0.4
    prompts = ["Please prepare the wire transfer for invoice 1."] + [f"Summarise ticket {i}." for i in range(39)]
    handle = logger.start_map(prompts, concurrency=4, **llm_kwargs(llm))
    wait_for(lambda: handle.progress.get("allowed", 0) >= 6, what="six rows")
    wait_for(lambda: llm.in_flight >= 2, what="rows waiting for the model")
    assert handle.cancel()
    result = handle.result(timeout=30)

    assert handle.status == "cancelled" and result.stopped == "cancelled"
    statuses = [row.status for row in result]
    assert set(statuses) == {"allowed", "cancelled"} and statuses[0] == "cancelled"
    assert 6 <= statuses.count("allowed") < 39
    assert all(row.text == llm.reply and row.audit_id for row in result if row.status == "allowed")
    assert all("cancelled" in str(row.error) for row in result if row.status == "cancelled")
    # The held row's request was expired, not left for a reviewer to approve.
    held = result[0]
    assert held.request_id and run(reviewer.get_request(held.request_id)).status == "expired"
    # Rows cut off while the model answered were audited as cancelled (their decision completed).
    asked = {body["messages"][-1]["content"] for body in llm.requests}
    cut = [row for row in result if row.status == "cancelled" and prompts[row.index] in asked]
    assert cut
    assert logger.flush(10)
    entries = {e.id: e for e in run(reviewer.search_audit(limit=1000, client_id=CLIENT)).entries}
    assert all(entries[row.context_id].audit_id for row in cut)
    # Nothing of the batch is left: no task on the core's loop, no new thread.
    assert _batch_tasks() == []
    new = lambda: [t.name for t in threading.enumerate() if t.ident not in threads_before  # noqa: E731
                   and not t.name.startswith(EXECUTOR_WORKERS)]
    try:
        wait_for(lambda: not new(), timeout=10, what="the batch's threads to end")
    except AssertionError:
        raise AssertionError(f"threads left: {new()}") from None


SCRIPT = textwrap.dedent("""
    import os, sys, threading
    from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
    from axonflow_notebook.core.batch import BatchInterrupted

    config = AxonFlowLoggerConfig(endpoint=os.environ["AGENT"], client_id="script",
                                  client_secret=os.environ["SECRET"])
    logger = AxonFlowLogger(config)
    prompts = [f"Summarise ticket {i}." for i in range(40)]
    print("START", flush=True)
    try:
        logger.map(prompts, model="openai/gpt-4o-mini", api_base=os.environ["LLM"], api_key="sk-test",
                   concurrency=4, on_event=lambda e: print("ROW", flush=True)
                   if type(e).__name__ == "RowFinished" else None)
    except BatchInterrupted as exc:
        result = exc.result
        print("STATUSES", sorted(result.counts.items()), result.stopped, flush=True)
        print("UNFINISHED", sum(1 for row in result if row.status in ("pending", "running")), flush=True)
        print("AUDITS_FLUSHED", logger.flush(10), flush=True)
        print("THREADS", sorted(t.name for t in threading.enumerate()
                                if "batch" in t.name.lower()), flush=True)
        sys.exit(3)
    print("NOT INTERRUPTED", flush=True)
""")


def test_ctrl_c_in_a_script_raises_with_the_partial_result(batch_agent, llm, tmp_path):
    llm.delay_seconds = 0.4
    script = tmp_path / "batch_script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, AGENT=batch_agent.url, SECRET=batch_agent.test_secret, LLM=llm.url + "/v1")
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 90
    for line in proc.stdout:  # type: ignore[union-attr]
        lines.append(line.strip())
        if sum(1 for seen in lines if seen == "ROW") >= 6:
            break
        assert time.monotonic() < deadline, lines
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    lines += out.splitlines()
    assert proc.returncode == 3, "\n".join(lines[-30:])
    statuses = next(line for line in lines if line.startswith("STATUSES"))
    assert "'allowed'" in statuses and "'cancelled'" in statuses and statuses.endswith("cancelled")
    assert "UNFINISHED 0" in lines and "AUDITS_FLUSHED True" in lines and "THREADS []" in lines
