"""Headless notebooks and a kernel-level click, against a real embedded agent.

* One notebook (nbclient) walks every outcome in order, the way "Run All" would: allowed, blocked,
  redacted, approved and rejected by a reviewer outside the kernel, timed out, code mode,
  streaming, `--background` then `await`.
* A jupyter_client kernel runs a cell that waits for an approval and receives the Approve
  button's comm_msg while it waits (ipykernel >= 7.4 and an awaiting cell: jupyter-notes §2.6).
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"
SECRET = "nb-secret-never-shown-42"
_SCRUBBED = ("AXONFLOW_", "OPENAI_", "ANTHROPIC_", "AZURE_", "GEMINI_", "MISTRAL_")


def _kernel_env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(
        AXONFLOW_TELEMETRY="off",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        AXONFLOW_POLICIES=str(POLICIES),
        XDG_DATA_HOME=str(tmp_path / "data"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    from axonflow_notebook.agent import EmbeddedAgent

    db = tmp_path_factory.mktemp("agent") / "agent.sqlite3"
    with EmbeddedAgent(port=0, db_path=str(db), policies=str(POLICIES), secret=SECRET) as running:
        yield running


def _reviewer(agent_url: str, stop: threading.Event, decided: list) -> None:
    """A reviewer outside the kernel, through the official SDK: approves 'approve-me'
    requests, rejects 'reject-me' ones, leaves the rest pending."""
    import asyncio

    from axonflow import AxonFlow
    from axonflow.hitl import HITLQueueListOptions, HITLReviewInput

    async def main() -> None:
        review = HITLReviewInput(reviewer_id="alice", reviewer_email="alice@example.com",
                                 comment="decided by the test reviewer")
        async with AxonFlow(endpoint=agent_url, client_id="reviewer-tests", client_secret=SECRET) as sdk:
            while not stop.is_set():
                page = await sdk.list_hitl_queue(HITLQueueListOptions(status="pending"))
                for item in page.items:
                    if item.request_id in decided:
                        continue
                    if "approve-me" in item.original_query:
                        await sdk.approve_hitl_request(item.request_id, review)
                        decided.append(item.request_id)
                    elif "reject-me" in item.original_query:
                        await sdk.reject_hitl_request(item.request_id, review)
                        decided.append(item.request_id)
                await asyncio.sleep(0.2)

    asyncio.run(main())


def _cells() -> list:
    code = nbformat.v4.new_code_cell
    blocked = code("%%governed\nSummarise the Project Nightingale roadmap.")
    blocked.metadata["tags"] = ["raises-exception"]
    return [
        code("%load_ext axonflow_notebook\n"
             "%config GovernedMagics.approval_poll_interval_seconds = 0.2\n"
             "%config GovernedMagics.approval_max_wait_seconds = 30"),
        code("%%governed -o allowed\nSay hello to the team."),
        code("assert allowed.ok and allowed.decision.status == 'approved', allowed"),
        blocked,
        code("assert _governed.decision.status == 'blocked'"),
        code("%%governed -o red\nWhat is the balance of ACCT-12345678?"),
        code("assert any(type(e).__name__ == 'RedactionApplied' for e in red.events), red.events"),
        code("%%governed -o wire_ok\nPrepare a wire transfer of 10 EUR, approve-me."),
        code("assert wire_ok.ok and wire_ok.approval.status == 'approved', wire_ok"),
        code("%%governed --no-raise -o wire_no\nPrepare a wire transfer of 99 EUR, reject-me."),
        code("assert type(wire_no.error).__name__ == 'ApprovalRejected', wire_no"),
        code("%config GovernedMagics.approval_max_wait_seconds = 2"),
        code("%%governed --no-raise -o wire_late\nPrepare a wire transfer, nobody answers."),
        code("assert type(wire_late.error).__name__ == 'ApprovalTimeout', wire_late"),
        code("import litellm\noriginal = (litellm.completion, litellm.acompletion)"),
        code("%%governed --code -o calls\n"
             "import litellm\n"
             "from axonflow_notebook import PolicyDeniedError\n"
             "r = litellm.completion(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'hi'}])\n"
             "try:\n"
             "    litellm.completion(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'Project Nightingale'}])\n"
             "except PolicyDeniedError as exc:\n"
             "    denied = exc"),
        code("assert len(calls) == 2 and 'project-nightingale' in denied.policies\n"
             "assert (litellm.completion, litellm.acompletion) == original"),
        code("%%governed --stream -o streamed\nCount to three."),
        code("assert streamed.ok and streamed.text"),
        code("%%governed --background -o bg\nName a colour."),
        code("res = await _governed_handle\nassert res.ok and bg is res"),
        code("%axonflow status"),
    ]


def test_notebook_runs_every_outcome_in_order(agent, tmp_path):
    nb = nbformat.v4.new_notebook(cells=_cells())
    env = _kernel_env(tmp_path, AXONFLOW_ENDPOINT=agent.url, AXONFLOW_CLIENT_ID="notebook-tests",
                      AXONFLOW_CLIENT_SECRET=SECRET)
    stop, decided = threading.Event(), []
    reviewer = threading.Thread(target=_reviewer, args=(agent.url, stop, decided), daemon=True)
    reviewer.start()
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    old_env = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old_env)
        stop.set()
        reviewer.join(5)

    assert len(decided) == 2
    saved = nbformat.writes(nb)
    assert SECRET not in saved

    allowed_outputs = nb.cells[1].outputs
    assert allowed_outputs, "the allowed cell shows nothing"
    mimes = {m for o in allowed_outputs for m in o.get("data", {})}
    assert "text/html" in mimes and "application/vnd.jupyter.widget-view+json" not in mimes
    assert "simulated" in json.dumps(allowed_outputs).lower()

    errors = [o for o in nb.cells[3].outputs if o.output_type == "error"]
    assert len(errors) == 1
    assert errors[0].ename == "GovernedCallStopped"
    assert 1 <= len(errors[0].traceback) <= 2
    assert "project-nightingale" in "\n".join(errors[0].traceback).lower()


def _start_kernel(env: dict):
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def _run(kc, code: str, timeout: float = 120) -> dict:
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda msg: None)
    return reply["content"]


def test_click_in_a_waiting_cell_reaches_the_kernel(tmp_path):
    """The cell awaits the approval; the Approve button's comm_msg is handled mid-wait."""
    km, kc = _start_kernel(_kernel_env(tmp_path))
    try:
        setup = _run(kc, "%load_ext axonflow_notebook\n"
                         "%config GovernedMagics.approval_poll_interval_seconds = 0.2\n"
                         "%config GovernedMagics.approval_max_wait_seconds = 60")
        assert setup["status"] == "ok"
        msg_id = kc.execute("%%governed -o clicked\nPrepare a wire transfer of 5 EUR.")
        buttons: dict = {}
        last_click, clicks = 0.0, 0
        reply = None
        deadline = time.time() + 90
        while time.time() < deadline and reply is None:
            try:
                msg = kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                msg = None
            if msg is not None:
                content = msg["content"]
                if msg["msg_type"] in ("comm_open", "comm_msg"):
                    state = content.get("data", {}).get("state", {})
                    entry = buttons.setdefault(content["comm_id"], {})
                    entry.update(state)
            # The live card is one widget; its panel appears once the request is held. Click
            # (the message the browser sends) once a second until the card takes it.
            target = next(((cid, c["approval"]) for cid, s in buttons.items()
                           for c in s.get("calls") or []
                           if c.get("approval") and c["approval"]["pending"]
                           and c["approval"]["actions"] == "buttons"
                           and not c["approval"]["clicked"]), None)
            if target and time.time() - last_click > 1.0:
                kc.shell_channel.send(kc.session.msg("comm_msg", {
                    "comm_id": target[0],
                    "data": {"method": "custom", "content": {
                        "type": "decide", "action": "approve",
                        "request_id": target[1]["request_id"], "comment": ""}},
                }))
                last_click = time.time()
                clicks += 1
            try:
                shell_msg = kc.get_shell_msg(timeout=0.05)
                if shell_msg["parent_header"].get("msg_id") == msg_id:
                    reply = shell_msg["content"]
            except queue.Empty:
                pass
        assert clicks, "no live card with Approve was displayed"
        assert reply is not None and reply["status"] == "ok", reply
        check = _run(kc, "assert clicked.ok and clicked.approval.status == 'approved', clicked\n"
                         "assert 'self-approved' in (clicked.approval.comment or '') + "
                         "(clicked.approval.reviewer or ''), clicked.approval")
        assert check["status"] == "ok", check
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_interrupt_stops_the_wait_and_says_cancelled(tmp_path):
    km, kc = _start_kernel(_kernel_env(tmp_path))
    try:
        assert _run(kc, "%load_ext axonflow_notebook\n"
                        "%config GovernedMagics.approval_poll_interval_seconds = 0.2")["status"] == "ok"
        msg_id = kc.execute("%%governed -o waiting\nPrepare a wire transfer of 1 EUR.")
        seen_pending, interrupted_at, reply, texts = False, None, None, []
        deadline = time.time() + 90
        while time.time() < deadline and reply is None:
            try:
                msg = kc.get_iopub_msg(timeout=0.2)
                texts.append(json.dumps(msg["content"], default=str))
                if msg["msg_type"] == "comm_msg" and "ApprovalPanel" not in texts[-1] \
                        and "pending" in texts[-1].lower():
                    seen_pending = True
            except queue.Empty:
                pass
            if seen_pending and interrupted_at is None:
                time.sleep(0.5)
                km.interrupt_kernel()
                interrupted_at = time.time()
            try:
                shell_msg = kc.get_shell_msg(timeout=0.05)
                if shell_msg["parent_header"].get("msg_id") == msg_id:
                    reply = shell_msg["content"]
            except queue.Empty:
                pass
        assert interrupted_at is not None, "the approval never showed as pending"
        assert reply is not None and reply["status"] == "error", reply
        assert time.time() - interrupted_at < 10
        # drain what the cell sent after the interrupt: the summary says cancelled
        end = time.time() + 3
        while time.time() < end:
            try:
                texts.append(json.dumps(kc.get_iopub_msg(timeout=0.2)["content"], default=str))
            except queue.Empty:
                pass
        assert "cancel" in " ".join(texts[-50:]).lower()
        assert _run(kc, "assert waiting.error is not None")["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
