"""Interrupting a real kernel (`km.interrupt_kernel()`) in the middle of a governed cell.

One ipykernel, driven by jupyter_client, talks to an AxonFlow agent and a loopback LLM server
that run in this test process (real HTTP both ways, real answers, request counts). Three moments:
* while the cell waits for a human approval;
* while a streamed answer is arriving;
* while AxonFlow is restarting (the pre-check hangs on a port that accepts but never answers).
Each time: the cell ends promptly in one or two lines naming what happened (no traceback through
the rewritten call), what the cell shows says it was cancelled / interrupted, the bound result
holds what the card showed (decision, approval, events), no thread or asyncio task of the call
is left running in the kernel, and the next cell works. After the approval case, approving the
abandoned request runs nothing (LLM count unchanged).
"""

from __future__ import annotations

import asyncio
import json
import queue
import select
import socket
import time
from pathlib import Path

import httpx
import pytest

from axonflow_notebook.testing.agents import start_agent
from axonflow_notebook.testing.kernels import kernel_env, run, start_kernel, stop_kernel
from axonflow_notebook.testing.openai_server import OpenAITestServer
from axonflow_notebook.testing.ports import free_port

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"
PROMPT_TIMEOUT_S = 10.0
INTERRUPTED = "GovernedCallInterrupted"  # one or two lines, never a CancelledError traceback

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


class SlowStreamServer(OpenAITestServer):
    """The loopback LLM, streaming one word every `chunk_delay` seconds."""

    chunk_delay = 0.0

    async def _sse(self, *args):
        async for frame in super()._sse(*args):
            yield frame
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import litellm

    litellm.suppress_debug_info = True
    tmp = tmp_path_factory.mktemp("interrupts")
    port = free_port()
    db = tmp / "agent.sqlite3"
    agent = start_agent(db, policies=POLICIES, port=port)
    llm = SlowStreamServer(reply=" ".join(f"word{i}" for i in range(120))).start()
    env = kernel_env(
        tmp, AXONFLOW_ENDPOINT=agent.url, AXONFLOW_CLIENT_ID="interrupts",
        AXONFLOW_CLIENT_SECRET=agent.test_secret,
        OPENAI_API_KEY="sk-test", OPENAI_API_BASE=llm.url + "/v1", OPENAI_BASE_URL=llm.url + "/v1",
        AXONFLOW_NOTEBOOK_MODEL="openai/test-model",
    )
    km, kc = start_kernel(env)
    state = {"agent": agent, "llm": llm, "km": km, "kc": kc, "port": port, "db": db}
    try:
        ok = _run(kc, "%load_ext axonflow_notebook\n"
                      "%config GovernedMagics.approval_poll_interval_seconds = 0.2\n"
                      "%config GovernedMagics.approval_max_wait_seconds = 120\n"
                      "%config GovernedMagics.call_timeout_seconds = 60\n"
                      "%config GovernedMagics.simulate = 'never'")
        assert ok["status"] == "ok", ok
        # Warm up (imports, LiteLLM's logging worker, SDK clients) before any baseline.
        warm = _run(kc, "%%governed -o warm\nSay hello.")
        assert warm["status"] == "ok", warm
        yield state
    finally:
        stop_kernel(km, kc)
        llm.stop()
        state["agent"].stop()


_run = run


BASELINE = """
import asyncio, threading, time
_base_threads = {t.ident for t in threading.enumerate()}
_base_tasks = set(asyncio.all_tasks())
"""

NOTHING_LEFT = """
import asyncio, threading, time

def _kernel_task(task):  # the kernel's own tasks for running this very cell
    code = getattr(task.get_coro(), "cr_code", None)
    where = code.co_filename if code is not None else ""
    return any(part in where for part in ("/ipykernel/", "/IPython/", "/zmq/", "/tornado/"))

_deadline = time.monotonic() + 5
while True:
    _new_threads = [t.name for t in threading.enumerate() if t.ident not in _base_threads and t.is_alive()]
    _new_tasks = [t for t in asyncio.all_tasks() if t not in _base_tasks and not t.done()
                  and not _kernel_task(t)]
    if not _new_threads and not _new_tasks or time.monotonic() > _deadline:
        break
    await asyncio.sleep(0.1)
assert not _new_threads, _new_threads
assert not _new_tasks, [repr(t)[:300] for t in _new_tasks]
"""


def _says_what_happened(reply: dict, what: str) -> None:
    """One or two lines naming what happened: no traceback through the rewritten call."""
    assert reply["status"] == "error" and reply["ename"] == INTERRUPTED, reply
    lines = reply["traceback"]
    assert 1 <= len(lines) <= 2, lines
    text = "\n".join(lines)
    assert what in text and "governed_awaiting" not in text and "CancelledError" not in text, text


def _interrupt_cell(world, code: str, ready) -> tuple[dict, float, str]:
    """Run `code`, interrupt the kernel once `ready()` is true; the reply, how long the cell
    took to end after the interrupt, and everything it published."""
    kc, km = world["kc"], world["km"]
    msg_id = kc.execute(code)
    texts: list = []
    interrupted_at = None
    reply = None
    deadline = time.time() + 120
    while time.time() < deadline and reply is None:
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
            if _shown(msg, msg_id):
                texts.append(json.dumps(msg["content"], default=str))
        except queue.Empty:
            pass
        if interrupted_at is None and ready():
            km.interrupt_kernel()
            interrupted_at = time.time()
        try:
            shell_msg = kc.get_shell_msg(timeout=0.02)
            if shell_msg["parent_header"].get("msg_id") == msg_id:
                reply = shell_msg["content"]
        except queue.Empty:
            pass
    assert interrupted_at is not None, "the moment to interrupt never came"
    assert reply is not None, "the cell never ended"
    took = time.time() - interrupted_at
    end = time.time() + 1.5  # what the cell published while unwinding
    while time.time() < end:
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
            if _shown(msg, msg_id):
                texts.append(json.dumps(msg["content"], default=str))
        except queue.Empty:
            pass
    return reply, took, "\n".join(texts)


def _shown(msg: dict, msg_id: str) -> bool:
    """What the cell itself displays (outputs, display updates, widget state): not the error
    message the kernel adds, whose exception name alone would say "cancelled"."""
    return msg["msg_type"] in ("display_data", "update_display_data", "comm_open", "comm_msg",
                               "stream", "execute_result") and (
        msg["parent_header"].get("msg_id") == msg_id or msg["msg_type"].startswith("comm"))


def _pending(agent) -> list:
    response = httpx.get(f"{agent.url}/api/v1/hitl/queue", params={"status": "pending"},
                         auth=("interrupts", agent.test_secret), timeout=5)
    body = response.json()
    data = body.get("data", body)
    return data.get("items", []) if isinstance(data, dict) else data


def test_interrupt_while_waiting_for_approval_then_late_approval_runs_nothing(world):
    kc, agent, llm = world["kc"], world["agent"], world["llm"]
    assert _run(kc, BASELINE)["status"] == "ok"
    before_llm = llm.count
    seen_at: list = []

    def ready() -> bool:
        if not seen_at and _pending(agent):
            seen_at.append(time.time())
        return bool(seen_at) and time.time() - seen_at[0] > 0.5

    reply, took, published = _interrupt_cell(
        world, "%%governed -o held\nPrepare a wire transfer of 7 EUR.", ready)
    _says_what_happened(reply, "while waiting for approval of request")
    assert took < PROMPT_TIMEOUT_S
    assert "cancel" in published.lower() or "interrupt" in published.lower()
    bound = _run(kc, "assert held is _governed and held.error is not None\n"
                     "assert held.decision.status == 'needs_approval', held.decision\n"
                     "assert held.approval.status == 'cancelled', held.approval\n"
                     "kinds = [type(e).__name__ for e in held.events]\n"
                     "assert 'ApprovalRequested' in kinds and 'DecisionMade' in kinds, kinds")
    assert bound["status"] == "ok", bound
    nothing_left = _run(kc, NOTHING_LEFT)
    assert nothing_left["status"] == "ok", nothing_left

    # The abandoned request is approved afterwards: no one is waiting, nothing runs. (Once the
    # core expires abandoned requests, the approval itself is refused: 409.)
    request_id = reply["traceback"][0].rstrip(".").split()[-1]
    response = httpx.post(f"{agent.url}/api/v1/hitl/queue/{request_id}/approve",
                          json={"reviewer_id": "late", "reviewer_email": "late@example.com",
                                "comment": "too late"}, auth=("reviewer", agent.test_secret), timeout=5)
    assert response.status_code in (200, 409), response.text
    time.sleep(1.0)  # five poll intervals
    assert llm.count == before_llm, "a late approval made the interrupted call run"
    after = _run(kc, "%%governed -o next_ok\nSay hello again.\n")
    assert after["status"] == "ok", after
    assert llm.count == before_llm + 1


def test_interrupt_while_a_stream_is_arriving(world):
    kc, llm = world["kc"], world["llm"]
    assert _run(kc, BASELINE)["status"] == "ok"
    llm.chunk_delay = 0.1  # 120 words: 12 s of stream
    before = llm.count
    started: list = []

    def ready() -> bool:
        if not started and llm.count > before:
            started.append(time.time())
        return bool(started) and time.time() - started[0] > 1.0

    try:
        reply, took, published = _interrupt_cell(
            world, "%%governed --stream -o cut\nTell me a long story.", ready)
    finally:
        llm.chunk_delay = 0.0
    _says_what_happened(reply, "while the answer was streaming")
    bound = _run(kc, "assert cut.error is not None and cut.decision.status == 'approved'\n"
                     "assert any(type(e).__name__ == 'CompletionChunk' for e in cut.events)")
    assert bound["status"] == "ok", bound
    assert took < PROMPT_TIMEOUT_S
    assert "word1" in published, "no chunk had arrived: the stream was not interrupted mid-way"
    assert "word119" not in published, "the whole stream arrived before the interrupt took effect"
    assert "cancel" in published.lower() or "interrupt" in published.lower()
    nothing_left = _run(kc, NOTHING_LEFT)
    assert nothing_left["status"] == "ok", nothing_left
    after = _run(kc, "%%governed --stream -o streamed_ok\nCount to three.")
    assert after["status"] == "ok", after
    check = _run(kc, "assert streamed_ok.ok and 'word119' in streamed_ok.text, streamed_ok")
    assert check["status"] == "ok", check


def test_interrupt_while_the_agent_is_restarting(world):
    kc, port = world["kc"], world["port"]
    assert _run(kc, BASELINE)["status"] == "ok"
    world["agent"].stop()
    hole = socket.socket()  # the port accepts connections while "restarting" but never answers
    hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hole.bind(("127.0.0.1", port))
    hole.listen(16)
    connected: list = []

    def ready() -> bool:
        if not connected and select.select([hole], [], [], 0)[0]:
            connected.append(time.time())
        return bool(connected) and time.time() - connected[0] > 0.5

    try:
        reply, took, published = _interrupt_cell(world, "%%governed -o during_restart\nSay hi.", ready)
    finally:
        hole.close()
        world["agent"] = start_agent(world["db"], policies=POLICIES, port=port)
    _says_what_happened(reply, "before AxonFlow's policy check answered")
    assert took < PROMPT_TIMEOUT_S
    assert "cancel" in published.lower() or "interrupt" in published.lower()
    nothing_left = _run(kc, NOTHING_LEFT)
    assert nothing_left["status"] == "ok", nothing_left
    # The agent is back on the same port: the next cell is governed again, breaker closed.
    after = _run(kc, "%%governed -o back\nSay hello.")
    assert after["status"] == "ok", after
    check = _run(kc, "assert back.ok and back.decision is not None and back.decision.status == 'approved'\n"
                     "_b = get_ipython().magics_manager.registry['GovernedMagics'].runtime.backends.started\n"
                     "assert _b.logger.breaker_state == 'closed', _b.logger.breaker_state")
    assert check["status"] == "ok", check
