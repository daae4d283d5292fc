"""Bad setup and out-of-order decisions: a clear error or the specified outcome, nothing
half-written left behind.

* Bad configuration values (core config and `%config GovernedMagics`), a bad policy file, a
  bad auth file and a non-loopback bind without auth: one clear error naming what is wrong; no
  agent thread, socket or database file is left; fixing the value makes the next call work.
* A call cancelled while it waits for approval, approved afterwards: the request was expired
  with its waiter, so the approval is a 409 and nothing runs (the loopback LLM server's count
  stays 0, no LLM call is audited).
* An approval decided twice (approve/approve, reject/approve): the second gets a clear error
  and the first decision stands.
"""

from __future__ import annotations

import asyncio
import math
import socket
import sqlite3
import threading
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from pydantic import ValidationError

from axonflow_notebook.agent import AgentConfigError, EmbeddedAgent
from axonflow_notebook.core.config import AxonFlowLoggerConfig
from axonflow_notebook.testing.ports import free_port
from axonflow_notebook.testing.shell import governed_shell, magics_of

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"
SECRET = "hostile-setup-secret-771"
BAD_POLICY = "policies:\n  - id: broken\n    name: Broken\n    pattern: '(unclosed'\n    action: block\n"


def _agent_threads() -> list:
    return [t.name for t in threading.enumerate() if t.name.startswith(("axonflow-agent", "agent-store"))]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- core configuration ------------------------------------------------------------------------
TIMINGS = ["call_timeout_seconds", "approval_max_wait_seconds", "approval_poll_interval_seconds",
           "breaker_recovery_seconds"]


@pytest.mark.parametrize("field", TIMINGS)
@pytest.mark.parametrize("value", [0, -1, math.inf, -math.inf, math.nan, "soon", None])
def test_core_timing_values_must_be_positive_and_finite(field, value):
    with pytest.raises(ValidationError) as info:
        AxonFlowLoggerConfig(endpoint="http://127.0.0.1:9", client_id="x", client_secret=SECRET,
                             **{field: value})
    assert field in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)


@pytest.mark.parametrize("value", ["", "   ", None, 5])
def test_core_endpoint_and_client_id_must_be_text(value):
    for field in ("endpoint", "client_id"):
        values = {"endpoint": "http://127.0.0.1:9", "client_id": "x", field: value}
        with pytest.raises(ValidationError) as info:
            AxonFlowLoggerConfig(client_secret=SECRET, **values)
        assert field in str(info.value) and SECRET not in str(info.value)


# -- agent files and binds ------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["bad_policy", "bad_auth", "public_bind", "db_is_a_directory"])
def test_agent_refuses_bad_setup_and_leaves_nothing(case, tmp_path):
    number = free_port()
    db = tmp_path / "agent.db"
    kwargs: dict = {"port": number, "db_path": str(db)}
    if case == "bad_policy":
        (tmp_path / "p.yaml").write_text(BAD_POLICY)
        kwargs["policies"] = str(tmp_path / "p.yaml")
        expected = "p.yaml"
    elif case == "bad_auth":
        (tmp_path / "auth.yaml").write_text("clients:\n  - id: a\n")  # no secret
        kwargs["auth"] = str(tmp_path / "auth.yaml")
        expected = "auth.yaml"
    elif case == "public_bind":
        kwargs["host"] = "0.0.0.0"
        expected = "0.0.0.0"
    else:
        db.mkdir()
        expected = "database"
    before = _agent_threads()
    agent = EmbeddedAgent(**kwargs)
    with pytest.raises(AgentConfigError) as info:
        agent.start()
    message = str(info.value)
    assert expected in message and "Traceback" not in message
    assert not agent.running and _agent_threads() == before
    if case != "db_is_a_directory":
        assert not db.exists(), "a database was created for an agent that never started"
    assert _port_is_free(number)
    with pytest.raises(RuntimeError):
        agent.url  # noqa: B018 - a stopped agent has no URL


# -- the notebook: %config values and a bad policy file -------------------------------------------
@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    with governed_shell(tmp_path_factory.mktemp("hostile-data")) as shell:
        yield shell


def _cell(ip, source: str):
    return ip.run_cell(source, store_history=False)


@pytest.mark.parametrize("name, value", [("fail_open", "'maybe'"), ("simulate", "'sometimes'"),
                                         ("call_timeout_seconds", "'soon'")])
def test_config_type_errors_are_refused_at_config_time(ip, name, value, capsys):
    magics = magics_of(ip)
    before = getattr(magics, name)
    ip.run_line_magic("config", f"GovernedMagics.{name} = {value}")
    assert getattr(magics, name) == before


@pytest.mark.parametrize("name, value", [("call_timeout_seconds", "-1"), ("call_timeout_seconds", "0"),
                                         ("approval_max_wait_seconds", "float('inf')"),
                                         ("approval_poll_interval_seconds", "float('nan')")])
def test_bad_timing_values_are_refused_at_config_time_and_calls_still_work(ip, name, value, caplog):
    magics = magics_of(ip)
    good = getattr(magics, name)
    ip.run_line_magic("config", f"GovernedMagics.{name} = {value}")
    assert getattr(magics, name) == good, "the bad value was taken"
    assert any(name in r.getMessage() and "positive" in r.getMessage() for r in caplog.records)
    # Set in code (or ipython_config.py) instead of %config: the same one-line refusal.
    with pytest.raises(Exception) as info:
        setattr(magics, name, eval(value))
    assert name in str(info.value)
    result = _cell(ip, "%%governed -o good_cfg\nSay hello.")
    assert result.success, result.error_in_exec
    assert ip.user_ns["good_cfg"].ok


def test_a_config_the_core_refuses_is_a_usage_error_naming_it(ip, monkeypatch):
    """What reaches the core config invalid (here from the environment, which the core reads)
    stops the cell in one line naming the setting, never its value, and starts nothing."""
    magics = magics_of(ip)
    magics.runtime.backends.close()
    magics.client_secret = SECRET
    monkeypatch.setenv("AXONFLOW_CALL_TIMEOUT_SECONDS", "-3")
    before = _agent_threads()
    try:
        result = _cell(ip, "%%governed -o refused_cfg\nSay hello.")
    finally:
        monkeypatch.undo()
        magics.client_secret = ""
    assert isinstance(result.error_in_exec, UsageError), repr(result.error_in_exec)
    assert "call_timeout_seconds" in str(result.error_in_exec) and SECRET not in str(result.error_in_exec)
    assert _agent_threads() == before, "an agent was left running for a refused call"
    assert "refused_cfg" not in ip.user_ns
    assert _cell(ip, "%%governed -o fine_cfg\nSay hello.").success


def test_bad_policy_file_is_one_line_and_the_fixed_file_works(ip, tmp_path):
    magics = magics_of(ip)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_POLICY)
    magics.policies = str(bad)  # closes the running backend
    before = _agent_threads()
    try:
        result = _cell(ip, "%%governed -o with_bad_policy\nSay hello.")
        assert isinstance(result.error_in_exec, UsageError), repr(result.error_in_exec)
        text = str(result.error_in_exec)
        assert "bad.yaml" in text and "broken" in text
        assert _agent_threads() == before
        assert "with_bad_policy" not in ip.user_ns
    finally:
        magics.policies = str(POLICIES)
    result = _cell(ip, "%%governed -o with_good_policy\nSummarise the Project Nightingale roadmap.")
    assert ip.user_ns["with_good_policy"].decision.status == "blocked"
    magics.policies = ""


# -- cancelled, then approved; decided twice ---------------------------------------------------------
def _secret(agent) -> str:
    """What the agent takes as a client's password: its own secret when it keeps one."""
    return getattr(agent, "secret", None) or SECRET


async def test_cancelled_wait_then_approved_runs_nothing(agent_factory, llm):
    from axonflow_notebook.core.events import ApprovalDecided, ApprovalRequested
    from axonflow_notebook.core.logger import AxonFlowLogger
    from axonflow_notebook.core.review import GovernanceConsole

    agent = agent_factory(policies=str(POLICIES))
    config = AxonFlowLoggerConfig(endpoint=agent.url, client_id="analyst", client_secret=_secret(agent),
                                  approval_poll_interval_seconds=0.05, approval_max_wait_seconds=30)
    logger = AxonFlowLogger(config)
    reviewer = GovernanceConsole(AxonFlowLoggerConfig(endpoint=agent.url, client_id="reviewer",
                                                      client_secret=_secret(agent)))
    events: list = []
    requested = asyncio.Event()

    def on_event(event):
        events.append(event)
        if isinstance(event, ApprovalRequested):
            requested.set()

    task = asyncio.create_task(logger.acompletion(
        **llm.litellm_kwargs(), messages=[{"role": "user", "content": "Prepare a wire transfer of 9 EUR"}],
        on_event=on_event))
    try:
        await asyncio.wait_for(requested.wait(), 10)
        request_id = next(e.request_id for e in events if isinstance(e, ApprovalRequested))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        decided = [e for e in events if isinstance(e, ApprovalDecided)]
        assert [e.status for e in decided] == ["cancelled"]

        # The core expires the abandoned request at once, in a delivery the cancel cannot stop
        # (core/approval.py): within moments it is expired, and approving it is AxonFlow's 409.
        for _ in range(100):
            if (await reviewer.get_request(request_id)).status == "expired":
                break
            await asyncio.sleep(0.05)
        with pytest.raises(Exception) as late:
            await reviewer.approve(request_id, reviewer_id="rita", reviewer_email="rita@example.com",
                                   comment="too late")
        assert "409" in str(late.value) and "expired" in str(late.value).lower(), late.value
        await asyncio.sleep(0.5)  # ten poll intervals: a leftover poller would have seen it
        assert llm.count == 0, "an approval after the cancel made the LLM call"
        assert [e.status for e in events if isinstance(e, ApprovalDecided)] == ["cancelled"]
        row = await reviewer.get_request(request_id)
        assert row.status == "expired" and row.reviewer_id is None, row
    finally:
        await logger.aclose()
        await reviewer.aclose()


@pytest.mark.parametrize("first, second", [("approve", "approve"), ("reject", "approve"),
                                           ("approve", "reject")])
async def test_a_request_is_decided_once(agent_factory, make_sdk, first, second):
    from axonflow.hitl import HITLCreateInput

    from axonflow_notebook.core.review import GovernanceConsole

    agent = agent_factory(policies=str(POLICIES))
    analyst = make_sdk(agent, "analyst")
    reviewer = GovernanceConsole(AxonFlowLoggerConfig(endpoint=agent.url, client_id="reviewer",
                                                      client_secret=_secret(agent)))
    try:
        row = await analyst.create_hitl_request(HITLCreateInput(
            client_id="analyst", original_query="Prepare a wire transfer", request_type="litellm-completion",
            request_context={}, triggered_policy_id="fin-wire-transfer",
            triggered_policy_name="fin-wire-transfer", trigger_reason="require_approval"))
        await getattr(reviewer, first)(row.request_id, reviewer_id="r1", reviewer_email="r1@x.org",
                                       comment="first")
        with pytest.raises(Exception) as info:
            await getattr(reviewer, second)(row.request_id, reviewer_id="r2", reviewer_email="r2@x.org",
                                            comment="second")
        text = str(info.value).lower()
        assert "409" in text or "already" in text or "not pending" in text, text
        after = await reviewer.get_request(row.request_id)
        assert after.status == ("approved" if first == "approve" else "rejected")
        assert after.review_comment == "first"
    finally:
        await reviewer.aclose()
    db = agent.db_path
    agent.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM hitl_requests").fetchone()[0] == 1
