"""completion/acompletion return with the answer; the audit follows, and is never dropped.

The caller no longer waits for the audit round trip, so these tests pin down what must
still hold: the audit arrives, `aflush()` waits for it, `agovern` still returns with it,
and a script that ends right after its call (plain `asyncio.run`, or sync at exit,
neither closing the logger) still gets its call audited, with nothing printed about
unclosed sessions or destroyed tasks.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap

import httpx

from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
from axonflow_notebook.core import events as ev


class GatedSink:
    """Wraps the real sink and holds every delivery until `release` is set."""

    def __init__(self, inner):
        self.inner = inner
        self.release = asyncio.Event()

    async def deliver(self, payload):
        await self.release.wait()
        return await self.inner.deliver(payload)


def audited(agent) -> list:
    body = httpx.post(agent.url + "/api/v1/audit/search", json={"limit": 100}, auth=("bg", agent.secret),
                      timeout=10).json()
    return [e for e in body["entries"] if e.get("audit_id")]


def _logger(agent) -> AxonFlowLogger:
    return AxonFlowLogger(AxonFlowLoggerConfig(endpoint=agent.url, client_id="bg", client_secret=agent.secret))


async def test_acompletion_returns_before_the_audit_and_aflush_waits_for_it(agent, llm):
    logger = _logger(agent)
    sink = logger.audit_sink = GatedSink(logger.audit_sink)
    seen = []
    response = await logger.acompletion(on_event=seen.append, messages=[{"role": "user", "content": "hi"}],
                                        **llm.litellm_kwargs())
    assert response.choices[0].message.content == llm.reply
    assert logger.pending_audits == 1 and audited(agent) == []
    assert not any(isinstance(e, ev.AuditRecorded) for e in seen)
    assert await logger.aflush(timeout=0.2) is False  # still held by the sink
    sink.release.set()
    assert await logger.aflush() is True
    assert logger.pending_audits == 0
    recorded = next(e for e in seen if isinstance(e, ev.AuditRecorded))
    assert recorded.delivered and [e["audit_id"] for e in audited(agent)] == [recorded.audit_id]
    await logger.aclose()


async def test_cancelling_the_caller_after_the_answer_keeps_the_audit(agent, llm):
    logger = _logger(agent)
    sink = logger.audit_sink = GatedSink(logger.audit_sink)
    await logger.acompletion(messages=[{"role": "user", "content": "hi"}], **llm.litellm_kwargs())
    audits = [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "_despite_cancellation"]
    assert len(audits) == 1
    audits[0].cancel()  # what asyncio.run does to leftover tasks when main() returns
    await asyncio.sleep(0.05)
    audits[0].cancel()  # and once more, mid-delivery
    await asyncio.sleep(0.05)
    sink.release.set()
    assert await logger.aflush()
    assert len(audited(agent)) == 1
    await logger.aclose()


async def test_agovern_still_returns_with_the_audit_recorded(agent, llm):
    logger = _logger(agent)
    result = await logger.agovern(messages=[{"role": "user", "content": "hi"}], **llm.litellm_kwargs())
    assert result.audit_id and logger.pending_audits == 0
    assert [e["audit_id"] for e in audited(agent)] == [result.audit_id]
    await logger.aclose()


async def test_an_audit_cancelled_before_it_started_is_started_again(agent, llm):
    logger = _logger(agent)
    logger.audit_sink = GatedSink(logger.audit_sink)
    logger.audit_sink.release.set()
    await logger.acompletion(messages=[{"role": "user", "content": "hi"}], **llm.litellm_kwargs())
    audit = next(t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "_despite_cancellation")
    audit.cancel()  # before its first step: the coroutine never runs, nothing can catch it
    assert await logger.aflush()
    assert audit.cancelled() and len(audited(agent)) == 1
    await logger.aclose()


async def test_aclose_delivers_the_audits_in_flight(agent, llm):
    logger = _logger(agent)
    sink = logger.audit_sink = GatedSink(logger.audit_sink)
    await logger.acompletion(messages=[{"role": "user", "content": "hi"}], **llm.litellm_kwargs())
    asyncio.get_running_loop().call_later(0.1, sink.release.set)
    await logger.aclose()
    assert len(audited(agent)) == 1


SCRIPT_PRELUDE = """
import asyncio, sys
from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig

class SlowSink:  # the audit is still in flight when the script ends
    def __init__(self, inner):
        self.inner = inner
    async def deliver(self, payload):
        await asyncio.sleep(0.5)
        return await self.inner.deliver(payload)

logger = AxonFlowLogger(AxonFlowLoggerConfig(endpoint=sys.argv[1], client_id="script", client_secret=sys.argv[3]))
logger.audit_sink = SlowSink(logger.audit_sink)
kwargs = dict(model="openai/test-model", api_base=sys.argv[2], api_key="sk-test",
              messages=[{"role": "user", "content": "hi"}])
"""

ASYNC_SCRIPT = SCRIPT_PRELUDE + """
async def main():
    response = await logger.acompletion(**kwargs)
    print("answer:", response.choices[0].message.content, "pending:", logger.pending_audits)

asyncio.run(main())  # no aclose(): asyncio.run cancels the audit task and waits for it
"""

SYNC_SCRIPT = SCRIPT_PRELUDE + """
response = logger.completion(**kwargs)
print("answer:", response.choices[0].message.content, "pending:", logger.pending_audits)
# no close(): the interpreter exits with the audit in flight
"""

SYNC_CLOSING_SCRIPT = SYNC_SCRIPT + """
logger.close()  # delivers the audit, closes the clients: the main thread's own loop's too
logger.completion(**kwargs)  # the sync API still works after close(): clients are rebuilt
with logger:
    pass
"""


def _run_script(source: str, agent, llm) -> subprocess.CompletedProcess:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AXONFLOW_TELEMETRY": "off"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(source), agent.url, llm.url + "/v1", agent.secret],
                          capture_output=True, text=True, timeout=120, env=env)


def _assert_clean_exit(done: subprocess.CompletedProcess, llm) -> None:
    assert done.returncode == 0, done.stderr
    assert f"answer: {llm.reply} pending: 1" in done.stdout
    for noise in ("Unclosed", "Task was destroyed", "Traceback", "Exception ignored"):
        assert noise not in done.stderr, done.stderr


def test_asyncio_run_script_that_never_closes_still_audits(agent, llm):
    done = _run_script(ASYNC_SCRIPT, agent, llm)
    _assert_clean_exit(done, llm)
    assert len(audited(agent)) == 1


def test_sync_script_exiting_right_after_its_call_still_audits(agent, llm):
    done = _run_script(SYNC_SCRIPT, agent, llm)
    _assert_clean_exit(done, llm)
    assert len(audited(agent)) == 1


def test_sync_script_that_closes_its_logger_exits_cleanly(agent, llm):
    """close() closes the client of the main thread's own loop (where the script's sync
    pre-checks ran) there and then, instead of leaving it for the garbage collector."""
    done = _run_script(SYNC_CLOSING_SCRIPT, agent, llm)
    _assert_clean_exit(done, llm)
    assert len(audited(agent)) == 2


def test_a_finished_asyncio_run_loop_is_not_kept_alive(agent, llm):
    """A service calling asyncio.run per job must not accumulate loops, clients and sessions.

    `mock_response` keeps LiteLLM's own per-loop HTTP clients out of it (LiteLLM keeps its
    sessions, and so their loops, alive by itself), and its logging worker holds on to the
    most recent loop, so every loop but the last must be gone.
    """
    import gc
    import weakref

    logger = _logger(agent)
    loops = []

    async def job():
        loops.append(weakref.ref(asyncio.get_running_loop()))
        await logger.acompletion(messages=[{"role": "user", "content": "hi"}], mock_response="ok",
                                 **llm.litellm_kwargs())

    for _ in range(4):
        asyncio.run(job())
    gc.collect()
    assert [ref() for ref in loops[:-1]] == [None, None, None]
    assert len(audited(agent)) == 4


def test_sync_completion_hands_its_audit_over_without_waking_the_runtime_loop_itself(agent, llm, monkeypatch):
    """A script's sync call never wakes the runtime's loop itself: the pre-check runs in the
    main thread, and the audit is forwarded.

    Waking the loop is a socket write, during which the caller gives up the GIL and then
    waits out whichever thread took it (LiteLLM's logging thread, right after its call).
    """
    import threading

    from axonflow_notebook.core.runtime import get_runtime

    logger = _logger(agent)
    logger.completion(messages=[{"role": "user", "content": "warm-up"}], **llm.litellm_kwargs())
    assert logger.flush()
    loop = get_runtime().loop
    wakers = []
    real = loop.call_soon_threadsafe

    def recording(*args, **kwargs):
        wakers.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", recording)
    before = len(audited(agent))
    logger.completion(messages=[{"role": "user", "content": "hi"}], **llm.litellm_kwargs())
    caller_wakes = wakers.count(threading.current_thread().name)
    assert logger.flush()
    from axonflow_notebook.core.runtime import _HAS_RUNNER

    assert caller_wakes == (0 if _HAS_RUNNER else 1)  # Python 3.10: the pre-check's hop to the runtime loop
    assert "axonflow-runtime-post" in wakers
    assert len(audited(agent)) == before + 1
    logger.close()


def test_sync_close_closes_every_client_it_built(agent, llm, monkeypatch):
    """The runtime loop's client and the main thread's own loop's (a sync pre-check's)."""
    from axonflow_notebook.core import clients

    built = []
    real = clients.build_client
    monkeypatch.setattr(clients, "build_client", lambda config: built.append(real(config)) or built[-1])
    logger = _logger(agent)
    logger.completion(messages=[{"role": "user", "content": "hi"}], **llm.litellm_kwargs())
    logger.close()
    from axonflow_notebook.core.runtime import _HAS_RUNNER

    # one per loop: the main thread's own (pre-check; not on Python 3.10), the runtime's (audit)
    assert len(built) == (2 if _HAS_RUNNER else 1)
    assert all(c._http_client.is_closed for c in built)
    assert len(audited(agent)) == 1


def test_a_sync_call_leaves_the_main_threads_event_loop_alone(agent, llm):
    """The pre-check's loop of the main thread's own is never made its current loop."""
    policy = asyncio.get_event_loop_policy()
    mine = asyncio.new_event_loop()
    asyncio.set_event_loop(mine)
    try:
        logger = _logger(agent)
        logger.completion(messages=[{"role": "user", "content": "hi"}], **llm.litellm_kwargs())
        assert policy.get_event_loop() is mine
        assert not mine.is_closed() and not mine.is_running()
        logger.close()
        assert policy.get_event_loop() is mine
    finally:
        asyncio.set_event_loop(None)
        mine.close()


def test_run_in_caller_uses_the_runtime_loop_off_the_main_thread_and_without_asyncio_runner(monkeypatch):
    import threading

    from axonflow_notebook.core import runtime as runtime_module

    async def where():
        return threading.current_thread().name

    runtime = runtime_module.get_runtime()
    expected = "MainThread" if runtime_module._HAS_RUNNER else "axonflow-runtime"
    assert runtime.run_in_caller(where()) == expected
    out = []
    worker = threading.Thread(target=lambda: out.append(runtime.run_in_caller(where())))
    worker.start()
    worker.join()
    assert out == ["axonflow-runtime"]
    monkeypatch.setattr(runtime_module, "_HAS_RUNNER", False)  # Python 3.10
    assert runtime.run_in_caller(where()) == "axonflow-runtime"


async def test_sync_close_in_a_running_loop_does_not_wait_for_that_loops_audits(agent, llm):
    """close() in a notebook cell: the cell's loop is blocked, so its own audits cannot move;
    closing the runtime loop's client must not wait for them (it used to, until the timeout)."""
    import time

    logger = _logger(agent)
    logger.completion(messages=[{"role": "user", "content": "sync"}], **llm.litellm_kwargs())
    assert logger.flush()  # the runtime loop now has a client, with nothing left for it to do
    sink = logger.audit_sink = GatedSink(logger.audit_sink)
    await logger.acompletion(messages=[{"role": "user", "content": "async"}], **llm.litellm_kwargs())
    assert logger.pending_audits == 1  # held, on this (the cell's) loop
    started = time.monotonic()
    logger.close()
    assert time.monotonic() - started < 1.5
    sink.release.set()
    assert await logger.aflush()
    assert len(audited(agent)) == 2
    await logger.aclose()
