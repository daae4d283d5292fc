"""The journal's storage: one SQLite table of governed calls, private to its user.

WAL mode, so readers never wait for the writer and several processes (kernels) can
share the file. Every statement runs under one lock: the connection is shared by the
threads that record events, the loops that deliver audits, and readers. The file, its
WAL and its shared-memory file are 0600 in a 0700 directory (private_files.py).

Delivery states: `delivered`, `pending` (retrying), `sending` (claimed by a sender),
`undelivered` (with a reason), `not_applicable` (no context: nothing AxonFlow could accept).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from .audit import AuditOutcome, AuditPayload
from .journal_chain import JournalChain, chain_key_from_env
from .journal_columns import EVIDENCE_COLUMNS, add_missing_columns
from .private_files import private_directory, private_file

CONTEXT_TTL_SECONDS = 300.0  # AxonFlow expires a pre-check context 5 min after it is issued
STALE_CLAIM_SECONDS = 120.0  # a `sending` claim older than this died with its process
RETENTION_DAYS = 183.0  # AxonFlow keeps audit records six months
PRUNE_EVERY_SECONDS = 6 * 3600.0
_UNSET: Any = object()

JournalPath = Union[str, "os.PathLike[str]"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    endpoint TEXT NOT NULL,
    decision TEXT,
    policies TEXT,
    block_reason TEXT,
    model TEXT,
    provider TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    cost_usd REAL,
    latency_ms REAL,
    context_id TEXT,
    expires_at REAL,
    audit_id TEXT,
    delivery TEXT,
    reason TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    claimed_at REAL,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    payload TEXT
);
CREATE INDEX IF NOT EXISTS calls_delivery ON calls (delivery, next_attempt_at);
"""
# Columns added after the first release, to files made before them (ALTER TABLE ADD COLUMN).
# `prompt` is the prompt the pre-check judged, whole or its first PROMPT_PREVIEW_CHARS
# characters (AxonFlowLoggerConfig.journal_prompts); `prompt_chars` its whole length, so a
# reader tells a preview from a whole prompt.
_ADDED_COLUMNS = (("prompt", "TEXT"), ("prompt_chars", "INTEGER"))
PROMPT_PREVIEW_CHARS = 80



def default_journal_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("axonflow-notebook")) / "journal.sqlite3"


def delivery_text(row: Dict[str, Any]) -> str:
    """`delivered`, `pending`, `undelivered: <reason>`, `not_applicable`."""
    state = row.get("delivery") or "pending"
    if state == "sending":
        state = "pending"
    if state == "undelivered" and row.get("reason"):
        return f"undelivered: {row['reason']}"
    return state


def retention_days_from_env(environ: Optional[Dict[str, str]] = None) -> float:
    """`AXONFLOW_JOURNAL_RETENTION_DAYS` (0 keeps everything), else 183."""
    raw = (os.environ if environ is None else environ).get("AXONFLOW_JOURNAL_RETENTION_DAYS", "").strip()
    if not raw:
        return RETENTION_DAYS
    try:
        days = float(raw)
    except ValueError:
        raise ValueError(f"AXONFLOW_JOURNAL_RETENTION_DAYS must be a number of days, got {raw!r}") from None
    if not days >= 0:
        raise ValueError(f"AXONFLOW_JOURNAL_RETENTION_DAYS must be 0 or more, got {raw!r}")
    return days


class JournalStore:
    def __init__(self, path: Optional[JournalPath] = None, *, context_ttl_seconds: float = CONTEXT_TTL_SECONDS,
                 retry_base_seconds: float = 0.5, retry_max_seconds: float = 30.0,
                 chain_key: Any = _UNSET, retention_days: Optional[float] = None) -> None:
        default = default_journal_path()
        self.path = Path(path) if path is not None else default
        private_directory(self.path.parent, tighten=self.path == default)
        private_file(self.path, companions=("-wal", "-shm", "-journal"))
        self.context_ttl_seconds = context_ttl_seconds
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                     timeout=10.0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        add_missing_columns(self._conn, (*_ADDED_COLUMNS, *EVIDENCE_COLUMNS))
        # Every change is chained (journal_chain.py); the key from AXONFLOW_CHAIN_KEY(_FILE).
        try:
            self.chain = JournalChain(self._conn, self.path, chain_key_from_env() if chain_key is _UNSET else chain_key)
        except BaseException:
            self._conn.close()
            raise
        self.retention_days = retention_days_from_env() if retention_days is None else retention_days
        self._pruned_at = 0.0
        self._closed = False
        self.release_stale_claims()

    @property
    def closed(self) -> bool:
        return self._closed

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """Run a statement that changes `calls`, chained with what it changed (journal_chain.py)."""
        with self._lock:
            return self.chain.mutate(sql, params)

    def fetch(self, sql: str, params: tuple = ()) -> List[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def upsert(self, call_id: str, endpoint: str, at: float, **values: Any) -> None:
        """One statement per event: create the call's row or fold `values` into it."""
        cols = ", ".join(values)
        sets = ", ".join(f"{c} = excluded.{c}" for c in values)
        self.execute(
            f"INSERT INTO calls (call_id, created_at, endpoint, {cols}) VALUES (?, ?, ?{', ?' * len(values)}) "
            f"ON CONFLICT(call_id) DO UPDATE SET {sets}", (call_id, at, endpoint, *values.values()))

    def stage(self, payload: AuditPayload, endpoint: str) -> bool:
        """Keep the audit record before it is sent, so a crash cannot lose it.

        A record with a context is claimed for this first send at once (`sending`);
        True when the caller should send it.
        """
        now = time.time()
        blob = json.dumps(dataclasses.asdict(payload), default=str)
        if not payload.context_id:
            self.execute(
                "INSERT INTO calls (call_id, created_at, endpoint, payload, model, provider, delivery, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, 'not_applicable', ?) ON CONFLICT(call_id) DO UPDATE SET "
                "payload = excluded.payload, model = COALESCE(model, excluded.model), "
                "provider = COALESCE(provider, excluded.provider), delivery = 'not_applicable', "
                "reason = COALESCE(reason, excluded.reason)",
                (payload.call_id, now, endpoint, blob, payload.model, payload.provider,
                 "no AxonFlow context to audit against"))
            return False
        cursor = self.execute(
            "INSERT INTO calls (call_id, created_at, endpoint, payload, context_id, model, provider, delivery, "
            "expires_at, attempts, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'sending', ?, 1, ?) "
            "ON CONFLICT(call_id) DO UPDATE SET payload = excluded.payload, context_id = excluded.context_id, "
            "model = COALESCE(model, excluded.model), provider = COALESCE(provider, excluded.provider), "
            "delivery = 'sending', reason = NULL, expires_at = COALESCE(expires_at, excluded.expires_at), "
            "attempts = attempts + 1, claimed_at = excluded.claimed_at WHERE delivery IS NULL",
            (payload.call_id, now, endpoint, blob, payload.context_id, payload.model, payload.provider,
             now + self.context_ttl_seconds, now))
        return cursor.rowcount == 1

    def claim(self, call_id: str) -> bool:
        """pending → sending, atomically (also across processes sharing the file)."""
        cursor = self.execute(
            "UPDATE calls SET delivery = 'sending', claimed_at = ?, attempts = attempts + 1 "
            "WHERE call_id = ? AND delivery = 'pending'", (time.time(), call_id))
        return cursor.rowcount == 1

    def settle(self, call_id: str, outcome: AuditOutcome) -> None:
        if outcome.delivered:
            self.execute("UPDATE calls SET delivery = 'delivered', audit_id = ?, reason = NULL, "
                          "ambiguous = 0 WHERE call_id = ?", (outcome.audit_id, call_id))
        elif outcome.skipped_reason:  # AxonFlow unavailable: retry while the context lives
            rows = self.fetch("SELECT attempts FROM calls WHERE call_id = ?", (call_id,))
            attempts = rows[0]["attempts"] if rows else 1
            delay = min(self.retry_max_seconds, self.retry_base_seconds * 2 ** max(0, attempts - 1))
            self.execute(
                "UPDATE calls SET delivery = 'pending', reason = ?, next_attempt_at = ?, "
                "ambiguous = MAX(ambiguous, ?) WHERE call_id = ?",
                (f"{outcome.skipped_reason}: {outcome.detail}"[:500], time.time() + delay,
                 outcome.skipped_reason != "breaker_open", call_id))
        else:  # AxonFlow answered and refused it (e.g. invalid or expired context)
            self.execute("UPDATE calls SET delivery = 'undelivered', reason = ? WHERE call_id = ?",
                          ((outcome.detail or "AxonFlow did not accept the audit")[:500], call_id))

    def expire(self, now: Optional[float] = None) -> int:
        """Pending records whose context expired can never be delivered: say so."""
        cursor = self.execute(
            "UPDATE calls SET delivery = 'undelivered', reason = 'context expired before AxonFlow '"
            " || 'acknowledged the audit' || COALESCE(' (last error: ' || reason || ')', '') "
            "WHERE delivery = 'pending' AND expires_at <= ?", (time.time() if now is None else now,))
        return cursor.rowcount

    def release_stale_claims(self) -> None:
        self.execute(
            "UPDATE calls SET delivery = 'pending', ambiguous = 1 WHERE delivery = 'sending' AND "
            "claimed_at < ?", (time.time() - STALE_CLAIM_SECONDS,))

    # ----- reading --------------------------------------------------------

    def records(self, limit: int = 50) -> List[Dict[str, Any]]:
        """Newest first."""
        rows = self.fetch("SELECT * FROM calls ORDER BY rowid DESC LIMIT ?", (limit,))
        return [dict(row) for row in rows]

    def count(self, delivery: Optional[str] = None) -> int:
        if delivery is None:
            return self.fetch("SELECT COUNT(*) FROM calls")[0][0]
        return self.fetch("SELECT COUNT(*) FROM calls WHERE delivery = ?", (delivery,))[0][0]

    def has_undelivered(self) -> bool:
        """Whether any record still waits for delivery (`pending` or `sending`)."""
        return bool(self.fetch("SELECT 1 FROM calls WHERE delivery IN ('pending', 'sending') LIMIT 1"))

    def due(self, endpoints: List[str], *, force: bool = False) -> List[Dict[str, Any]]:
        """Pending records of these endpoints whose next attempt is due (all of them with `force`)."""
        marks = ",".join("?" * len(endpoints))
        due = "" if force else " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        params = (*endpoints,) if force else (*endpoints, time.time())
        rows = self.fetch(
            f"SELECT call_id, endpoint, context_id, payload, ambiguous FROM calls WHERE delivery = 'pending' "
            f"AND payload IS NOT NULL AND endpoint IN ({marks}){due} ORDER BY rowid", params)
        return [dict(row) for row in rows]

    def prune(self, now: Optional[float] = None) -> int:
        """Drop the calls older than the retention period (a checkpoint keeps the rest verifiable)."""
        if not self.retention_days:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * 86400.0
        with self._lock:
            self._pruned_at = time.time()
            return self.chain.prune(cutoff)

    def prune_if_due(self) -> int:
        """`prune` at most every six hours (the delivery task calls this on every pass)."""
        if time.time() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return 0
        return self.prune()

    def close_store(self) -> None:
        with self._lock:
            self._closed = True
            self.chain.close()
            self._conn.close()


__all__ = ["JournalStore", "JournalPath", "default_journal_path", "delivery_text", "CONTEXT_TTL_SECONDS",
           "STALE_CLAIM_SECONDS", "PROMPT_PREVIEW_CHARS", "RETENTION_DAYS", "retention_days_from_env"]
