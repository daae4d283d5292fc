"""The agent's audit table as a hash chain (``axonflow_notebook/evidence_chain.py``).

Every change to ``audit_entries`` is a record appended to one chain, in the same
transaction as the change, by the store's flusher (decisions) or the audit request
(completions), never by a pre-check:

- ``decision``: the row a pre-check wrote, all of its decision columns, the policy version
  that decided and the evaluation details explanations read. Its body is rebuilt from the
  row itself, so editing, deleting or moving the row breaks the chain.
- ``completion``: the fields an llm-call audit set on a row; a second audit for the same
  context appends another record, never rewrites one. The row must hold the newest.
- ``policy_load``: a policy set put in force (version, time, source).

Table ``audit_chain`` holds ``seq, kind, ref, prev_hash, hash`` (and the record text for
records that are not rows); ``audit_chain_meta`` holds the chain id, the key id and the
head, so a cut tail shows. With a key (``AXONFLOW_CHAIN_KEY_FILE`` or ``AXONFLOW_CHAIN_KEY``)
the chain is HMAC-SHA256, and the head is MACed too.
"""

from __future__ import annotations

import hmac
import json
import os
import sqlite3
import time
import uuid
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

from .. import evidence_chain as ec
from . import timestamps

DECISION, COMPLETION, POLICY_LOAD = "decision", "completion", "policy_load"
DECISION_EXTRA = ("policy_version", "evaluation")  # audit_entries columns this module adds
# The columns an llm-call audit sets, in the order of ``audit.completion_values``.
COMPLETION_COLUMNS = (
    "audit_id", "completed_at", "provider", "model", "prompt_tokens", "completion_tokens",
    "tokens_used", "response_time_ms", "response_summary", "cost", "metadata",
)
KEY_ENV, KEY_FILE_ENV = "AXONFLOW_CHAIN_KEY", "AXONFLOW_CHAIN_KEY_FILE"
_YIELD_EVERY = 64  # sealed records between GIL hand-offs on a long batch

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_chain (
    seq       INTEGER PRIMARY KEY,
    kind      TEXT NOT NULL,
    ref       TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    record    TEXT
);
CREATE INDEX IF NOT EXISTS audit_chain_ref ON audit_chain (ref);
CREATE TABLE IF NOT EXISTS audit_chain_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    chain_id   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    key_id     TEXT,
    head       TEXT NOT NULL,
    next_seq   INTEGER NOT NULL,
    mac        TEXT
);
CREATE TABLE IF NOT EXISTS policy_sets (
    version  TEXT PRIMARY KEY,
    policies TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_entries_audit_id ON audit_entries (audit_id);
"""
_INSERT_LINKS = (
    "INSERT INTO audit_chain (seq, kind, ref, prev_hash, hash, record) SELECT value ->> 0, "
    "value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?)"
)


def env_key(environ=None) -> Optional[bytes]:
    """The chain key configured in the environment (key file first), or None."""
    environ = os.environ if environ is None else environ
    path = environ.get(KEY_FILE_ENV)
    if path:
        return ec.load_key(path=path)
    return ec.load_key(environ.get(KEY_ENV) or None)


def head_mac(key: Optional[bytes], head: str, next_seq: int) -> Optional[str]:
    if key is None:
        return None
    return hmac.digest(key, f"audit head {next_seq} {head}".encode("ascii"), "sha256").hex()


def decision_record(row: dict) -> dict:
    """The chained record of a decision row (a mapping of its columns)."""
    return {"kind": DECISION, **row}


class AuditChain:
    """Appends the chain records of one store. Used with the store's lock held."""

    def __init__(self, conn: sqlite3.Connection, audit_columns: Sequence[str], key: Optional[bytes] = None,
                 *, key_from_env: bool = True) -> None:
        self.conn = conn
        if key is None and key_from_env:
            key = env_key()
        self.key = key
        self.decision_columns = tuple(audit_columns) + DECISION_EXTRA
        columns = {row[1] for row in conn.execute("PRAGMA table_info(audit_entries)")}
        for name in DECISION_EXTRA:
            if name not in columns:
                conn.execute(f"ALTER TABLE audit_entries ADD COLUMN {name} TEXT")
        conn.executescript(SCHEMA)
        meta = conn.execute("SELECT * FROM audit_chain_meta WHERE id = 1").fetchone()
        wanted = ec.key_id(key) if key is not None else None
        if meta is None:
            self.chain_id = str(uuid.uuid4())
            self.writer = ec.ChainWriter(key)
            self._start(wanted)
        else:
            if meta["key_id"] != wanted:
                had = "with another key" if meta["key_id"] and wanted else (
                    "with a key" if meta["key_id"] else "without a key")
                raise ec.ChainError(
                    f"the audit chain of this database was started {had}; set the same "
                    f"{KEY_FILE_ENV} / {KEY_ENV} as then, or use a new database"
                )
            self.chain_id = meta["chain_id"]
            self.writer = ec.ChainWriter(key, head=meta["head"], next_seq=meta["next_seq"])
        self._depth = 0

    def _start(self, key_id: Optional[str]) -> None:
        """A new chain; rows written before chaining existed are chained first, in order."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "INSERT INTO audit_chain_meta (id, chain_id, created_at, key_id, head, next_seq, mac) "
                "VALUES (1, ?, ?, ?, ?, 0, ?)",
                (self.chain_id, timestamps.now(), key_id, ec.GENESIS_HASH, head_mac(self.key, ec.GENESIS_HASH, 0)),
            )
            names = ", ".join(self.decision_columns + COMPLETION_COLUMNS)
            rows = self.conn.execute(f"SELECT {names} FROM audit_entries ORDER BY seq").fetchall()
            n = len(self.decision_columns)
            self.decisions([tuple(r)[:n] for r in rows], self.decision_columns)
            for r in rows:
                if r["completed_at"] is not None:
                    self.completion(r["id"], tuple(r)[n:])
            self._save_head()
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction for a change and its chain records; the head moves only on commit."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        state = self.writer.state()
        self.conn.execute("BEGIN")
        self._depth = 1
        try:
            yield
            if self.writer.state() != state:
                self._save_head()
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.writer.restore(state)
            raise
        finally:
            self._depth = 0

    def _save_head(self) -> None:
        head, next_seq = self.writer.state()
        self.conn.execute(
            "UPDATE audit_chain_meta SET head = ?, next_seq = ?, mac = ? WHERE id = 1",
            (head, next_seq, head_mac(self.key, head, next_seq)),
        )

    def decisions(self, rows: list[tuple], columns: Sequence[str]) -> None:
        """Chain decision rows just inserted (values in ``columns`` order)."""
        links = []
        for i, values in enumerate(rows):
            if i and i % _YIELD_EVERY == 0:
                time.sleep(0)  # let the event loop thread run between chunks of hashing
            record = decision_record(dict(zip(columns, values)))
            sealed = self.writer.seal(record)
            links.append([sealed.seq, DECISION, record["id"], sealed.prev_hash, sealed.hash, None])
        if links:
            self.conn.execute(_INSERT_LINKS, (json.dumps(links),))

    def completion(self, context_id: str, values: Sequence) -> None:
        """Chain the fields an llm-call audit just set on the row of ``context_id``."""
        self._append({"kind": COMPLETION, "ref": context_id, **dict(zip(COMPLETION_COLUMNS, values))}, context_id)

    def policy_load(self, version: str, loaded_at: str, source: str, policies_json: str) -> None:
        """Chain a policy set put in force, and keep the set itself (by version) for explanations."""
        with self.transaction():
            self.conn.execute("INSERT OR IGNORE INTO policy_sets (version, policies) VALUES (?, ?)",
                              (version, policies_json))
            self._append({"kind": POLICY_LOAD, "version": version, "loaded_at": loaded_at, "source": source}, version)

    def _append(self, record: dict, ref: str) -> None:
        sealed = self.writer.seal(record)
        self.conn.execute(
            "INSERT INTO audit_chain (seq, kind, ref, prev_hash, hash, record) VALUES (?, ?, ?, ?, ?, ?)",
            (sealed.seq, record["kind"], ref, sealed.prev_hash, sealed.hash,
             ec.canonical(record).decode("utf-8")),
        )

    def policy_set(self, version: str) -> Optional[list]:
        row = self.conn.execute("SELECT policies FROM policy_sets WHERE version = ?", (version,)).fetchone()
        return json.loads(row[0]) if row is not None else None

    def policy_loads(self, version: str) -> list[dict]:
        """Every load of ``version`` (time, source), oldest first."""
        rows = self.conn.execute(
            "SELECT record FROM audit_chain WHERE kind = ? AND ref = ? ORDER BY seq", (POLICY_LOAD, version)
        ).fetchall()
        return [json.loads(r[0]) for r in rows]
