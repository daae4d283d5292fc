"""Interrupting a real kernel in the middle of a `%%governed --over` batch.

The cell ends promptly in two lines, the partial frame is bound (finished rows with their answers,
the others `cancelled`), the held row's request is expired, no thread or asyncio task of the batch
is left in the kernel, the model gets no more requests, and the next cell works.
"""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path

import httpx
import pytest

from axonflow_notebook.testing.agents import start_agent
from axonflow_notebook.testing.kernels import kernel_env, run, start_kernel, stop_kernel
from axonflow_notebook.testing.openai_server import OpenAITestServer

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BASELINE = """
import asyncio, threading
_base_threads = {t.ident for t in threading.enumerate()}
_base_tasks = set(asyncio.all_tasks())
"""

# The same check as tests/interrupts/test_kernel_interrupts.py: nothing new still running.
NOTHING_LEFT = """
import asyncio, threading, time

def _kernel_task(task):
    code = getattr(task.get_coro(), "cr_code", None)
    where = code.co_filename if code is not None else ""
    return any(part in where for part in ("/ipykernel/", "/IPython/", "/zmq/", "/tornado/"))

_deadline = time.monotonic() + 5
while True:
    _new_threads = [t.name for t in threading.enumerate() if t.ident not in _base_threads and t.is_alive()
                    and not t.name.startswith(("asyncio_", "uvloop_"))]
    _new_tasks = [t for t in asyncio.all_tasks() if t not in _base_tasks and not t.done()
                  and not _kernel_task(t)]
    if not _new_threads and not _new_tasks or time.monotonic() > _deadline:
        break
    await asyncio.sleep(0.1)
assert not _new_threads, _new_threads
assert not _new_tasks, [repr(t)[:300] for t in _new_tasks]
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch-interrupt")
    agent = start_agent(tmp / "agent.sqlite3", policies=POLICIES)
    llm = OpenAITestServer().start()
    env = kernel_env(tmp, AXONFLOW_ENDPOINT=agent.url, AXONFLOW_CLIENT_ID="batch-interrupt",
                     AXONFLOW_CLIENT_SECRET=agent.test_secret, OPENAI_API_KEY="sk-test",
                     OPENAI_API_BASE=llm.url + "/v1", AXONFLOW_NOTEBOOK_MODEL="openai/test-model")
    km, kc = start_kernel(env)
    try:
        ok = run(kc, "%load_ext axonflow_notebook\n"
                     "%config GovernedMagics.approval_poll_interval_seconds = 0.2\n"
                     "%config GovernedMagics.approval_max_wait_seconds = 120\n"
                     "%config GovernedMagics.simulate = 'never'\n"
                     "import pandas as pd\n"
                     "rows = pd.DataFrame({'text': ['Please prepare the wire transfer for invoice 1.'] + "
                     "[f'Summarise ticket {i}.' for i in range(80)]})")
        assert ok["status"] == "ok", ok
        # Warm up (imports, LiteLLM's logging worker, SDK clients) before any baseline.
        assert run(kc, "warm = rows.head(2).tail(1)")["status"] == "ok"
        assert run(kc, "%%governed --over warm -o warmed\n{text}")["status"] == "ok"
        yield {"agent": agent, "llm": llm, "km": km, "kc": kc}
    finally:
        stop_kernel(km, kc)
        llm.stop()
        agent.stop()


def test_interrupt_mid_batch_binds_the_partial_frame_and_leaves_nothing(world):
    kc, km, llm, agent = world["kc"], world["km"], world["llm"], world["agent"]
    assert run(kc, BASELINE)["status"] == "ok"
    llm.delay_seconds = 0.3
    before = llm.count
    msg_id = kc.execute("%%governed --over rows --concurrency 4 -o part\n{text}")
    reply, published, interrupted_at = None, [], None
    deadline = time.time() + 120
    while reply is None and time.time() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.05)
            if msg["parent_header"].get("msg_id") == msg_id or msg["msg_type"].startswith("comm"):
                published.append(json.dumps(msg["content"], default=str))
        except queue.Empty:
            pass
        if interrupted_at is None and llm.count - before >= 12:
            km.interrupt_kernel()
            interrupted_at = time.time()
        try:
            shell_msg = kc.get_shell_msg(timeout=0.02)
            if shell_msg["parent_header"].get("msg_id") == msg_id:
                reply = shell_msg["content"]
        except queue.Empty:
            pass
    end = time.time() + 1.5  # what the cell published while unwinding
    while time.time() < end:
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
            if msg["parent_header"].get("msg_id") == msg_id:
                published.append(json.dumps(msg["content"], default=str))
        except queue.Empty:
            pass
    llm.delay_seconds = 0.0
    assert interrupted_at is not None and reply is not None
    assert time.time() - interrupted_at < 15
    assert reply["status"] == "error" and reply["ename"] == "GovernedCallInterrupted", reply
    lines = reply["traceback"]
    assert len(lines) == 2 and lines[0].startswith("Interrupted: the batch stopped with"), lines
    assert "part and _governed" in lines[1] and "CancelledError" not in "\n".join(lines)

    check = run(kc, "s = part['answer_status']\n"
                    "assert part is _governed and _governed_batch.stopped == 'cancelled'\n"
                    "assert set(s) == {'allowed', 'cancelled'} and s[0] == 'cancelled', s.value_counts()\n"
                    "assert (part['answer'][s == 'allowed'] == 'Hello from the loopback LLM.').all()\n"
                    "print('HELD', _governed_batch[0].request_id)")
    assert check["status"] == "ok", check
    assert run(kc, NOTHING_LEFT)["status"] == "ok"
    sent = llm.count
    time.sleep(1.0)
    assert llm.count == sent, "rows kept reaching the model after the interrupt"
    # The held row's request was expired: approving it now is refused.
    pending = httpx.get(f"{agent.url}/api/v1/hitl/queue", params={"status": "pending"},
                        auth=("batch-interrupt", agent.test_secret), timeout=5).json()
    items = pending.get("data", pending)
    items = items.get("items", []) if isinstance(items, dict) else items
    assert items == [], items
    assert any("interrupted" in text for text in published)  # the summary says how it ended
    after = run(kc, "%%governed --over warm -o again\n{text}")
    assert after["status"] == "ok", after
