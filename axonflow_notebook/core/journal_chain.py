"""The journal as a hash chain (axonflow_notebook/evidence_chain/): every change to a row is a record.

The `calls` table keeps one row per call, updated as the call goes on (decision, completion,
audit delivery). Every statement that changes it runs in one transaction with the records that
say what it changed, appended to `journal_chain`:
`{"kind": "call", "call_id", "op": "insert" | "update", "at", "set": {column: value, ...}}`
(an insert sets every column it filled and names the row's `rowid`), chained with the record
before it (SHA-256 over RFC 8785 canonical JSON, HMAC-SHA256 with a key). A delivery-state change
is a new record: a hashed record is never rewritten.

Which columns a statement changed is seen by SQLite itself: TEMP triggers compare OLD and NEW
over every column of `calls`, rebuilt whenever the table's schema changes. So a column another
module adds is chained with no change here, and a row edited behind the journal's back cannot be
laundered by a later update: only what a statement changed is chained, and `verify`
(axonflow_notebook/evidence/journal_verify.py) folds each call's records and compares the fold
with its row, column by column.

The head (hash and number of records ever appended) is also written to `<journal>.head`
(journal_head.py), so a cut tail or a recomputed chain shows. Retention prunes whole calls from
the front and appends a checkpoint naming the last pruned record, so the rest still verifies.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import evidence_chain as ec
from .journal_head import HeadFile, HeadState, head_path

CALL = "call"
KEY_ENV, KEY_FILE_ENV = "AXONFLOW_CHAIN_KEY", "AXONFLOW_CHAIN_KEY_FILE"  # as the agent's chain
TABLE = "calls"

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_chain (
    seq INTEGER PRIMARY KEY,
    call_id TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS journal_chain_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    chain_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    key_id TEXT
);
CREATE TEMP TABLE IF NOT EXISTS journal_dirty (n INTEGER PRIMARY KEY, call_id TEXT NOT NULL, changed TEXT);
"""
_INSERT = "INSERT INTO journal_chain (seq, call_id, prev_hash, hash, body) VALUES (?, ?, ?, ?, ?)"
# The schema version (new columns?) and the chain's last record, in one statement per append.
_PROBE = ("SELECT s.schema_version, t.seq, t.hash FROM pragma_schema_version AS s LEFT JOIN "
          "(SELECT seq, hash FROM journal_chain ORDER BY seq DESC LIMIT 1) AS t")


def chain_key_from_env(environ: Optional[Mapping[str, str]] = None) -> Optional[bytes]:
    """The chain key configured in the environment (the key file first), or None."""
    env = os.environ if environ is None else environ
    path = env.get(KEY_FILE_ENV)
    if path:
        return ec.load_key(path=path)
    return ec.load_key(env.get(KEY_ENV) or None)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _trigger_sql(columns: Sequence[str]) -> Tuple[str, str]:
    changed = " || ".join(f"CASE WHEN OLD.{_quote(c)} IS NOT NEW.{_quote(c)} THEN {_literal(c + ',')} ELSE '' END"
                          for c in columns)
    insert = (f"CREATE TEMP TRIGGER journal_dirty_insert AFTER INSERT ON main.{TABLE} BEGIN "
              "INSERT INTO journal_dirty (call_id, changed) VALUES (NEW.call_id, NULL); END")
    update = (f"CREATE TEMP TRIGGER journal_dirty_update AFTER UPDATE ON main.{TABLE} BEGIN "
              f"INSERT INTO journal_dirty (call_id, changed) VALUES (NEW.call_id, {changed}); END")
    return insert, update


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _key_problem(path: Path, had: Optional[str], wanted: Optional[str]) -> str:
    if had is None:
        return (f"the journal {path} was started without a chain key; unset {KEY_FILE_ENV} / {KEY_ENV} "
                "for it, or move it aside (it still verifies) to start a keyed one")
    if wanted is None:
        return f"the journal {path} is keyed (HMAC); set {KEY_FILE_ENV} or {KEY_ENV} to its key"
    return (f"the journal {path} was started with another chain key; set {KEY_FILE_ENV} / {KEY_ENV} "
            "to that key, or move it aside (it still verifies with its key) to start a new one")


class JournalChain:
    """Appends the chain records of one journal connection. The caller serialises its use."""

    def __init__(self, conn: sqlite3.Connection, journal_path: Path, key: Optional[bytes] = None) -> None:
        self.conn = conn
        self.path = Path(journal_path)
        self.key = key
        self.key_id = ec.key_id(key) if key is not None else None
        conn.execute("PRAGMA temp_store = MEMORY")  # the triggers' scratch table: no temp file I/O per append
        conn.executescript(SCHEMA)
        self.head_file = HeadFile(head_path(self.path))
        self.writer = ec.ChainWriter(key)
        self._schema_version: Optional[int] = None
        self._names: Tuple[str, ...] = ()  # "rowid" and the columns of `calls`, as the triggers know them
        self._written: Optional[HeadState] = None  # the head this process wrote last
        self._returning = sqlite3.sqlite_version_info >= (3, 35, 0)
        self._plain = conn.cursor()  # plain tuples, named from the columns the triggers were built on
        self._plain.row_factory = None
        meta = conn.execute("SELECT chain_id, key_id FROM journal_chain_meta WHERE id = 1").fetchone()
        if meta is None:
            meta = self._start()
        if meta[1] != self.key_id:
            self.head_file.close()
            raise ec.ChainError(_key_problem(self.path, meta[1], self.key_id))
        self.chain_id: str = meta[0]

    def _start(self) -> Tuple[str, Optional[str]]:
        """A new chain; rows written before the journal was chained are chained first, in order."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            meta = conn.execute("SELECT chain_id, key_id FROM journal_chain_meta WHERE id = 1").fetchone()
            if meta is not None:  # another process started it meanwhile
                conn.execute("COMMIT")
                return meta
            self.chain_id = str(uuid.uuid4())
            created = dt.datetime.now(dt.timezone.utc).isoformat()
            conn.execute("INSERT INTO journal_chain_meta (id, chain_id, created_at, key_id) VALUES (1, ?, ?, ?)",
                         (self.chain_id, created, self.key_id))
            rows = conn.execute(f"SELECT call_id FROM {TABLE} ORDER BY rowid").fetchall()
            self._append_changes([(row[0], None) for row in rows])
            self._write_head()
            conn.execute("COMMIT")
            return self.chain_id, self.key_id
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- appending ---------------------------------------------------------------------------
    def mutate(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """Run one statement that changes `calls`, with the records of what it changed."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        before: Optional[Tuple[str, int]] = None
        try:
            self._continue_from_head()
            cursor = conn.execute(sql, params)
            dirty = self._take_dirty()
            if dirty:
                before = self.writer.state()
                self._append_changes(dirty)
                self._write_head()
            conn.execute("COMMIT")
            return cursor
        except BaseException:
            self._written = None  # the next append checks the table and the head anew
            if before is not None:
                self.writer.restore(before)
                if conn.in_transaction:
                    self._write_head()  # back to the head before, while the write lock is still ours
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _take_dirty(self) -> List[Tuple[str, Optional[str]]]:
        """The rows the statement changed, as the triggers saw them (and forget them)."""
        cursor = self._plain
        if self._returning:
            try:
                rows = cursor.execute("DELETE FROM journal_dirty RETURNING n, call_id, changed").fetchall()
                if len(rows) > 1:
                    rows.sort()
                return [(row[1], row[2]) for row in rows]
            except sqlite3.OperationalError:  # SQLite before 3.35 (no RETURNING)
                self._returning = False
        rows = cursor.execute("SELECT call_id, changed FROM journal_dirty ORDER BY n").fetchall()
        if rows:
            cursor.execute("DELETE FROM journal_dirty")
        return [(row[0], row[1]) for row in rows]

    def _ensure_triggers(self, version: int) -> None:
        """(Re)create the change triggers when `calls` has new columns (any module may add one)."""
        if version == self._schema_version:
            return
        columns = [row[1] for row in self.conn.execute(f"PRAGMA main.table_info({TABLE})")]
        self._names = ("rowid", *columns)
        self.conn.execute("DROP TRIGGER IF EXISTS temp.journal_dirty_insert")
        self.conn.execute("DROP TRIGGER IF EXISTS temp.journal_dirty_update")
        for statement in _trigger_sql(columns):
            self.conn.execute(statement)
        self._schema_version = version

    def _continue_from_head(self) -> None:
        """Carry on from the recorded head; from the table's last record when there is none.

        A head ahead of the table means records were cut off (or a writer died between writing
        the head and committing): the chain carries on after the gap, so it stays visible.
        """
        recorded = self.head_file.read()
        if recorded is not None and recorded is self._written:
            # The head file is as this process left it: no other writer since (every append
            # rewrites it under the write lock), so the chain ends where this process left it.
            self._ensure_triggers(self.conn.execute("PRAGMA main.schema_version").fetchone()[0])
            self.writer.restore((recorded.head, recorded.next_seq))
            return
        version, tail_seq, tail_hash = self.conn.execute(_PROBE).fetchone()
        self._ensure_triggers(version)
        tail_next = tail_seq + 1 if tail_seq is not None else 0
        if (recorded is not None and recorded.chain_id == self.chain_id and recorded.mac_ok(self.key)
                and recorded.next_seq >= tail_next):
            self.writer.restore((recorded.head, recorded.next_seq))
        elif tail_seq is not None:
            self.writer.restore((tail_hash, tail_next))
        else:
            self.writer.restore((ec.GENESIS_HASH, 0))

    def _append_changes(self, dirty: List[Tuple[str, Optional[str]]]) -> None:
        merged: Dict[str, Optional[set]] = {}
        for call_id, changed in dirty:
            if changed is None or merged.get(call_id, set()) is None:
                merged[call_id] = None  # inserted: every column it filled
            else:
                merged.setdefault(call_id, set()).update(n for n in changed.split(",") if n)
        rows = self._rows(list(merged))
        now = time.time()
        links = []
        for call_id, changed in merged.items():
            row = rows.get(call_id)
            if row is None:
                continue
            if changed is None:
                rowid = row.pop("rowid")
                record = {"kind": CALL, "call_id": call_id, "op": "insert", "at": now, "rowid": rowid,
                          "set": {k: v for k, v in row.items() if v is not None}}
            else:
                values = {name: row[name] for name in sorted(changed) if name in row}
                if not values:
                    continue
                record = {"kind": CALL, "call_id": call_id, "op": "update", "at": now, "set": values}
            sealed = self.writer.seal(record)
            links.append((sealed.seq, call_id, sealed.prev_hash, sealed.hash, sealed.body.decode("utf-8")))
        if len(links) == 1:
            self.conn.execute(_INSERT, links[0])
        elif links:
            self.conn.executemany(_INSERT, links)

    def _rows(self, call_ids: List[str]) -> Dict[str, Dict[str, Any]]:
        if not self._names:
            self._ensure_triggers(self.conn.execute(_PROBE).fetchone()[0])
        names, cursor = self._names, self._plain
        out: Dict[str, Dict[str, Any]] = {}
        for i in range(0, len(call_ids), 500):
            chunk = call_ids[i:i + 500]
            where = "call_id = ?" if len(chunk) == 1 else f"call_id IN ({','.join('?' * len(chunk))})"
            for values in cursor.execute(f"SELECT rowid, * FROM {TABLE} WHERE {where}", chunk).fetchall():
                row = dict(zip(names, values))
                out[row["call_id"]] = row
        return out

    def _write_head(self) -> None:
        head, next_seq = self.writer.state()
        state = HeadState(self.chain_id, next_seq, head, self.key_id)
        if self.key is not None:
            state = state.macced(self.key)
        self.head_file.write(state)
        self._written = state

    # -- retention ---------------------------------------------------------------------------
    def prune(self, cutoff: float, *, reason: str = "retention") -> int:
        """Drop whole calls created before `cutoff` from the front of the chain; returns how many.

        Only a prefix of the chain that holds every record of its calls is dropped, so each call
        left keeps all its records; a checkpoint record naming the last dropped record (its seq and
        hash) is appended, and `verify` anchors the rest on it.
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._continue_from_head()
            through, call_ids = self._prunable(cutoff)
            if through is None:
                conn.execute("ROLLBACK")
                return 0
            last = conn.execute("SELECT hash FROM journal_chain WHERE seq = ?", (through,)).fetchone()[0]
            count = conn.execute("SELECT COUNT(*) FROM journal_chain WHERE seq <= ?", (through,)).fetchone()[0]
            conn.execute("DELETE FROM journal_chain WHERE seq <= ?", (through,))
            for i in range(0, len(call_ids), 500):
                chunk = call_ids[i:i + 500]
                conn.execute(f"DELETE FROM {TABLE} WHERE call_id IN ({','.join('?' * len(chunk))})", chunk)
            record = {**ec.checkpoint_record(through, last, count, reason), "calls": len(call_ids),
                      "cutoff": dt.datetime.fromtimestamp(cutoff, dt.timezone.utc).isoformat(), "at": time.time()}
            sealed = self.writer.seal(record)
            conn.execute(_INSERT, (sealed.seq, None, sealed.prev_hash, sealed.hash, sealed.body.decode("utf-8")))
            self._write_head()
            conn.execute("COMMIT")
            return len(call_ids)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _prunable(self, cutoff: float) -> Tuple[Optional[int], List[str]]:
        """(last seq to drop, the calls whose records all lie at or before it)."""
        spans = self.conn.execute(
            f"SELECT j.call_id, MIN(j.seq), MAX(j.seq), c.created_at FROM journal_chain j "
            f"LEFT JOIN {TABLE} c ON c.call_id = j.call_id WHERE j.call_id IS NOT NULL "
            "GROUP BY j.call_id ORDER BY 2").fetchall()
        through: Optional[int] = None
        taken = 0
        top = -1
        for i, (_call_id, _low, high, created) in enumerate(spans):
            if created is None or created >= cutoff:
                break
            top = max(top, high)
            if i + 1 == len(spans) or spans[i + 1][1] > top:
                through, taken = top, i + 1
        return through, [row[0] for row in spans[:taken]]

    def close(self) -> None:
        self.head_file.close()


__all__ = ["JournalChain", "chain_key_from_env", "CALL", "KEY_ENV", "KEY_FILE_ENV", "SCHEMA"]
