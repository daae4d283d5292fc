"""The column-wise check that answers "intact" fast (evidence_chain/quick.py, journal_verify._intact).

It may only ever say what the record-by-record walk says: the walk's own answer on an intact
journal (plain, pruned, keyed), and no answer at all (so the walk names the break) on every kind
of tampering the tamper tests make.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import time
from pathlib import Path

import pytest

from axonflow_notebook import evidence_chain as ec
from axonflow_notebook.core.journal import Journal
from axonflow_notebook.evidence import journal_verify as jv
from axonflow_notebook.evidence_chain.quick import no_cyclic_gc, verify_intact

KEY = b"quick-verify-key-0123456789abcdef"
DAY = 86400.0


def both_answers(path: Path, key=None):
    snap = jv._snapshot(str(path))
    head, head_break, notes = jv._head_check(str(path), snap, key)
    quick = jv._intact(snap, key, head) if head_break is None else None
    precise = jv._precise(str(path), snap, key, head, head_break, notes)
    return quick, precise


def small_journal(path: Path, key=None, calls: int = 6) -> Path:
    journal = Journal(path, retention_days=0, chain_key=key)
    try:
        for i in range(calls):
            journal.upsert(f"c{i}", "http://x", 1.0 + i, decision="approved", policies='["p"]')
            journal.upsert(f"c{i}", "http://x", 1.0 + i, model="m", total_tokens=3 + i, cost_usd=0.5 * i)
    finally:
        journal.close()
    return path


@pytest.mark.parametrize("key", [None, KEY], ids=["sha256", "hmac"])
def test_an_intact_journal_gets_the_walks_own_answer(tmp_path, key):
    quick, precise = both_answers(small_journal(tmp_path / "j.sqlite3", key), key)
    assert precise.intact and quick == precise.result
    assert jv.verify_journal(tmp_path / "j.sqlite3", key).result == precise.result


def test_a_pruned_journal_is_anchored_on_its_checkpoint(tmp_path):
    path = tmp_path / "j.sqlite3"
    now = time.time()
    journal = Journal(path, retention_days=30)
    for i, age in enumerate((90, 80, 5)):
        journal.upsert(f"c{i}", "http://x", now - age * DAY, decision="approved")
    assert journal.prune(now) == 2
    journal.upsert("c9", "http://x", now, decision="approved")
    journal.close()
    quick, precise = both_answers(path)
    assert quick is not None and quick.checkpoints == 1 and quick == precise.result


TAMPERS = {
    "edited field": ["UPDATE calls SET decision = 'blocked' WHERE call_id = 'c2'"],
    "edited number": ["UPDATE calls SET total_tokens = total_tokens + 1 WHERE call_id = 'c3'"],
    "value removed": ["UPDATE calls SET model = NULL WHERE call_id = 'c1'"],
    "value added": ["UPDATE calls SET error = 'x' WHERE call_id = 'c1'"],
    "deleted row": ["DELETE FROM calls WHERE call_id = 'c4'"],
    "inserted row": ["INSERT INTO calls (call_id, created_at, endpoint, decision) VALUES ('forged', 1, 'x', 'approved')"],
    "edited record": ["UPDATE journal_chain SET body = replace(body, '\"approved\"', '\"blocked\"') WHERE seq = 2"],
    "deleted record": ["DELETE FROM journal_chain WHERE seq = 5"],
    "swapped records": ["UPDATE journal_chain SET seq = -1 WHERE seq = 4", "UPDATE journal_chain SET seq = 4 WHERE seq = 5",
                        "UPDATE journal_chain SET seq = 5 WHERE seq = -1"],
    "cut tail": ["DELETE FROM journal_chain WHERE seq >= 10", "DELETE FROM calls WHERE call_id = 'c5'"],
    "moved row": ["CREATE TABLE moved AS SELECT * FROM calls", "DELETE FROM calls",
                  "INSERT INTO calls SELECT * FROM moved ORDER BY rowid DESC", "DROP TABLE moved"],
}


@pytest.mark.parametrize("statements", list(TAMPERS.values()), ids=list(TAMPERS))
def test_any_tampering_leaves_the_answer_to_the_walk(tmp_path, statements):
    path = small_journal(tmp_path / "j.sqlite3")
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    quick, precise = both_answers(path)
    assert quick is None and not precise.intact
    assert str(jv.verify_journal(path)) == str(precise)


def test_the_wrong_key_and_a_missing_key_leave_the_answer_to_the_walk(tmp_path):
    path = small_journal(tmp_path / "j.sqlite3", KEY)
    for key in (None, b"another-key-0123456789abcdefgh"):
        quick, precise = both_answers(path, key)
        assert quick is None and precise.result.broken.kind == "wrong_key"


def _sealed(n: int, key=None):
    writer = ec.ChainWriter(key)
    return [writer.seal({"kind": "call", "n": i}) for i in range(n)]


def _columns(items):
    return ([s.seq for s in items], [s.prev_hash for s in items], [s.hash for s in items],
            [s.body for s in items], [s.kind for s in items])


def test_verify_intact_agrees_with_verify_on_a_plain_chain():
    items = _sealed(50)
    assert verify_intact(*_columns(items)) == ec.verify(items)
    assert verify_intact(*_columns(items), expected_head=items[-1].hash, expected_next_seq=50) == \
        ec.verify(items, expected_head=items[-1].hash, expected_next_seq=50)


@pytest.mark.parametrize("change", ["hash", "link", "seq", "head", "next_seq", "key_id", "empty"])
def test_verify_intact_declines_whatever_verify_would_not_call_intact(change):
    items = _sealed(20)
    seqs, prevs, hashes, bodies, kinds = _columns(items)
    extra = {}
    if change == "hash":
        hashes[7] = ec.digest(b"something else")
    elif change == "link":
        prevs[7] = hashes[5]
    elif change == "seq":
        seqs[7] = 8
    elif change == "head":
        extra = {"expected_head": hashes[-2]}
    elif change == "next_seq":
        extra = {"expected_next_seq": 25}
    elif change == "key_id":
        extra = {"expected_key_id": ec.key_id(KEY)}
    else:
        seqs, prevs, hashes, bodies, kinds = [], [], [], [], []
    assert verify_intact(seqs, prevs, hashes, bodies, kinds, **extra) is None


def test_no_cyclic_gc_restores_the_collector_as_it_found_it():
    assert gc.isenabled()
    with no_cyclic_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with no_cyclic_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(RuntimeError):
        with no_cyclic_gc():
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_record_body_that_is_not_an_object_leaves_the_answer_to_the_walk(tmp_path):
    path = small_journal(tmp_path / "j.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE journal_chain SET body = ? WHERE seq = 3", (json.dumps([1, 2]),))
    quick, precise = both_answers(path)
    assert quick is None and precise.result.broken.kind == "edited"
