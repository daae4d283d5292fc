"""The local audit journal: no governed call goes unrecorded, no audit is sent twice.

The headline test makes 200 governed calls while the embedded agent is killed
twice and restarted on the same database file: once briefly (the audits it
missed are retried and land), once for longer than a context lives (those
are marked undelivered with the reason). AxonFlow's trail, read back through
the SDK and straight from the agent's SQLite file, must hold exactly one
LLM-call audit per delivered record and none for the rest.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from axonflow_notebook.core.audit import AuditOutcome, AuditPayload
from axonflow_notebook.core.config import AxonFlowLoggerConfig
from axonflow_notebook.core.journal import Journal, delivery_text

TTL = 8.0  # the agent's and the journal's context lifetime in these tests (AxonFlow: 300 s)
SECRET = "journal-secret"  # the agents' secret, kept across their restarts
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def short_contexts(monkeypatch):
    from axonflow_notebook.agent.routes import gateway

    monkeypatch.setattr(gateway, "CONTEXT_TTL_SECONDS", TTL)
    return TTL


def _logger(endpoint: str):
    from axonflow_notebook.core.logger import AxonFlowLogger

    return AxonFlowLogger(AxonFlowLoggerConfig(
        endpoint=endpoint, client_id="journal-test", client_secret=SECRET, call_timeout_seconds=2.0,
        breaker_failure_threshold=10_000, fail_open=True))


def _journal(tmp_path: Path, **kwargs) -> Journal:
    kwargs.setdefault("context_ttl_seconds", TTL)
    kwargs.setdefault("retry_base_seconds", 0.1)
    kwargs.setdefault("retry_max_seconds", 0.5)
    kwargs.setdefault("poll_seconds", 0.05)
    journal = Journal(tmp_path / "journal.sqlite3", **kwargs)
    _open_journals[:] = [journal]
    return journal


def _server_completed(db_path: str) -> dict:
    """context id -> call_id of every LLM-call audit in the agent's own database."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT id, metadata FROM audit_entries WHERE completed_at IS NOT NULL").fetchall()
    return {cid: json.loads(meta or "{}").get("call_id") for cid, meta in rows}


_open_journals: list = []


def _states() -> str:
    """Delivery states of the journals under test, for a failure message."""
    out = []
    for journal in _open_journals:
        if not journal._closed:
            rows = journal.records(limit=1000)
            counts: dict = {}
            for row in rows:
                key = (row["delivery"], (row["reason"] or "")[:400])
                counts[key] = counts.get(key, 0) + 1
            out.append(str(counts))
    return (": " + "; ".join(out)) if out else ""


async def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in time{_states()}")
        await asyncio.sleep(0.05)


async def test_200_calls_through_two_outages(tmp_path, llm, short_contexts, make_sdk):
    from axonflow_notebook.agent import EmbeddedAgent

    db = str(tmp_path / "agent.sqlite3")
    agent = EmbeddedAgent(port=0, db_path=db, secret=SECRET).start()
    port = agent.port
    journal = _journal(tmp_path)
    logger = _logger(agent.url)
    journal.attach(logger)
    kwargs = {**llm.litellm_kwargs(), "messages": [{"role": "user", "content": "quarterly summary"}]}

    async def calls(n: int, width: int = 5) -> list:
        """n calls, `width` at a time (a shared 2-core box: keep pre-checks well inside the timeout)."""
        out: list = []
        for start in range(0, n, width):
            out += await asyncio.gather(*(logger.acompletion(**kwargs) for _ in range(min(width, n - start))))
        return out

    async def calls_interrupted_by_outage(n: int) -> list:
        """n calls pass pre-check, then the agent dies while the LLM answers."""
        llm.delay_seconds = 1.5
        seen = llm.count
        batch = asyncio.ensure_future(calls(n, width=n))
        await _wait(lambda: llm.count >= seen + n)  # every call is at the LLM: all pre-checked
        agent.stop()
        results = await batch
        llm.delay_seconds = 0.0
        return results

    try:
        await calls(60)                                   # 60 delivered at once
        await calls_interrupted_by_outage(20)             # 20 pending, then delivered on restart
        await calls(40)                                   # 40 ungoverned (agent down, fail-open)
        agent = EmbeddedAgent(port=port, db_path=db, secret=SECRET).start()
        await _wait(lambda: journal.count("delivered") == 80)
        await calls_interrupted_by_outage(20)             # 20 pending ...
        await asyncio.sleep(TTL + 0.5)                    # ... until their contexts expire
        agent = EmbeddedAgent(port=port, db_path=db, secret=SECRET).start()
        await calls(60)                                   # 60 delivered at once
        await _wait(lambda: journal.count("pending") == 0 and journal.count("sending") == 0)
    finally:
        await logger.aclose()
        journal.close()

    records = Journal(tmp_path / "journal.sqlite3").records(limit=1000)
    assert len(records) == 200
    by_state: dict = {}
    for row in records:
        by_state.setdefault(row["delivery"], []).append(row)
    assert {k: len(v) for k, v in by_state.items()} == {"delivered": 140, "not_applicable": 40,
                                                        "undelivered": 20}
    for row in by_state["undelivered"]:
        assert delivery_text(row).startswith("undelivered: context expired before AxonFlow acknowledged")
    for row in by_state["not_applicable"]:
        assert row["decision"] == "ungoverned" and row["reason"] == "ungoverned (fail-open): AxonFlow unreachable"
        assert row["context_id"] is None
    assert all(r["model"] == "openai/test-model" and r["total_tokens"] for r in records)

    # AxonFlow's side: exactly one LLM-call audit for every delivered record, none for the rest.
    server = _server_completed(db)
    delivered = {r["context_id"]: r["call_id"] for r in by_state["delivered"]}
    assert server == delivered
    sdk = make_sdk(agent)
    from axonflow.types import AuditSearchRequest

    page = await sdk.search_audit_logs(AuditSearchRequest(limit=1000))
    audited = [e.id for e in page.entries if e.model]
    assert sorted(audited) == sorted(delivered)  # no duplicates, nothing extra
    expired = {r["context_id"] for r in by_state["undelivered"]}
    assert expired and not expired & set(audited)
    await asyncio.to_thread(agent.stop)


async def test_retry_delivers_after_restart(tmp_path, agent_factory, llm):
    from axonflow_notebook.agent import EmbeddedAgent

    db = str(tmp_path / "agent.sqlite3")
    agent = agent_factory(db_path=db, secret=SECRET)
    port = agent.port
    journal = _journal(tmp_path, context_ttl_seconds=300)
    logger = _logger(agent.url)
    journal.attach(logger)
    kwargs = {**llm.litellm_kwargs(), "messages": [{"role": "user", "content": "hello"}]}
    llm.delay_seconds = 0.5
    task = asyncio.ensure_future(logger.acompletion(**kwargs))
    await _wait(lambda: llm.count == 1)
    agent.stop()
    await task
    await logger.aflush()
    llm.delay_seconds = 0.0
    assert journal.count("pending") == 1
    row = journal.records()[0]
    assert row["attempts"] == 1 and "unreachable" in row["reason"]
    restarted = EmbeddedAgent(port=port, db_path=db, secret=SECRET).start()
    try:
        await _wait(lambda: journal.count("delivered") == 1)
        assert journal.records()[0]["audit_id"]
    finally:
        await logger.aclose()
        journal.close()
        restarted.stop()


class _FlakySink:
    """An AuditSink that fails (unavailable) until told otherwise, counting deliveries."""

    def __init__(self) -> None:
        self.up = False
        self.delivered: list = []

    async def deliver(self, payload: AuditPayload) -> AuditOutcome:
        if not self.up:
            return AuditOutcome(False, detail="connection refused", skipped_reason="unreachable")
        self.delivered.append(payload.call_id)
        return AuditOutcome(True, audit_id=f"audit-{payload.call_id}")


class _StubLogger:
    """The two seams the journal uses (`audit_sink`, `subscribe`), plus config and a client."""

    def __init__(self, endpoint: str, sink, recorded: bool = False) -> None:
        self.config = AxonFlowLoggerConfig(endpoint=endpoint, client_id="stub")
        self.audit_sink = sink
        self.listeners: list = []
        self.recorded = recorded

    def subscribe(self, listener):
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def sdk_client(self):
        stub = self

        class Client:
            async def search_audit_logs(self, request):
                class Entry:
                    id = request.decision_id
                    request_id = request.decision_id
                    model = "m" if stub.recorded else None

                return type("Page", (), {"entries": [Entry()]})()

        return Client()


def _payload(call_id: str, context_id="ctx-1") -> AuditPayload:
    return AuditPayload(call_id=call_id, context_id=context_id, model="m", provider="p",
                        response_summary="ok", prompt_tokens=1, completion_tokens=2, total_tokens=3,
                        latency_ms=5)


async def test_expiry_marks_undelivered(tmp_path):
    sink = _FlakySink()
    journal = _journal(tmp_path, context_ttl_seconds=0.3)
    logger = _StubLogger("http://127.0.0.1:1", sink)
    journal.attach(logger)
    outcome = await logger.audit_sink.deliver(_payload("c1"))
    assert not outcome.delivered and "kept in the local journal" in outcome.detail
    assert journal.count("pending") == 1
    await asyncio.sleep(0.6)
    await _wait(lambda: journal.count("undelivered") == 1)
    row = journal.records()[0]
    assert delivery_text(row).startswith("undelivered: context expired")
    assert "connection refused" in row["reason"] and row["attempts"] >= 1
    sink.up = True
    await asyncio.sleep(0.3)
    assert sink.delivered == []  # an expired record is never sent
    journal.close()


async def test_ambiguous_failure_is_checked_before_a_retry(tmp_path):
    """A timeout may hide a success: if AxonFlow already holds the call, it is not sent again."""
    sink = _FlakySink()
    journal = _journal(tmp_path, context_ttl_seconds=60)
    logger = _StubLogger("http://127.0.0.1:1", sink, recorded=True)
    journal.attach(logger)
    await logger.audit_sink.deliver(_payload("c1"))
    sink.up = True
    await _wait(lambda: journal.count("delivered") == 1)
    assert sink.delivered == []  # found on the server: marked delivered without a second send
    journal.close()


def test_atexit_flush_and_restart(tmp_path):
    """A record pending at exit is flushed by atexit; a new process reads the same journal."""
    path = tmp_path / "journal.sqlite3"
    script = textwrap.dedent(f"""
        import asyncio, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_journal import _FlakySink, _StubLogger, _payload
        from axonflow_notebook.core.journal import Journal

        sink = _FlakySink()
        journal = Journal({str(path)!r}, retry_base_seconds=3600, poll_seconds=3600)
        logger = _StubLogger("http://127.0.0.1:1", sink)
        journal.attach(logger)
        asyncio.run(logger.audit_sink.deliver(_payload("exit-1")))
        assert journal.count("pending") == 1
        sink.up = True  # AxonFlow is back, but the next retry is an hour away: only atexit sends
        print("delivered before exit:", sink.delivered)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         cwd=str(REPO))
    assert out.returncode == 0, out.stderr
    assert "delivered before exit: []" in out.stdout
    rows = Journal(path).records()
    assert [(r["call_id"], r["delivery"], r["audit_id"]) for r in rows] == [("exit-1", "delivered", "audit-exit-1")]


async def test_journal_survives_restart_and_resumes(tmp_path):
    sink = _FlakySink()
    first = _journal(tmp_path, context_ttl_seconds=60)
    stub = _StubLogger("http://127.0.0.1:1", sink)
    first.attach(stub)
    await stub.audit_sink.deliver(_payload("r1"))
    first.close()
    sink.up = True
    second = _journal(tmp_path, context_ttl_seconds=60)
    assert second.count() == 1 and second.count("pending") == 1
    second.attach(_StubLogger("http://127.0.0.1:1", sink))
    await _wait(lambda: second.count("delivered") == 1)
    assert sink.delivered == ["r1"]  # once
    second.close()


async def test_no_context_calls_are_not_applicable(tmp_path):
    sink = _FlakySink()
    journal = _journal(tmp_path)
    stub = _StubLogger("http://127.0.0.1:1", sink)
    journal.attach(stub)
    await stub.audit_sink.deliver(_payload("n1", context_id=None))
    assert journal.records()[0]["delivery"] == "not_applicable"
    journal.close()


def test_axonflow_audit_local_shows_the_journal(shell, fault_endpoint, llm, monkeypatch):
    """An ungoverned fail-open cell lands in the journal; `%axonflow audit --local` shows it, escaped."""
    magics = shell.magics_manager.registry["GovernedMagics"]
    monkeypatch.setenv("AXONFLOW_ENDPOINT", fault_endpoint("stopped"))
    magics.runtime.close()
    magics.call_timeout_seconds = 0.3
    magics.fail_open = True
    try:
        out = shell.run_cell("%%governed --model openai/test-model --format text\nhello")
        assert out.error_in_exec is None, out.error_in_exec
        journal = magics.runtime.journal()
        journal.execute("UPDATE calls SET model = '<script>alert(1)</script>' WHERE rowid = "
                         "(SELECT MAX(rowid) FROM calls)")
        view = shell.run_line_magic("axonflow", "audit --local --limit 5")
    finally:
        magics.runtime.close()
    assert journal.path.parent == Path(magics.data_dir)
    assert "ungoverned" in view.plain and "not applicable: ungoverned (fail-open): AxonFlow unreachable" in view.plain
    assert "<script>" not in view.html and "&lt;script&gt;" in view.html


@pytest.mark.parametrize("fault, reason", [
    ("stopped", "refused (fail-closed): AxonFlow unreachable"),
    ("http_503", "refused (fail-closed): AxonFlow server_error"),
    ("http_401", "refused before the LLM call; no AxonFlow context"),
])
async def test_refused_calls_are_journaled(tmp_path, fault_endpoint, llm, fault, reason):
    from axonflow_notebook.core.errors import PolicyDeniedError
    from axonflow_notebook.core.logger import AxonFlowLogger

    journal = _journal(tmp_path)
    logger = AxonFlowLogger(AxonFlowLoggerConfig(endpoint=fault_endpoint(fault), client_id="j",
                                                 fail_open=False, call_timeout_seconds=0.3))
    journal.attach(logger)
    with pytest.raises(PolicyDeniedError):
        await logger.acompletion(**llm.litellm_kwargs(), messages=[{"role": "user", "content": "hi"}])
    await logger.aclose()
    [row] = journal.records()
    assert (row["decision"], row["delivery"], row["reason"]) == ("refused", "not_applicable", reason)
    assert row["error"].startswith("PolicyDeniedError") and llm.count == 0
    assert row["model"] == "openai/test-model"
    journal.close()
