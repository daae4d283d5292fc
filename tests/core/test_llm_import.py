"""LiteLLM is imported once, in a worker thread, never on the calling event loop.

Each test runs a fresh interpreter, where LiteLLM is not imported yet (4–5 s). The first
governed `acompletion` there must leave the caller's loop running: a coroutine ticking every
5 ms keeps ticking throughout. The bound is not ~100 ms: LiteLLM's own import holds the GIL
in single C calls (pydantic-core building a model's schema, `json.dumps` of its bundled
tokenizer) for 100–250 ms on this machine, which no thread can interrupt; the assertion is
that no stall comes near the 4–5 s the import used to block the loop for, and that the
loop ticked all through it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AXONFLOW_TELEMETRY": "off"}
MAX_STALL_S = 0.75  # measured worst single stall 0.27 s (shared 2-core machine): headroom, not slack
# Under load (other processes on both cores: the import took 9-11 s instead of 4-5) the OS alone
# stalls the loop for over a second now and then; a loop blocked by the import would stall for
# nearly all of it. So the bound grows with the import's own time, to a sixth of it at most.
LOADED_STALL_SHARE = 1 / 6


def _python(source: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(source), *args], capture_output=True, text=True,
                          timeout=180, env=ENV)


TICKING = """
import asyncio, sys, time
from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
from axonflow_notebook.core.llm import litellm_ready

assert "litellm" not in sys.modules

async def main():
    gaps, ticks_while_importing = [], 0
    done = False

    async def tick():
        nonlocal ticks_while_importing
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
            ticks_while_importing += not litellm_ready()

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    logger = AxonFlowLogger(AxonFlowLoggerConfig(endpoint=sys.argv[1], client_id="ticker", client_secret=sys.argv[3]))
    built = time.perf_counter() - started
    assert not litellm_ready(), "building the logger imported LiteLLM on this thread"
    response = await logger.acompletion(model="openai/test-model", api_base=sys.argv[2], api_key="sk-test",
                                        messages=[{"role": "user", "content": "hi"}])
    took = time.perf_counter() - started
    done = True
    await ticker
    await logger.aclose()
    print("built", round(built, 3), "took", round(took, 2), "max_gap", round(max(gaps), 3),
          "ticks_while_importing", ticks_while_importing, "answer", response.choices[0].message.content)

asyncio.run(main())
"""


def test_first_governed_call_never_stalls_the_calling_loop(agent, llm):
    done = _python(TICKING, agent.url, llm.url + "/v1", getattr(agent, "secret", None) or "x")
    assert done.returncode == 0, done.stderr[-3000:]
    words = done.stdout.split()
    figures = dict(zip(words[0:8:2], map(float, words[1:8:2])))
    assert figures["built"] < 0.5
    assert figures["took"] > 1.0, "LiteLLM was already imported: the test measured nothing"
    assert figures["max_gap"] < max(MAX_STALL_S, figures["took"] * LOADED_STALL_SHARE), figures
    # the loop ran all through the import: on average at least one 5 ms tick per 50 ms
    assert figures["ticks_while_importing"] >= (figures["took"] - 0.5) * 20, figures
    assert done.stdout.rstrip().endswith(llm.reply)


ADOPTED = """
import asyncio, sys, time
import httpx
from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
from axonflow_notebook.core.llm import ensure_litellm

config = AxonFlowLoggerConfig(endpoint=sys.argv[1], client_id="callback", client_secret=sys.argv[3])
early = AxonFlowLogger(config)           # built before LiteLLM is imported
litellm = asyncio.run(ensure_litellm())  # imported in the worker thread
from litellm.integrations.custom_logger import CustomLogger
late = AxonFlowLogger(config)            # built after
print("custom_logger", isinstance(early, CustomLogger), isinstance(late, CustomLogger), early.turn_off_message_logging)
litellm.callbacks = [early]
litellm.completion(model="openai/test-model", api_base=sys.argv[2], api_key="sk-test",
                   messages=[{"role": "user", "content": "audited by callback"}])
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    body = httpx.post(sys.argv[1] + "/api/v1/audit/search", json={"limit": 10}, auth=("callback", sys.argv[3])).json()
    if any(e.get("audit_id") for e in body.get("entries", [])):
        print("audited")
        break
    time.sleep(0.05)
"""


def test_a_logger_built_before_litellm_is_a_custom_logger_once_it_is_imported(agent, llm):
    done = _python(ADOPTED, agent.url, llm.url + "/v1", getattr(agent, "secret", None) or "x")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[:2] == ["custom_logger True True False", "audited"], done.stdout


def test_start_returns_at_once_and_ready_reports_the_import():
    done = _python("""
        import time
        from axonflow_notebook.core.llm import litellm_ready, start_litellm_import, litellm_module
        started = time.perf_counter()
        start_litellm_import()
        start_litellm_import()  # once
        returned = time.perf_counter() - started
        before = litellm_ready()
        module = litellm_module()
        import threading
        print(round(returned, 3), before, litellm_ready(), module.__name__,
              sum(t.name == "axonflow-import-litellm" for t in threading.enumerate()))
    """)
    assert done.returncode == 0, done.stderr[-3000:]
    returned, before, after, name, threads = done.stdout.split()
    assert float(returned) < 0.05 and before == "False" and after == "True" and name == "litellm"
    assert threads == "0"  # the import thread ends with the import


async def test_a_failed_background_import_reaches_every_waiter():
    import pytest

    from axonflow_notebook.core.background_import import BackgroundImport

    missing = BackgroundImport("axonflow_notebook_no_such_module", thread_name="test-import")
    with pytest.raises(ModuleNotFoundError):
        await missing.wait()
    with pytest.raises(ModuleNotFoundError):
        missing.wait_blocking()
    assert not missing.ready()


async def test_a_cancelled_waiter_leaves_the_import_to_the_others(tmp_path, monkeypatch):
    """An interrupted first cell (its `await ensure_litellm()` cancelled) must not cancel the
    import the next cell waits for: before, that cell failed with a bare CancelledError."""
    import asyncio
    import sys

    from axonflow_notebook.core.background_import import BackgroundImport

    (tmp_path / "axonflow_slow_module.py").write_text("import time\ntime.sleep(0.5)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "axonflow_slow_module", raising=False)
    slow = BackgroundImport("axonflow_slow_module", thread_name="test-import")
    first = asyncio.ensure_future(slow.wait())
    await asyncio.sleep(0.05)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(slow.wait(), 10)  # a later waiter gets the module
    slow.wait_blocking()
    assert slow.ready()


EXIT_WHILE_IMPORTING = """
import sys, time
sys.path.insert(0, sys.argv[1])
from axonflow_notebook.core.background_import import BackgroundImport

BackgroundImport("axonflow_slow_module", thread_name="test-import").start()
time.sleep(0.2)  # the import is under way, holding its module's lock
print("exiting", flush=True)
"""


def test_a_process_exiting_while_a_background_import_runs_lets_the_import_finish(tmp_path):
    """The bench that starts a shell and exits before `import litellm` is done hung at exit in
    CI (2 runs in 20 here): the import thread, a daemon, was frozen mid-import when the
    interpreter finalized, still holding an import lock, and an import made while finalizing
    (LiteLLM's half-built transport printing its `__del__` error) waited on it forever. Exiting
    now waits for the import: the module's last line runs."""
    (tmp_path / "axonflow_slow_module.py").write_text(
        "import pathlib, time\n"
        "time.sleep(1.0)\n"
        f"pathlib.Path({str(tmp_path / 'finished')!r}).write_text('yes')\n")
    done = subprocess.run([sys.executable, "-c", EXIT_WHILE_IMPORTING, str(tmp_path)], capture_output=True,
                          text=True, timeout=60, env=ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["exiting"], done.stdout + done.stderr[-2000:]
    assert (tmp_path / "finished").read_text() == "yes"
