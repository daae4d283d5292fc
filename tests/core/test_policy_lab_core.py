"""The policy lab's core side over real sockets (embedded agent, loopback LLM through LiteLLM):
explanations of allowed, blocked, redacted and held calls from `result.explain()`, a prompt
tested with no LLM call and no audit, policies upserted through AxonFlow's static-policy API,
and the journal keeping a preview of each prompt, or the whole prompt when asked."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
from axonflow_notebook.core.extra_routes import PolicyReloadRejected
from axonflow_notebook.core.journal import Journal, attach_journal
from axonflow_notebook.core.journal_prompts import journal_prompt_of, journal_prompts
from axonflow_notebook.core.journal_store import PROMPT_PREVIEW_CHARS
from axonflow_notebook.core.policy_lab import DecisionNotFound
from axonflow_notebook.core.policy_upsert import PolicyWriteRefused
from axonflow_notebook.core.records import DecisionExplanationRecord
from axonflow_notebook.core.result_explain import NothingToExplain
from axonflow_notebook.core.review import GovernanceConsole

SECRET = "lab-SECRET-7"
POLICIES = r"""policies:
  - {id: wire, name: Wire transfers, pattern: '(?i)\bwire\s+transfer\b', action: require_approval, severity: high}
  - {id: nuke, name: Nukes, pattern: '(?i)\bnuke\b', action: block, severity: critical, priority: 300, description: No nukes}
  - {id: acct, name: Account numbers, pattern: '\bACCT-\d{6}\b', action: redact, priority: 200}
  - {id: acct-word, name: The word ACCT, pattern: 'ACCT', action: warn, priority: 150}
"""


@pytest.fixture
def lab_agent(agent_factory, tmp_path):
    path = tmp_path / "policies.yaml"
    path.write_text(POLICIES)
    return agent_factory(policies=str(path), secret=SECRET)


def _config(url: str, **overrides) -> AxonFlowLoggerConfig:
    values = dict(endpoint=url, client_id="analyst", client_secret=SECRET, call_timeout_seconds=3.0,
                  enable_hitl_polling=False)
    values.update(overrides)
    return AxonFlowLoggerConfig(**values)


@pytest.fixture
def logger(lab_agent):
    made = AxonFlowLogger(_config(lab_agent.url))
    yield made
    made.close()


def _call(llm, text: str) -> dict:
    return {**llm.litellm_kwargs(), "messages": [{"role": "user", "content": text}]}


async def test_explanations_of_allowed_blocked_redacted_and_held_calls(logger, llm):
    allowed = await logger.agovern(**_call(llm, "quarterly summary please"))
    record = await allowed.aexplain()
    assert isinstance(record, DecisionExplanationRecord)
    assert record.decision == "allowed" and record.matches == () and "no policy matched" in record.reason
    assert record.prompt == "quarterly summary please" and record.prompt_source == "result"
    assert record.policy_version and record.version_in_force_now is True
    assert record.order and [s.priority for s in record.order] == sorted((s.priority for s in record.order), reverse=True)

    blocked = await logger.agovern(**_call(llm, "move ACCT-123456 then nuke it"))
    record = await blocked.aexplain()
    assert record.decision == "blocked" and record.stopped_by == "nuke"
    assert [m.policy_id for m in record.matches] == ["nuke"] and record.matches[0].position == 0
    assert "a block ends evaluation" in record.stop_reason and "acct" in record.not_evaluated
    start = record.prompt.index("nuke")
    assert record.matches[0].spans == ((start, start + 4),) and record.matches[0].priority == 300

    redacted = await logger.agovern(**_call(llm, "move ACCT-123456 funds"))
    record = await redacted.aexplain()
    assert record.decision == "redacted" and [m.policy_id for m in record.matches][:2] == ["acct", "acct-word"]
    acct, word = record.matches[:2]  # (the catalogue's Singapore postal code matches 123456 too)
    assert acct.spans == ((5, 16),) and acct.matched_text == ("[REDACTED:acct]",) and acct.masked
    assert word.spans == ((5, 9),) and word.matched_text == ("ACCT",)  # overlapping spans, each its own

    held = await logger.agovern(**_call(llm, "please wire transfer 5 EUR"))
    assert held.error is not None  # polling off: held calls stop at once
    record = await held.aexplain()
    assert record.decision == "needs_approval" and record.matches[0].policy_id == "wire"
    assert record.matches[0].action == "require_approval" and record.risk_level == "high"
    assert llm.count == 2  # only the allowed and the redacted call reached the model


async def test_an_undecided_call_says_why_there_is_nothing_to_explain(agent_factory, llm):
    stopped = agent_factory()
    url = stopped.url
    stopped.stop()
    logger = AxonFlowLogger(_config(url, call_timeout_seconds=0.5, fail_open=True))
    try:
        result = await logger.agovern(**_call(llm, "hello"))
        with pytest.raises(NothingToExplain, match="pre-check was skipped"):
            await result.aexplain()
    finally:
        await logger.aclose()


async def test_test_prompt_makes_no_llm_call_and_no_audit_record(logger, lab_agent, llm):
    console = GovernanceConsole(logger)
    record = await console.test_prompt("wire transfer for ACCT-123456")
    assert record.decision == "needs_approval" and llm.count == 0
    assert [(m.policy_id, m.action) for m in record.matches if not m.policy_id.startswith("sys_")] == [
        ("acct", "redact"), ("acct-word", "warn"), ("wire", "require_approval")]
    assert record.matches[0].spans == ((18, 29),) and record.policy_version
    trail = httpx.post(lab_agent.url + "/api/v1/audit/search", json={}, auth=("analyst", SECRET)).json()
    assert trail["total"] == 0
    with pytest.raises(DecisionNotFound, match="no decision"):
        await console.explain("00000000-0000-4000-8000-000000000000")


async def test_upsert_through_the_static_policy_api(logger, lab_agent):
    console = GovernanceConsole(logger)
    entries = [
        {"id": "wire", "name": "Wire transfers", "pattern": r"(?i)\bwire\s+transfer\b", "action": "block",
         "severity": "high"},
        {"id": "emp", "name": "Employee ids", "category": "pii-global", "pattern": r"\bEMP-\d{6}\b",
         "action": "redact"},
        {"id": "nuke", "name": "Nukes", "pattern": r"(?i)\bnuke\b", "action": "block", "severity": "critical",
         "priority": 300, "description": "No nukes"},
    ]
    before = (await console.current_policies()).version
    preview = await console.upsert_policies(entries, source="cell", dry_run=True)
    assert (preview.added, preview.changed, preview.removed) == (("emp",), ("wire",), ())
    assert (await console.current_policies()).version == before and preview.version == ""
    change = await console.upsert_policies(entries, source="cell")
    assert (change.added, change.changed) == (("emp",), ("wire",)) and change.version != before
    assert change.version == (await console.current_policies()).version
    tenant = {p.id: p for p in await console.list_policies() if p.tier == "tenant"}
    assert tenant["wire"].action == "block" and tenant["emp"].category == "pii-global" and "acct" in tenant
    again = await console.upsert_policies(entries, source="cell")
    assert (again.added, again.changed, again.removed) == ((), (), ())
    replaced = await console.upsert_policies(entries[:1], source="cell", replace=True)
    assert set(replaced.removed) == {"emp", "nuke", "acct", "acct-word"}
    with pytest.raises(PolicyReloadRejected, match="already used by a system policy"):
        await console.upsert_policies([{**entries[0], "id": "sys_pii_email"}], source="cell")


async def test_a_client_without_policy_rights_is_told_what_is_missing(lab_agent):
    console = GovernanceConsole(_config(lab_agent.url, client_secret=""))
    try:
        with pytest.raises(PolicyWriteRefused, match="no client secret is configured; set AXONFLOW_CLIENT_SECRET"):
            await console.upsert_policies([{"id": "x", "name": "X", "pattern": "x", "action": "warn"}],
                                          source="cell")
    finally:
        await console.aclose()
    console = GovernanceConsole(_config(lab_agent.url, client_secret="wrong"))
    try:
        with pytest.raises(PolicyWriteRefused, match="client 'analyst' may not write"):
            await console.upsert_policies([{"id": "x", "name": "X", "pattern": "x", "action": "warn"}],
                                          source="cell")
    finally:
        await console.aclose()


async def test_the_journal_keeps_a_preview_unless_full_prompts_are_asked_for(lab_agent, llm, tmp_path, monkeypatch):
    long_prompt = "quarterly summary " * 20
    path = tmp_path / "journal.sqlite3"
    journal = Journal(path)
    preview_logger = AxonFlowLogger(_config(lab_agent.url))
    journal.attach(preview_logger)
    monkeypatch.setenv("AXONFLOW_JOURNAL_PROMPTS", "FULL ")
    full_config = AxonFlowLoggerConfig.from_env(endpoint=lab_agent.url, client_id="analyst", client_secret=SECRET)
    assert full_config.journal_prompts == "full"
    full_logger = AxonFlowLogger(full_config)
    journal.attach(full_logger)
    try:
        first = await preview_logger.agovern(**_call(llm, long_prompt))
        second = await full_logger.agovern(**_call(llm, long_prompt))
        journal.attach(full_logger, prompts="preview")  # attached again with another setting
        third = await full_logger.agovern(**_call(llm, "short one"))
    finally:
        await preview_logger.aclose()
        await full_logger.aclose()
        journal.close()
    rows = journal_prompts(path)
    assert [r.prompt_chars for r in rows] == [len(long_prompt), len(long_prompt), len("short one")]
    assert rows[0].prompt == long_prompt[:PROMPT_PREVIEW_CHARS] and not rows[0].whole
    assert rows[1].prompt == long_prompt and rows[1].whole
    assert rows[2].prompt == "short one" and rows[2].whole  # a preview of a short prompt is all of it
    assert journal_prompt_of(second.decision.context_id, path).prompt == long_prompt
    assert journal_prompt_of(first.decision.context_id, path).call_id == rows[0].call_id
    assert third.ok
    with pytest.raises(ValueError, match="'preview' or 'full'"):
        attach_journal(AxonFlowLogger(_config(lab_agent.url)), tmp_path / "j2.sqlite3", prompts="all")


def test_a_journal_made_before_prompts_were_kept_gains_the_columns(tmp_path):
    path = tmp_path / "old.sqlite3"
    from axonflow_notebook.core.journal_store import _SCHEMA  # the table as first released

    with sqlite3.connect(path) as conn:
        conn.executescript(_SCHEMA)
        conn.execute("INSERT INTO calls (call_id, created_at, endpoint, decision, policies, context_id) "
                     "VALUES ('c1', 1.0, 'http://x', 'approved', '[]', 'ctx')")
    assert journal_prompts(path)[0].prompt is None  # read-only: an old file reads, unchanged
    Journal(path).close()
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
    assert {"prompt", "prompt_chars"} <= columns
    assert journal_prompts(tmp_path / "absent.sqlite3") == []
