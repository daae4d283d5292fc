"""Verify a journal file: its hash chain, every row against the chain, the chain against its head.

Three checks, and the answer names the first broken record (by its place in the chain):

1. the chain itself (`evidence_chain.verify`): each record's hash, its link to the record before
   it, its `seq`; a checkpoint anchors what retention kept. When the chain is broken, that break
   is the answer (the rows cannot be checked against a broken chain);
2. the head file (`<journal>.head`, core/journal_head.py): the chain must end at the recorded head
   after the recorded number of records, or its tail was cut (or records were added after it);
   keyed, the head carries the key's MAC, so it cannot be rewritten to match either;
3. the rows: each call's records, folded in order, must give its row exactly, every column (so
   an edited, deleted, added or moved row shows, and so do columns added by any module).

The journal is read inside one transaction holding SQLite's write lock (released before any
hashing), so a kernel appending meanwhile is never half-seen. Read-only files are read as they are.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .. import evidence_chain as ec
from ..evidence_chain.quick import no_cyclic_gc, verify_intact
from ..core.journal_chain import CALL
from ..core.journal_head import HeadFileError, HeadState, head_path, read_head

_SHOWN = 40  # characters of a value shown in a finding


@dataclass(frozen=True)
class JournalVerification:
    """The answer for one journal: `str()` is "intact: N records, head H" or the first break."""

    path: str
    result: ec.Verification
    calls: int = 0
    call_id: Optional[str] = None  # the call the first broken record concerns
    notes: Tuple[str, ...] = field(default=())

    @property
    def intact(self) -> bool:
        return self.result.intact

    def __bool__(self) -> bool:
        return self.result.intact

    def __str__(self) -> str:
        text = str(self.result)
        return text + "".join(f" ({note})" for note in self.notes)

    def to_json(self) -> dict:
        return {**self.result.to_json(), "path": self.path, "calls": self.calls, "call_id": self.call_id,
                "notes": list(self.notes), "summary": str(self)}


@dataclass
class _Snapshot:
    meta: Optional[Tuple[str, Optional[str]]]
    chain: List[tuple]
    columns: List[str]
    rows: List[tuple]
    head: Optional[HeadState]
    head_problem: Optional[str]


def _connect(path: str) -> Tuple[sqlite3.Connection, bool]:
    """A connection that can take the write lock when the file allows it (never writes)."""
    if os.access(path, os.W_OK) and os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
        return sqlite3.connect(path, timeout=10.0, isolation_level=None), True
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0, isolation_level=None), False


def _snapshot(path: str) -> _Snapshot:
    conn, writable = _connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE" if writable else "BEGIN")
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "calls" not in tables:
                raise ValueError(f"{path} is not an axonflow-notebook journal (no calls table)")
            meta = None
            chain: List[tuple] = []
            if {"journal_chain", "journal_chain_meta"} <= tables:
                meta = conn.execute("SELECT chain_id, key_id FROM journal_chain_meta WHERE id = 1").fetchone()
                chain = conn.execute("SELECT seq, hash, CAST(body AS BLOB) FROM journal_chain ORDER BY seq").fetchall()
            cursor = conn.execute("SELECT rowid, * FROM calls")
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            head, problem = None, None
            try:
                head = read_head(head_path(Path(path)))
            except HeadFileError as exc:
                problem = str(exc)
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()
    return _Snapshot(meta, chain, columns, rows, head, problem)


try:  # orjson parses a journal's records about 3x faster (100,000 records: docs/benchmarks.md)
    from orjson import JSONDecodeError as _BadJSON, loads as _loads
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library still works
    _BadJSON, _loads = ValueError, json.loads


def _parse(body: Any) -> Optional[dict]:
    """One chain record's body (the bytes hashed) as a dict, or None when it is not one JSON object."""
    if not isinstance(body, bytes):
        return None
    try:
        record = _loads(body)
    except (_BadJSON, ValueError, RecursionError):
        try:  # what orjson refuses and json reads (integers past 64 bits, lone surrogates)
            record = json.loads(body)
        except (ValueError, RecursionError):
            return None
    return record if isinstance(record, dict) else None


def _set_values(values: Dict[str, Any]) -> Dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b
    return type(a) is type(b) and a == b


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"


class _Fold:
    """Each call's records folded into the row they describe, and where each came from."""

    def __init__(self) -> None:
        self.state: Dict[str, Dict[str, Any]] = {}
        self.rowid: Dict[str, Any] = {}
        self.positions: Dict[str, List[int]] = {}

    def add(self, position: int, record: dict) -> None:
        call_id = record.get("call_id")
        values = record.get("set")
        if not isinstance(call_id, str) or not isinstance(values, dict):
            return
        self.positions.setdefault(call_id, []).append(position)
        if record.get("op") == "insert":
            self.state[call_id] = dict(values)
            self.rowid[call_id] = record.get("rowid")
        else:
            self.state.setdefault(call_id, {}).update(values)


def _row_breaks(fold: _Fold, records: List[Optional[dict]], columns: List[str], rows: List[tuple],
                count: int) -> List[Tuple[ec.Break, str]]:
    """Every disagreement between the rows and the folded chain, with the call it concerns."""
    found: List[Tuple[ec.Break, str]] = []

    def seq_at(position: int) -> Optional[int]:
        record = records[position]
        return record.get("seq") if record else None

    def last_setting(call_id: str, column: str) -> int:
        for position in reversed(fold.positions[call_id]):
            record = records[position]
            if record and column in (record.get("set") or {}):
                return position
        return fold.positions[call_id][0]

    at_id = columns.index("call_id")
    by_id = {row[at_id]: row for row in rows}
    for call_id, expected in fold.state.items():
        first = fold.positions[call_id][0]
        row = by_id.pop(call_id, None)
        if row is None:
            found.append((ec.Break("deleted", first, seq_at(first), f"call {call_id}: its row is missing"), call_id))
            continue
        values = dict(zip(columns, row))
        stands = values.pop("rowid")
        chained = fold.rowid.get(call_id)
        if chained is not None and stands != chained:
            found.append((ec.Break("reordered", first, seq_at(first),
                                   f"call {call_id} stands at row {stands} of the journal, chained at row {chained}"),
                          call_id))
            continue
        # Equal as dicts (a missing column reads as NULL) is the common answer; rows read from
        # SQLite hold no bools, so this agrees with `_same` column by column, which names the first
        # difference when there is one.
        if {k: v for k, v in values.items() if v is not None} == _set_values(expected):
            continue
        for column in list(values) + [c for c in expected if c not in values]:
            have, want = values.get(column), expected.get(column)
            if not _same(have, want):
                at = last_setting(call_id, column)
                found.append((ec.Break("edited", at, seq_at(at),
                                       f"call {call_id}: {column} is {_shown(have)} in the journal but "
                                       f"{_shown(want)} in its chained record"), call_id))
                break
    for call_id in by_id:
        found.append((ec.Break("inserted", count, None, f"call {call_id}: a row that no chained record describes"),
                      str(call_id)))
    return found


def verify_journal(path: "str | os.PathLike[str]", key: Optional[bytes] = None) -> JournalVerification:
    """Verify the journal at `path` (read only), with its chain key if it has one."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name}: no such journal")
    with no_cyclic_gc():  # 100,000s of acyclic tuples and dicts: see evidence_chain/quick.py
        snap = _snapshot(name)
        if snap.meta is None:
            broken = ec.Break("deleted", 0, 0, "this journal has no chain (written before chaining, or removed)")
            return JournalVerification(name, ec.Verification(False, 0, None, None, key is not None, broken),
                                       len(snap.rows))
        head, head_break, notes = _head_check(name, snap, key)
        if head_break is None:
            intact = _intact(snap, key, head)
            if intact is not None:
                return JournalVerification(name, intact, len(snap.rows), None, tuple(notes))
        return _precise(name, snap, key, head, head_break, notes)


def _head_check(name: str, snap: _Snapshot, key: Optional[bytes]) -> Tuple[Optional[HeadState], Optional[ec.Break],
                                                                           List[str]]:
    """The head file to hold the chain's end against, or why it cannot be (a break, or a note)."""
    chain_id, key_id = snap.meta
    count = len(snap.chain)
    head = snap.head
    if snap.head_problem is not None:
        return None, ec.Break("edited", count, None, f"the head file {head_path(Path(name))}: {snap.head_problem}"), []
    if head is None:
        return None, None, [f"no head file {head_path(Path(name)).name}: a cut tail would not show"]
    if head.chain_id != chain_id:
        return None, ec.Break("edited", count, None, "the head file belongs to another journal"), []
    if key is not None and key_id == ec.key_id(key) and not head.mac_ok(key):
        return None, ec.Break("edited", count, None, "the head file does not carry its key's MAC"), []
    return head, None, []


def _intact(snap: _Snapshot, key: Optional[bytes], head: Optional[HeadState]) -> Optional[ec.Verification]:
    """The answer for an intact journal, checked over whole columns; None on any doubt.

    The same checks as `_precise` (chain, head, every row against its folded records) without
    keeping what it would need to name a break: on None, `_precise` finds and names it.
    """
    if not snap.chain:
        return None
    _, hashes, bodies = zip(*snap.chain)  # each record's seq is read from its hashed body
    try:
        records = [_loads(body) for body in bodies]
        body_seqs = [record["seq"] for record in records]
        prevs = [record["prev_hash"] for record in records]
        kinds = [record.get("kind", "") for record in records]
    except (_BadJSON, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    result = verify_intact(body_seqs, prevs, hashes, bodies, kinds, key,
                           expected_head=head.head if head else None,
                           expected_next_seq=head.next_seq if head else None, expected_key_id=snap.meta[1])
    if result is None:
        return None
    state: Dict[str, Dict[str, Any]] = {}
    rowids: Dict[str, Any] = {}
    for record, kind in zip(records, kinds):
        if kind != CALL:
            continue
        call_id, values = record.get("call_id"), record.get("set")
        if type(call_id) is not str or type(values) is not dict:
            return None
        if record.get("op") == "insert":
            state[call_id] = values
            rowids[call_id] = record.get("rowid")
        elif call_id in state:
            state[call_id].update(values)
        else:
            return None
    columns, rows = snap.columns, snap.rows
    if len(rows) != len(state) or columns[0] != "rowid":
        return None
    at_id = columns.index("call_id")
    blank = dict.fromkeys(columns)
    for row in rows:
        expected = state.get(row[at_id])
        if expected is None:
            return None
        full = blank.copy()
        full.update(expected)
        chained = rowids[row[at_id]]
        full["rowid"] = row[0] if chained is None else chained
        if full != dict(zip(columns, row)):
            return None
    return result


def _precise(name: str, snap: _Snapshot, key: Optional[bytes], head: Optional[HeadState],
             head_break: Optional[ec.Break], notes: List[str]) -> JournalVerification:
    """Walk the journal record by record and name its first break (or find it intact)."""
    keyed = key is not None
    items: List[ec.Sealed] = []
    records: List[Optional[dict]] = []
    fold = _Fold()
    sealed, parse, add_item, add_record, fold_call = ec.Sealed, _parse, items.append, records.append, fold.add
    for position, (seq, stored_hash, body) in enumerate(snap.chain):
        record = parse(body)
        if record is None:
            add_item(sealed(seq, "", str(stored_hash), body if isinstance(body, bytes) else b"", ""))
        else:
            kind = record.get("kind")
            add_item(sealed(record.get("seq", seq), record.get("prev_hash", ""), stored_hash,
                            body, kind if isinstance(kind, str) else ""))
            if kind == CALL:
                fold_call(position, record)
        add_record(record)
    result = ec.verify(items, key, expected_head=head.head if head else None,
                       expected_next_seq=head.next_seq if head else None, expected_key_id=snap.meta[1])
    calls = len(snap.rows)
    if not result.intact:  # the chain itself is broken: the rows cannot be checked against it
        broken = result.broken
        record = records[broken.position] if broken is not None and broken.position < len(records) else None
        call_id = record.get("call_id") if record and broken.kind not in ("truncated", "wrong_key") else None
        return JournalVerification(name, result, calls, call_id, tuple(notes))
    candidates: List[Tuple[ec.Break, Optional[str]]] = _row_breaks(fold, records, snap.columns, snap.rows, len(items))
    if head_break is not None:
        candidates.append((head_break, None))
    if not candidates:
        return JournalVerification(name, result, calls, None, tuple(notes))
    broken, call_id = min(candidates, key=lambda item: item[0].position)  # the first in chain order
    answer = ec.Verification(False, broken.position, result.head, result.first_seq, keyed, broken, result.checkpoints)
    return JournalVerification(name, answer, calls, call_id, tuple(notes))


__all__ = ["JournalVerification", "verify_journal"]
