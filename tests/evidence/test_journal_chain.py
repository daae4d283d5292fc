"""How the journal is chained (core/journal_chain.py): appends, columns, processes, retention."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from axonflow_notebook.core.audit import AuditOutcome, AuditPayload
from axonflow_notebook.core.journal import Journal
from axonflow_notebook.evidence.journal_verify import verify_journal

ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AXONFLOW_TELEMETRY": "off"}
DAY = 86400.0


def bodies(path: Path) -> list:
    with sqlite3.connect(path) as conn:
        return [json.loads(b) for (b,) in conn.execute("SELECT body FROM journal_chain ORDER BY seq")]


def test_delivery_changes_are_appended_never_rewritten(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    try:
        journal.upsert("c1", "http://x", 1.0, decision="approved", policies="[]")
        payload = AuditPayload("c1", "ctx", "m", "p", "answer", 1, 2, 3, 4)
        journal.stage(payload, "http://x")
        before = bodies(journal.path)
        journal.settle("c1", AuditOutcome(delivered=False, detail="down", skipped_reason="unreachable"))
        journal.settle("c1", AuditOutcome(delivered=True, audit_id="a-1"))
    finally:
        journal.close()
    after = bodies(tmp_path / "j.sqlite3")
    assert after[:len(before)] == before  # the records already hashed are untouched
    changes = [record["set"] for record in after[len(before):]]
    assert changes[0]["delivery"] == "pending"
    assert changes[-1] == {"ambiguous": 0, "audit_id": "a-1", "delivery": "delivered", "reason": None}
    assert [r["op"] for r in after] == ["insert"] + ["update"] * (len(after) - 1)
    assert verify_journal(tmp_path / "j.sqlite3").intact


def test_a_column_added_later_is_chained_and_checked(tmp_path):
    """Another module adds a column (as the prompt columns of issue 15 do): no change to the chain
    code, its values are chained, and an edit of it shows."""
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    journal.upsert("c1", "http://x", 1.0, decision="approved")
    journal.execute("ALTER TABLE calls ADD COLUMN prompt_preview TEXT")
    journal.upsert("c2", "http://x", 2.0, decision="approved", prompt_preview="what is our revenue?")
    journal.upsert("c1", "http://x", 1.0, prompt_preview="first prompt")
    journal.close()
    assert {"prompt_preview": "first prompt"} in [r["set"] for r in bodies(path)]
    assert verify_journal(path).intact
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE calls SET prompt_preview = 'something else' WHERE call_id = 'c2'")
    result = verify_journal(path)
    assert "call c2: prompt_preview is \"something else\" in the journal but \"what is our revenue?\"" in str(result)


def test_a_row_edited_behind_the_journals_back_is_not_laundered_by_a_later_update(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    journal.upsert("c1", "http://x", 1.0, decision="blocked")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE calls SET decision = 'approved' WHERE call_id = 'c1'")
    journal.upsert("c1", "http://x", 1.0, model="m")  # the journal carries on with the call
    journal.close()
    assert {"model": "m"} == bodies(path)[-1]["set"]
    assert "decision is \"approved\" in the journal but \"blocked\"" in str(verify_journal(path))


WRITER = """
import sys, time
from axonflow_notebook.core.journal import Journal
journal = Journal(sys.argv[1])
for i in range(int(sys.argv[3])):
    journal.upsert(f"{sys.argv[2]}-{i}", "http://x", time.time(), decision="approved", policies="[]")
    journal.upsert(f"{sys.argv[2]}-{i}", "http://x", time.time(), model="m", total_tokens=i)
journal.close()
"""


def test_kernels_appending_at_once_make_one_intact_chain(tmp_path):
    path = tmp_path / "shared.sqlite3"
    Journal(path).close()
    writers = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(WRITER), str(path), name, "150"], env=ENV)
               for name in ("kernel-a", "kernel-b", "kernel-c")]
    assert [w.wait(240) for w in writers] == [0, 0, 0]
    result = verify_journal(path)
    assert result.intact and result.result.count == 3 * 150 * 2 and result.calls == 450, str(result)


def test_retention_prunes_whole_calls_and_the_rest_still_verifies(tmp_path):
    path = tmp_path / "j.sqlite3"
    now = time.time()
    journal = Journal(path, retention_days=30)
    for i, age in enumerate((90, 80, 70, 40, 5, 1)):
        journal.upsert(f"c{i}", "http://x", now - age * DAY, decision="approved")
        journal.upsert(f"c{i}", "http://x", now - age * DAY, model="m")
    # c3 (40 days old) is still being delivered: a record of it after a newer call's
    journal.upsert("c3", "http://x", now, delivery="pending")
    assert journal.prune(now) == 3  # c0..c2; c3 spans the newer calls' records, so it waits
    assert [r[0] for r in journal.fetch("SELECT call_id FROM calls ORDER BY rowid")] == ["c3", "c4", "c5"]
    journal.upsert("c6", "http://x", now, decision="approved")
    journal.close()
    records = bodies(path)
    checkpoint = records[-2]
    assert checkpoint["kind"] == "checkpoint" and checkpoint["pruned_through_seq"] == 5
    assert checkpoint["pruned_count"] == 6 and checkpoint["calls"] == 3
    result = verify_journal(path)
    assert result.intact and result.result.checkpoints == 1 and result.result.first_seq == 6, str(result)


def test_pruning_twice_keeps_one_verifiable_chain(tmp_path):
    path = tmp_path / "j.sqlite3"
    now = time.time()
    journal = Journal(path, retention_days=10)
    for i in range(4):
        journal.upsert(f"old{i}", "http://x", now - 50 * DAY, decision="approved")
    assert journal.prune(now) == 4
    for i in range(3):
        journal.upsert(f"mid{i}", "http://x", now - 20 * DAY, decision="approved")
    journal.upsert("new", "http://x", now, decision="approved")
    assert journal.prune(now) == 3
    journal.close()
    result = verify_journal(path)
    assert result.intact and result.calls == 1, str(result)


def test_retention_comes_from_the_environment_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("AXONFLOW_JOURNAL_RETENTION_DAYS", "7")
    journal = Journal(tmp_path / "j.sqlite3")
    try:
        assert journal.retention_days == 7
    finally:
        journal.close()
    monkeypatch.delenv("AXONFLOW_JOURNAL_RETENTION_DAYS")
    journal = Journal(tmp_path / "k.sqlite3")
    try:
        assert journal.retention_days == 183
    finally:
        journal.close()
