"""The core's one runtime: one background loop for all background work, one ordered exit.

What the exit steps do is tested where it matters (an audit in flight: test_background_audit;
the journal's last pass: tests/faults/test_journal; open approval waits: test_approval_expiry;
clients closed without aiohttp's complaints: all scripts' clean stderr). Here: that there is
exactly one exit hook, that it runs the registered steps in their order and then stops the
loop, and that sync calls, their audits, the journal and console calls share the one loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from axonflow_notebook.core.runtime import Runtime, get_runtime

ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AXONFLOW_TELEMETRY": "off"}
CORE_MODULES = ("approval", "audit_sink", "callback", "clients", "journal", "journal_delivery",
                "journal_recording", "journal_store", "llm", "logger", "pending", "pipeline", "review",
                "runtime", "streaming")


def _python(source: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(source)], capture_output=True, text=True,
                          timeout=120, env=ENV)


def test_the_core_registers_one_exit_hook():
    done = _python(f"""
        import atexit, importlib, tempfile
        registered = []
        register = atexit.register
        def recording(fn, *args, **kwargs):
            registered.append(fn.__module__ + "." + fn.__qualname__)
            return register(fn, *args, **kwargs)
        atexit.register = recording
        for name in {CORE_MODULES!r}:
            importlib.import_module("axonflow_notebook.core." + name)
        from axonflow_notebook.core.journal import Journal
        Journal(tempfile.mkdtemp() + "/a.sqlite3").close()
        Journal(tempfile.mkdtemp() + "/b.sqlite3").close()
        print(" ".join(name for name in registered if name.startswith("axonflow_notebook")))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["axonflow_notebook.core.runtime.shutdown"]


def test_exit_steps_are_registered_in_their_order():
    done = _python(f"""
        import importlib
        for name in {CORE_MODULES!r}:
            importlib.import_module("axonflow_notebook.core." + name)
        from axonflow_notebook.core.runtime import _STEPS
        for step, callbacks in sorted(_STEPS.items()):
            print(step.name, ",".join(c.__module__.rsplit(".", 1)[-1] + "." + c.__name__ for c in callbacks))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "AUDITS pending._wait_for_all",
        "JOURNAL journal._flush_all_at_exit",
        "APPROVALS approval._expire_open_waits",
        "CLIENTS clients._close_all_pools",
    ]


def test_shutdown_runs_the_steps_in_order_then_stops_the_loop():
    done = _python("""
        import asyncio
        from axonflow_notebook.core import runtime
        from axonflow_notebook.core.runtime import ShutdownStep, at_shutdown, get_runtime

        order = []
        rt = get_runtime()
        for step in reversed(list(ShutdownStep)):  # registered out of order on purpose
            at_shutdown(step, lambda step=step: order.append((step.name, rt.started)))

        async def forever():
            await asyncio.sleep(3600)

        leftover = rt.submit(forever())
        runtime.shutdown()
        print(order)
        print("stopped:", not rt.started, "leftover cancelled:", leftover.cancelled())
    """)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == str([("AUDITS", True), ("JOURNAL", True), ("APPROVALS", True), ("CLIENTS", True)])
    assert lines[1] == "stopped: True leftover cancelled: True"
    assert "Task was destroyed" not in done.stderr


def test_run_submit_and_the_loop_thread():
    runtime = get_runtime()

    async def where():
        return threading.current_thread().name

    assert runtime.run(where()) == "axonflow-runtime"
    future = runtime.submit(where())
    assert isinstance(future, concurrent.futures.Future) and future.result(5) == "axonflow-runtime"

    async def nested():
        coro = where()
        with pytest.raises(RuntimeError, match="runtime's own loop"):
            runtime.run(coro)
        return True

    assert runtime.run(nested())


@pytest.mark.parametrize("forward", [True, False])
def test_post_runs_the_callback_on_the_loop_with_or_without_the_forwarder(forward):
    runtime = Runtime()
    runtime.forward_posts = forward
    ran = threading.Event()
    where = []

    def callback():
        where.append((threading.current_thread().name, asyncio.get_running_loop() is runtime.loop))
        ran.set()

    try:
        runtime.post(callback)
        assert ran.wait(5)
        assert where == [("axonflow-runtime", True)]
        assert (runtime._forwarder is not None) is forward
    finally:
        runtime.stop()
    assert not runtime.started


def test_sync_calls_audits_journal_and_console_share_the_one_loop(make_logger, fake, call, tmp_path):
    from axonflow_notebook.core.journal import Journal
    from axonflow_notebook.core.review import GovernanceConsole

    class Health:  # the console's one SDK call here
        async def health_check(self):
            return threading.current_thread().name == "axonflow-runtime"

    logger = make_logger()
    journal = Journal(tmp_path / "journal.sqlite3", poll_seconds=0.05)
    journal.attach(logger)
    try:
        seen = []
        logger.completion(on_event=lambda e: seen.append(threading.current_thread().name), **call())
        assert logger.flush()
        runtime = get_runtime()
        assert "axonflow-runtime" in seen  # the completion event and the audit ran there
        serving = [task for task in runtime.run(_all_tasks()) if "JournalDelivery._serve" in task]
        assert serving, "the journal's delivery does not run on the runtime's loop"
        console = GovernanceConsole(logger)
        logger._governor.clients._injected = Health()
        assert runtime.run(console.health())
        ours = {t.name for t in threading.enumerate() if t.name.startswith("axonflow-")}
        assert ours <= {"axonflow-runtime", "axonflow-runtime-post", "axonflow-import-litellm",
                        "axonflow-import-sdk"}, ours
    finally:
        journal.close()


async def _all_tasks() -> list:
    return [repr(task.get_coro()) for task in asyncio.all_tasks()]
