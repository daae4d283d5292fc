"""KeyboardInterrupt (Ctrl-C, `_thread.interrupt_main`) in the sync core API, against a real
embedded agent and the loopback LLM server.

* `completion()` waiting for an approval: ends promptly, the call reports "cancelled", nothing
  is left on the runtime's loop or on the main thread's own loop (where a script's sync
  pre-check runs), the abandoned request is expired at once (a late approval is a 409 and
  runs nothing), the next call works.
* A sync stream interrupted between chunks: the same, and the next stream is whole.
"""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
from pathlib import Path

import pytest

from axonflow_notebook.core.runtime import get_runtime
from axonflow_notebook.core.config import AxonFlowLoggerConfig
from axonflow_notebook.core.events import ApprovalDecided, ApprovalRequested
from axonflow_notebook.core.logger import AxonFlowLogger

from test_kernel_interrupts import SlowStreamServer  # noqa: E402  (same directory)

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"


@pytest.fixture
def llm():
    import litellm

    litellm.suppress_debug_info = True
    with SlowStreamServer(reply=" ".join(f"w{i}" for i in range(60))) as server:
        yield server


@pytest.fixture
def logger(agent_factory):
    agent = agent_factory(policies=str(POLICIES))
    log = AxonFlowLogger(AxonFlowLoggerConfig(
        endpoint=agent.url, client_id="sync-interrupts", client_secret=agent.secret,
        approval_poll_interval_seconds=0.05,
        approval_max_wait_seconds=60, call_timeout_seconds=5))
    log.agent = agent
    yield log
    log.close()


def _runtime_tasks() -> list:
    async def others() -> list:
        me = asyncio.current_task()
        return [(t.get_name(), repr(t)[:200]) for t in asyncio.all_tasks() if t is not me and not t.done()]

    return asyncio.run_coroutine_threadsafe(others(), get_runtime().loop).result(5)


def _main_loop_tasks() -> list:
    """Unfinished tasks on the main thread's own loop (a script's sync pre-check runs there)."""
    runner = get_runtime()._main_runner
    if runner is None:
        return []
    return [repr(t)[:200] for t in asyncio.all_tasks(runner.get_loop()) if not t.done()]


def _baseline() -> tuple:
    """Long-lived threads and runtime-loop tasks (e.g. LiteLLM's logging worker) after a warm-up."""
    return {t.ident for t in threading.enumerate()}, {name for name, _ in _runtime_tasks()}


def _settled(baseline: tuple, timeout: float = 5.0) -> tuple:
    """New threads and runtime-loop tasks still alive after `timeout` (empty when all ended)."""
    before, before_tasks = baseline
    deadline = time.monotonic() + timeout
    while True:
        threads = [t.name for t in threading.enumerate() if t.ident not in before and t.is_alive()]
        tasks = [text for name, text in _runtime_tasks() if name not in before_tasks] + _main_loop_tasks()
        if (not threads and not tasks) or time.monotonic() > deadline:
            return threads, tasks
        time.sleep(0.05)


def _interrupt_when(flag: threading.Event, delay: float = 0.3) -> threading.Thread:
    def run() -> None:
        if flag.wait(20):
            time.sleep(delay)
            _thread.interrupt_main()

    thread = threading.Thread(target=run, name="test-interrupter", daemon=True)
    thread.start()
    return thread


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


@pytest.fixture(params=["default", "custom"])
def sigint_handler(request):
    """Python's own SIGINT handler, or a script's own (which asyncio.Runner leaves alone)."""
    import signal

    if request.param == "default":
        yield request.param
        return
    previous = signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
    try:
        yield request.param
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_while_waiting_for_approval(logger, llm, sigint_handler):
    from axonflow.hitl import HITLReviewInput

    kwargs = dict(**llm.litellm_kwargs(), messages=[{"role": "user", "content": "Prepare a wire transfer"}])
    logger.completion(**llm.litellm_kwargs(), messages=[{"role": "user", "content": "warm up"}])
    get_runtime().run(asyncio.sleep(0))
    time.sleep(0.2)
    baseline = _baseline()
    base_count = llm.count
    events: list = []
    requested = threading.Event()

    def on_event(event):
        events.append(event)
        if isinstance(event, ApprovalRequested):
            requested.set()

    interrupter = _interrupt_when(requested)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        logger.completion(on_event=on_event, **kwargs)
        time.sleep(30)  # never reached: the interrupt lands inside completion()
    took = time.monotonic() - started
    interrupter.join(5)
    baseline[0].add(interrupter.ident)
    assert took < 10
    assert [e.status for e in events if isinstance(e, ApprovalDecided)] == ["cancelled"]
    threads, tasks = _settled(baseline)
    assert threads == [] and tasks == [], (threads, tasks)

    request_id = next(e.request_id for e in events if isinstance(e, ApprovalRequested))

    async def approve() -> None:
        from axonflow import AxonFlow

        async with AxonFlow(endpoint=logger.agent.url, client_id="reviewer", client_secret=logger.agent.secret) as sdk:
            await sdk.approve_hitl_request(request_id, HITLReviewInput(
                reviewer_id="late", reviewer_email="late@example.com", comment="late"))

    async def status() -> str:
        from axonflow import AxonFlow

        async with AxonFlow(endpoint=logger.agent.url, client_id="reviewer", client_secret=logger.agent.secret) as sdk:
            return (await sdk.get_hitl_request(request_id)).status

    assert logger.flush(5)  # the expiry is a tracked delivery on the runtime's loop
    assert asyncio.run(status()) == "expired"
    from axonflow import AxonFlowError

    with pytest.raises(AxonFlowError, match="409"):
        asyncio.run(approve())
    time.sleep(0.5)
    assert llm.count == base_count, "a late approval made the interrupted call run"
    response = logger.completion(**llm.litellm_kwargs(), messages=[{"role": "user", "content": "hello"}])
    assert response.choices[0].message.content.startswith("w0")
    assert llm.count == base_count + 1


def test_ctrl_c_between_stream_chunks(logger, llm):
    # Warm up the same path: a sync stream runs LiteLLM on the runtime loop, whose first
    # connection starts that loop's resolver thread (a plain completion() does not).
    warm_up = [{"role": "user", "content": "warm up"}]
    for _ in logger.completion(**llm.litellm_kwargs(), stream=True, messages=warm_up):
        pass
    time.sleep(0.2)
    baseline = _baseline()
    llm.chunk_delay = 0.1
    got: list = []
    third = threading.Event()
    interrupter = _interrupt_when(third, delay=0.05)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        stream = logger.completion(**llm.litellm_kwargs(), stream=True,
                                   messages=[{"role": "user", "content": "tell a story"}])
        for chunk in stream:
            got.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
            if len(got) >= 3:
                third.set()
        time.sleep(30)  # never reached
    took = time.monotonic() - started
    interrupter.join(5)
    baseline[0].add(interrupter.ident)
    llm.chunk_delay = 0.0
    assert took < 10
    assert 3 <= len(got) < 60, len(got)
    threads, tasks = _settled(baseline)
    assert threads == [] and tasks == [], (threads, tasks)
    # The interrupted stream can still be closed (its partial answer is audited) ...
    stream.close()
    # ... and the next one is whole.
    text = "".join(c.choices[0].delta.content or "" for c in logger.completion(
        **llm.litellm_kwargs(), stream=True, messages=[{"role": "user", "content": "again"}]) if c.choices)
    assert text.split() == [f"w{i}" for i in range(60)]
