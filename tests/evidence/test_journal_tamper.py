"""Tamper evidence on a real journal file (issue 14 §4).

The journal comes from real governed calls (conftest.py). Each test edits a copy the way someone
with the file and `sqlite3` would, then `verify` must name the first broken record and how;
an untouched copy is "intact: N records, head H".
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from axonflow_notebook import evidence_chain as ec
from axonflow_notebook.evidence.journal_verify import verify_journal

KEY = b"evidence-tamper-key-0123456789abcdef"
ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AXONFLOW_TELEMETRY": "off"}


def edit(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)


def chain(path: Path) -> list:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT seq, call_id, hash, body FROM journal_chain ORDER BY seq").fetchall()


def test_an_untouched_journal_is_intact(governed, copy_journal):
    path = copy_journal()
    result = verify_journal(path)
    records = len(chain(path))
    assert result.intact and records >= 7 * 2
    assert str(result) == f"intact: {records} records, head {chain(path)[-1][2]}"
    assert result.calls == 7  # 3 allowed, blocked, approved, rejected, ungoverned


def test_an_edited_field_is_named(copy_journal):
    path = copy_journal()
    with sqlite3.connect(path) as conn:
        call_id = conn.execute("SELECT call_id FROM calls WHERE decision = 'blocked'").fetchone()[0]
    edit(path, f"UPDATE calls SET decision = 'approved' WHERE call_id = '{call_id}'")
    result = verify_journal(path)
    assert not result.intact and result.result.broken.kind == "edited" and result.call_id == call_id
    first = next(seq for seq, cid, _, body in chain(path) if cid == call_id and '"decision"' in body)
    assert str(result).startswith(f"broken at record #{first}: edited (call {call_id}: decision is \"approved\" "
                                  "in the journal but \"blocked\" in its chained record")


def test_an_edited_chain_record_is_named(copy_journal):
    path = copy_journal()
    seq = chain(path)[5][0]
    edit(path, f"UPDATE journal_chain SET body = replace(body, '\"kind\":\"call\"', '\"kind\":\"call \"') WHERE seq = {seq}")
    result = verify_journal(path)
    assert str(result) == f"broken at record #{seq}: edited (its content no longer matches its hash)"


def test_a_deleted_row_is_named(copy_journal):
    path = copy_journal()
    records = chain(path)
    call_id = records[9][1]
    first = next(seq for seq, cid, _, _ in records if cid == call_id)
    edit(path, f"DELETE FROM calls WHERE call_id = '{call_id}'")
    result = verify_journal(path)
    assert str(result) == f"broken at record #{first}: deleted (call {call_id}: its row is missing)"


def test_a_deleted_chain_record_is_named(copy_journal):
    path = copy_journal()
    edit(path, "DELETE FROM journal_chain WHERE seq = 7")
    assert str(verify_journal(path)) == "broken at record #7: deleted (record #7 is missing before record #8)"


def test_an_inserted_row_is_named(copy_journal):
    path = copy_journal()
    edit(path, "INSERT INTO calls (call_id, created_at, endpoint, decision) VALUES ('forged', 1.0, 'x', 'approved')")
    result = verify_journal(path)
    assert result.result.broken.kind == "inserted" and result.call_id == "forged"
    assert "call forged: a row that no chained record describes" in str(result)


def test_an_inserted_chain_record_is_named(copy_journal):
    """A forged record slipped between #6 and #7 (the later ones renumbered to make room)."""
    path = copy_journal()
    records = chain(path)
    forged = json.loads(records[6][3])
    forged["set"] = {"decision": "approved"}
    body = ec.canonical(forged).decode()
    edit(path, "UPDATE journal_chain SET seq = seq + 100000 WHERE seq >= 7",
         "UPDATE journal_chain SET seq = seq - 99999 WHERE seq >= 100000",
         f"INSERT INTO journal_chain (seq, call_id, prev_hash, hash, body) VALUES (7, '{records[6][1]}', "
         f"'{records[6][2]}', '{ec.digest(body.encode())}', '{body}')")
    result = verify_journal(path)
    assert result.result.broken.kind == "inserted" and result.result.broken.position == 7, str(result)
    assert str(result).startswith("broken at position 7")


def test_two_swapped_chain_records_are_named(copy_journal):
    path = copy_journal()
    edit(path, "UPDATE journal_chain SET seq = -1 WHERE seq = 4", "UPDATE journal_chain SET seq = 4 WHERE seq = 5",
         "UPDATE journal_chain SET seq = 5 WHERE seq = -1")
    assert str(verify_journal(path)) == "broken at record #5: reordered (record #5 comes before record #4)"


def test_two_swapped_rows_are_named(copy_journal):
    """The rows of two calls trade places in the table (their content unchanged)."""
    path = copy_journal()
    with sqlite3.connect(path) as conn:
        first, second = [r[0] for r in conn.execute("SELECT call_id FROM calls ORDER BY rowid LIMIT 2")]
    edit(path, "CREATE TABLE moved AS SELECT * FROM calls", "DELETE FROM calls",
         f"INSERT INTO calls SELECT * FROM moved WHERE call_id = '{second}'",
         f"INSERT INTO calls SELECT * FROM moved WHERE call_id = '{first}'",
         f"INSERT INTO calls SELECT * FROM moved WHERE call_id NOT IN ('{first}', '{second}')", "DROP TABLE moved")
    result = verify_journal(path)
    assert result.result.broken.kind == "reordered" and result.call_id == first
    assert str(result) == f"broken at record #0: reordered (call {first} stands at row 2 of the journal, chained at row 1)"


def test_a_cut_tail_is_named(copy_journal):
    path = copy_journal()
    records = chain(path)
    last_call = records[-1][1]
    cut_from = next(seq for seq, cid, _, _ in records if cid == last_call)
    edit(path, f"DELETE FROM journal_chain WHERE seq >= {cut_from}", f"DELETE FROM calls WHERE call_id = '{last_call}'")
    result = verify_journal(path)
    assert result.result.broken.kind == "truncated"
    assert str(result).startswith(f"broken at record #{cut_from}: truncated (the log ends at record #{cut_from - 1} "
                                  f"but {len(records)} were written")


def test_a_cut_tail_stays_visible_after_more_calls(copy_journal):
    """The journal carries on after the recorded head: the cut becomes a gap, never healed."""
    from axonflow_notebook.core.journal import Journal

    path = copy_journal()
    total = len(chain(path))
    edit(path, f"DELETE FROM journal_chain WHERE seq >= {total - 2}")
    journal = Journal(path)
    try:
        journal.upsert("after-the-cut", "http://x", 1.0, decision="approved")
    finally:
        journal.close()
    result = verify_journal(path)
    assert str(result) == (f"broken at record #{total - 2}: deleted (records #{total - 2}..#{total - 1} are missing "
                           f"before record #{total})")


def test_the_wrong_key_is_named(copy_journal):
    path = copy_journal()
    result = verify_journal(path, KEY)
    assert str(result) == ("broken at record #0: wrong_key (no record verifies with this key: the chain was "
                           "written without a key)")


def _keyed_journal(tmp_path: Path, key: bytes) -> Path:
    from axonflow_notebook.core.journal import Journal

    journal = Journal(tmp_path / "keyed.sqlite3", chain_key=key)
    try:
        for i in range(5):
            journal.upsert(f"call-{i}", "http://x", 1.0 + i, decision="approved", policies="[]")
            journal.upsert(f"call-{i}", "http://x", 1.0 + i, model="m", total_tokens=3)
    finally:
        journal.close()
    return tmp_path / "keyed.sqlite3"


def _rewrite_chain(path: Path, key=None) -> None:
    """What someone who can write both files does after an edit: recompute every hash and the head."""
    from axonflow_notebook.core.journal_head import HeadState, head_path, read_head

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE calls SET decision = 'blocked' WHERE call_id = 'call-0'")
        writer = ec.ChainWriter(key)
        for seq, body in conn.execute("SELECT seq, body FROM journal_chain ORDER BY seq").fetchall():
            record = {k: v for k, v in json.loads(body).items() if k not in ("seq", "prev_hash")}
            if record.get("call_id") == "call-0" and record.get("op") == "insert":
                record["set"]["decision"] = "blocked"
            sealed = writer.seal(record)
            conn.execute("UPDATE journal_chain SET prev_hash = ?, hash = ?, body = ? WHERE seq = ?",
                         (sealed.prev_hash, sealed.hash, sealed.body.decode(), seq))
    old = read_head(head_path(path))
    state = HeadState(old.chain_id, writer.next_seq, writer.head, old.key_id).macced(key)
    head_path(path).write_text(json.dumps(state.to_json()))


def test_unkeyed_rewriting_both_files_is_not_detected(tmp_path):
    """The limit of the unkeyed chain, stated as a test: SHA-256 is public, so whoever can write the
    journal AND its head file can recompute everything after an edit."""
    from axonflow_notebook.core.journal import Journal

    journal = Journal(tmp_path / "plain.sqlite3", chain_key=None)
    try:
        for i in range(5):
            journal.upsert(f"call-{i}", "http://x", 1.0 + i, decision="approved", policies="[]")
    finally:
        journal.close()
    path = tmp_path / "plain.sqlite3"
    _rewrite_chain(path)
    assert verify_journal(path).intact


def test_keyed_chain_edits_cannot_be_recomputed_without_the_key(tmp_path):
    path = _keyed_journal(tmp_path, KEY)
    assert verify_journal(path, KEY).intact
    _rewrite_chain(path)  # the attacker recomputes with SHA-256 (no key) and rewrites the head
    result = verify_journal(path, KEY)
    assert not result.intact and result.result.broken.kind in ("wrong_key", "edited"), str(result)


def test_keyed_head_file_cannot_be_rewound_without_the_key(tmp_path):
    """Cut the tail and set the head file back to the new last record: the head's MAC shows it."""
    from axonflow_notebook.core.journal_head import HeadState, head_path, read_head

    path = _keyed_journal(tmp_path, KEY)
    records = chain(path)
    edit(path, f"DELETE FROM journal_chain WHERE seq >= {len(records) - 2}",
         "DELETE FROM calls WHERE call_id = 'call-4'")
    old = read_head(head_path(path))
    forged = HeadState(old.chain_id, len(records) - 2, records[-3][2], old.key_id, old.mac)
    head_path(path).write_text(json.dumps(forged.to_json()))
    result = verify_journal(path, KEY)
    assert str(result).endswith("edited (the head file does not carry its key's MAC)"), str(result)


def test_a_journal_keyed_differently_is_refused_with_a_clear_message(tmp_path):
    from axonflow_notebook.core.journal import Journal

    path = _keyed_journal(tmp_path, KEY)
    with pytest.raises(ec.ChainError, match="started with another chain key"):
        Journal(path, chain_key=b"another-key-0123456789abcdef")
    with pytest.raises(ec.ChainError, match="is keyed"):
        Journal(path, chain_key=None)


def test_the_command_line_answers_and_exits_by_the_result(copy_journal, governed):
    path = copy_journal()
    ok = subprocess.run([sys.executable, "-m", "axonflow_notebook.cli", "verify", str(path)], capture_output=True,
                        text=True, timeout=120, env=ENV)
    assert ok.returncode == 0, ok.stderr
    assert re.fullmatch(rf"journal {re.escape(str(path))}: intact: \d+ records, head [0-9a-f]{{64}}\n", ok.stdout)
    agent = subprocess.run([sys.executable, "-m", "axonflow_notebook.cli", "verify", str(governed.agent_db)],
                           capture_output=True, text=True, timeout=120, env=ENV)
    assert agent.returncode == 0 and "agent store" in agent.stdout and ": intact:" in agent.stdout, agent
    edit(path, "DELETE FROM journal_chain WHERE seq = 3")
    broken = subprocess.run([sys.executable, "-m", "axonflow_notebook.cli", "verify", str(path)],
                            capture_output=True, text=True, timeout=120, env=ENV)
    assert broken.returncode == 1 and "broken at record #3: deleted" in broken.stdout
    missing = subprocess.run([sys.executable, "-m", "axonflow_notebook.cli", "verify", str(path) + ".nope"],
                             capture_output=True, text=True, timeout=120, env=ENV)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr


def test_a_record_body_orjson_refuses_is_still_read_as_json():
    """journal_verify reads bodies with orjson for speed; what it refuses and JSON allows (a lone
    surrogate escape, a NaN) is still read, and what is not one JSON object is not a record."""
    from axonflow_notebook.evidence.journal_verify import _parse

    assert _parse(b'{"s": "\\ud800"}') == {"s": "\ud800"}
    assert _parse(b'{"n": NaN}')["n"] != _parse(b'{"n": NaN}')["n"]  # NaN, as json reads it
    assert _parse(b'{"a": 1}') == {"a": 1}
    assert _parse(b'{"a": 1} {"b": 2}') is None and _parse(b"[1]") is None and _parse("{}") is None
