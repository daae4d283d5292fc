"""A real journal of real governed calls, for the evidence tests.

`governed` (one per module): an embedded agent on a loopback socket with two policies (wire
transfers need a human, nukes are blocked), a logger whose journal records every call, and calls
through LiteLLM to the loopback LLM server: three allowed, one blocked, one approved and one
rejected by a reviewer (through AxonFlow's HITL queue), and one that ran ungoverned because its
AxonFlow could not be reached (fail-open). `copy_journal` copies the journal and its head file.
"""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SECRET = "evidence-secret-0123456789"
POLICIES = r"""policies:
  - {id: wire, name: Wire transfers, category: custom, pattern: '(?i)\bwire\s+transfer\b', action: require_approval, severity: high, priority: 100, enabled: true, description: Wire transfers need a human}
  - {id: nuke, name: Nukes, category: custom, pattern: '(?i)\bnuke\b', action: block, severity: critical, priority: 100, enabled: true, description: No nukes}
"""
ALLOWED = ("quarterly summary please", "summarise the memo", "draft an email to the team")


@dataclass
class Governed:
    root: Path
    journal: Path
    agent_db: Path
    agent: object
    llm_url: str
    policy_version: str

    def config(self, **overrides):
        from axonflow_notebook.core.config import AxonFlowLoggerConfig

        values = dict(endpoint=self.agent.url, client_id="analyst", client_secret=SECRET,
                      approval_poll_interval_seconds=0.05, approval_max_wait_seconds=30.0, call_timeout_seconds=5.0)
        values.update(overrides)
        return AxonFlowLoggerConfig(**values)

    def call(self, prompt: str) -> dict:
        return {"model": "openai/test-model", "api_base": self.llm_url, "api_key": "sk-test",
                "messages": [{"role": "user", "content": prompt}]}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _decide(logger, reviewer, prompt: str, action: str, comment: str, call) -> None:
    from axonflow_notebook.core.runtime import get_runtime

    runtime = get_runtime()
    held = runtime.submit(logger.agovern(**call(prompt)))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        items, _ = runtime.run(reviewer.list_queue(status="pending"))
        if items:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("no pending approval request appeared")
    decide = reviewer.approve if action == "approve" else reviewer.reject
    runtime.run(decide(items[0].request_id, "rev-1", "rev@example.com", comment))
    held.result(30)


def make_governed(root: Path, llm_url: str) -> Governed:
    from axonflow_notebook.agent import EmbeddedAgent
    from axonflow_notebook.core.journal import Journal
    from axonflow_notebook.core.logger import AxonFlowLogger
    from axonflow_notebook.core.review import GovernanceConsole

    policies = root / "policies.yaml"
    policies.write_text(POLICIES, encoding="utf-8")
    agent = EmbeddedAgent(port=0, db_path=str(root / "agent.sqlite3"), policies=str(policies), secret=SECRET).start()
    governed = Governed(root, root / "journal.sqlite3", root / "agent.sqlite3", agent, llm_url, "")
    journal = Journal(governed.journal, context_ttl_seconds=60)
    logger = AxonFlowLogger(governed.config())
    journal.attach(logger)
    reviewer = GovernanceConsole(governed.config(client_id="reviewer"))
    offline = AxonFlowLogger(governed.config(endpoint=f"http://127.0.0.1:{closed_port()}", call_timeout_seconds=0.5,
                                             fail_open=True))
    journal.attach(offline)
    try:
        for prompt in ALLOWED:
            assert logger.govern(**governed.call(prompt)).ok
        blocked = logger.govern(**governed.call("nuke the database"))
        assert not blocked.ok and blocked.decision.status == "blocked"
        _decide(logger, reviewer, "please wire transfer $5 to Bob", "approve", "looks fine", governed.call)
        _decide(logger, reviewer, "wire transfer everything now", "reject", "no | way $$ <b>", governed.call)
        assert offline.govern(**governed.call("summary while offline")).ok
        governed.policy_version = blocked.decision.policy_version or ""
        journal.flush(5)
    finally:
        journal.close()
        for item in (logger, offline, reviewer):
            item.close()
    return governed


@pytest.fixture(scope="module")
def governed(tmp_path_factory, llm_server):
    made = make_governed(tmp_path_factory.mktemp("governed"), llm_server.url + "/v1")
    yield made
    made.agent.stop()


@pytest.fixture
def copy_journal(governed, tmp_path):
    """A copy of the governed journal (and its head file) to change."""

    def copy(name: str = "journal.sqlite3") -> Path:
        target = tmp_path / name
        for suffix in ("", ".head"):
            shutil.copy(str(governed.journal) + suffix, str(target) + suffix)
        return target

    return copy
