"""Sync API everywhere, streaming, audit-only callback mode (injected client)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time

import litellm
import pytest

from axonflow_notebook.core import events as ev
from axonflow_notebook.core.runtime import Runtime

from core_fakes import PreCheck


def test_sync_consecutive_calls_each_governed(make_logger, fake, call, llm):
    logger = make_logger()
    for _ in range(10):
        assert logger.completion(**call()).choices[0].message.content == llm.reply
    assert logger.flush()
    assert len(fake.pre_checks) == 10 and len(fake.audits) == 10


async def test_sync_inside_running_loop(make_logger, fake, call, llm):
    asyncio.get_running_loop()
    logger = make_logger()
    for _ in range(3):
        logger.completion(**call())
    assert await logger.aflush()  # flush() would block this loop; the audits run on the runtime's
    assert len(fake.pre_checks) == 3 and len(fake.audits) == 3


def test_sync_from_threads(make_logger, fake, call):
    logger = make_logger()
    errors = []

    def work():
        try:
            logger.completion(**call())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert logger.flush()
    assert errors == [] and len(fake.audits) == 8


def test_events_fire_where_each_stage_runs(make_logger, call):
    """A script's sync call: the decision in its own (main) thread, completion and audit on the
    runtime's loop; from another thread, every stage there."""
    from axonflow_notebook.core import events as ev

    def record(into):
        return lambda e: into.append((type(e).__name__, threading.current_thread().name))

    logger = make_logger()
    main: list = []
    logger.completion(on_event=record(main), **call())
    assert logger.flush()  # the completion and audit events come after the answer
    runtime = "axonflow-runtime"
    from axonflow_notebook.core.runtime import _HAS_RUNNER

    decided_in = "MainThread" if _HAS_RUNNER else runtime  # Python 3.10: no asyncio.Runner
    assert (ev.DecisionMade.__name__, decided_in) in main
    assert {name for kind, name in main if kind != ev.DecisionMade.__name__} == {runtime}

    worker: list = []
    thread = threading.Thread(target=lambda: logger.completion(on_event=record(worker), **call()))
    thread.start()
    thread.join()
    assert logger.flush()
    assert {name for _, name in worker} == {runtime}


def test_runtime_keyboard_interrupt_cancels_coroutine():
    runtime = Runtime()
    state = {"cancelled": False}

    async def wait_forever():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise

    def interrupt_soon():
        time.sleep(0.1)
        import _thread

        _thread.interrupt_main()

    threading.Thread(target=interrupt_soon).start()
    with pytest.raises(KeyboardInterrupt):
        runtime.run(wait_forever())
    assert state["cancelled"]
    assert [t for t in asyncio.all_tasks(runtime.loop)] == [] or all(
        t.done() for t in asyncio.all_tasks(runtime.loop))


def test_keyboard_interrupt_during_approval_stops_polling(make_logger, fake, call):
    fake.pre = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
    seen = []

    def interrupt_soon():
        time.sleep(0.2)
        import _thread

        _thread.interrupt_main()

    threading.Thread(target=interrupt_soon).start()
    with pytest.raises(KeyboardInterrupt):
        make_logger(approval_max_wait_seconds=30).completion(on_event=seen.append, **call())
    polls = fake.polls
    time.sleep(0.1)
    assert fake.polls == polls
    assert any(isinstance(e, ev.ApprovalDecided) and e.status == "cancelled" for e in seen)


def test_plain_script_consecutive_sync_calls(llm):
    script = textwrap.dedent(f"""
        import os
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"; os.environ["AXONFLOW_TELEMETRY"] = "off"
        import sys; sys.path.insert(0, {str(__import__('pathlib').Path(__file__).parent)!r})
        from core_fakes import FakeAxonFlow
        from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
        fake = FakeAxonFlow()
        logger = AxonFlowLogger.from_client(fake, AxonFlowLoggerConfig(endpoint="http://x", client_id="c"))
        for _ in range(5):
            logger.completion(model="openai/test-model", api_base={llm.url + '/v1'!r}, api_key="sk-test",
                              messages=[{{"role": "user", "content": "hi"}}])
        assert logger.flush()
        print(len(fake.pre_checks), len(fake.audits))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "5 5", out.stderr[-2000:]


async def test_async_stream_governed(make_logger, fake, call, llm):
    seen = []
    logger = make_logger()
    stream = await logger.acompletion(on_event=seen.append, stream=True, **call())
    assert fake.pre_checks and fake.audits == []
    text = ""
    async for chunk in stream:
        text += chunk.choices[0].delta.content or ""
    assert text == llm.reply
    assert await logger.aflush()
    assert len(fake.audits) == 1 and fake.audits[0]["response_summary"] == llm.reply
    assert fake.audits[0]["token_usage"].total_tokens > 0
    chunks = [e.delta for e in seen if isinstance(e, ev.CompletionChunk)]
    assert "".join(chunks) == llm.reply
    kinds = [type(e).__name__ for e in seen]
    assert kinds.index("CompletionFinished") > kinds.index("CompletionChunk")


def test_sync_stream_governed(make_logger, fake, call, llm):
    logger = make_logger()
    stream = logger.completion(stream=True, stream_options={"include_usage": True}, **call())
    text = "".join((chunk.choices[0].delta.content or "") if chunk.choices else "" for chunk in stream)
    assert text == llm.reply
    assert logger.flush()
    assert len(fake.audits) == 1 and fake.audits[0]["response_summary"] == llm.reply


async def test_stream_denied_before_first_chunk(make_logger, fake, call, llm):
    fake.pre = PreCheck(approved=False, policies=["p"], block_reason="no")
    from axonflow_notebook import PolicyDeniedError

    with pytest.raises(PolicyDeniedError):
        await make_logger().acompletion(stream=True, **call())
    assert llm.count == 0


async def test_agovern_stream_collects_text(make_logger, call, llm):
    result = await make_logger().agovern(stream=True, **call())
    assert result.ok and result.text == llm.reply
    assert sum(isinstance(e, ev.CompletionChunk) for e in result.events) >= 2


async def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


@pytest.fixture
def callbacks():
    """LiteLLM copies `callbacks` into internal lists at the first call: reset them all."""
    litellm.logging_callback_manager._reset_all_callbacks()
    yield
    litellm.logging_callback_manager._reset_all_callbacks()


@pytest.mark.asyncio(loop_scope="module")
async def test_callback_mode_async_success_and_failure(make_logger, fake, call, llm, callbacks):
    logger = make_logger()
    litellm.callbacks = [logger]
    await litellm.acompletion(**call())
    assert await _wait_for(lambda: len(fake.audits) >= 1)
    llm.fail_status = 500
    with pytest.raises(Exception):
        await litellm.acompletion(num_retries=0, **call())
    assert await _wait_for(lambda: len(fake.audits) >= 2)
    await asyncio.sleep(0.2)
    assert len(fake.audits) == 2
    assert fake.audits[1]["response_summary"].startswith("[ERROR]")


@pytest.mark.asyncio(loop_scope="module")
async def test_callback_mode_never_blocks(make_logger, fake, call, llm, callbacks):
    fake.pre = PreCheck(approved=False, policies=["p"], block_reason="no")
    litellm.callbacks = [make_logger()]
    response = await litellm.acompletion(**call())
    assert response.choices[0].message.content == llm.reply
    assert await _wait_for(lambda: len(fake.audits) == 1), (len(fake.audits), len(fake.pre_checks))


def test_callback_mode_sync(make_logger, fake, call, llm, callbacks):
    litellm.callbacks = [make_logger()]
    litellm.completion(**call())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(fake.audits) < 1:
        time.sleep(0.02)
    time.sleep(0.2)
    assert len(fake.audits) == 1


@pytest.mark.asyncio(loop_scope="module")
async def test_callback_mode_never_governs_twice(make_logger, fake, call, llm, callbacks):
    logger = make_logger()
    litellm.callbacks = [logger]
    await logger.acompletion(**call())
    logger.completion(**call())
    await asyncio.sleep(0.3)
    assert len(fake.pre_checks) == 2 and len(fake.audits) == 2
