"""SQLite persistence for decisions (contexts + audit trail) and HITL approval rows.

One connection in WAL mode with ``synchronous=NORMAL``, shared behind a lock. Pre-check
decisions are group-committed: the request only appends the row to an in-memory batch, and
a flusher thread writes the batch with one statement (one transaction) every
``FLUSH_INTERVAL`` seconds, because a statement plus a commit per decision would cost more
than the whole policy evaluation. Every other method first writes out the pending batch,
so a context is usable and searchable the moment its pre-check has answered; audit
completion and HITL rows and decisions commit before their response is sent.

What this buys and costs: a transaction is all-or-nothing, so a crash never leaves half a
row; a clean stop writes everything; a hard kill (SIGKILL, power loss) can lose at most
the last ``FLUSH_INTERVAL`` of pre-check decisions.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any, Iterable, Optional

from .audit_chain import AuditChain
from .decision_batch import DecisionWriter
from .private_files import secure_sqlite_files

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_entries (
    seq               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    timestamp         TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    tenant_id         TEXT NOT NULL,
    user_email        TEXT NOT NULL,
    request_type      TEXT NOT NULL,
    policy_decision   TEXT NOT NULL,
    policies          TEXT NOT NULL,
    block_reason      TEXT,
    query_preview     TEXT NOT NULL,
    query_hash        TEXT NOT NULL,
    audit_id          TEXT,
    completed_at      TEXT,
    provider          TEXT NOT NULL DEFAULT '',
    model             TEXT NOT NULL DEFAULT '',
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    tokens_used       INTEGER NOT NULL DEFAULT 0,
    response_time_ms  INTEGER NOT NULL DEFAULT 0,
    response_summary  TEXT,
    cost              REAL,
    metadata          TEXT
);
CREATE TABLE IF NOT EXISTS hitl_requests (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id            TEXT NOT NULL UNIQUE,
    org_id                TEXT NOT NULL,
    tenant_id             TEXT NOT NULL,
    client_id             TEXT NOT NULL,
    created_by            TEXT NOT NULL,
    user_id               TEXT,
    original_query        TEXT NOT NULL,
    request_type          TEXT NOT NULL,
    request_context       TEXT,
    triggered_policy_id   TEXT NOT NULL,
    triggered_policy_name TEXT NOT NULL,
    trigger_reason        TEXT NOT NULL,
    severity              TEXT NOT NULL,
    eu_ai_act_article     TEXT,
    compliance_framework  TEXT,
    risk_classification   TEXT,
    status                TEXT NOT NULL CHECK (status IN ('pending','approved','rejected','expired','overridden')),
    reviewer_id           TEXT,
    reviewer_email        TEXT,
    reviewer_role         TEXT,
    review_comment        TEXT,
    reviewed_at           TEXT,
    notify_url            TEXT,
    expires_at            TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    context_id            TEXT
);
CREATE INDEX IF NOT EXISTS hitl_requests_status ON hitl_requests (status, expires_at);
"""
# Stores written before requests carried their pre-check context get the column and its
# values from the stored request_context; then the index that links an audit entry to it.
_MIGRATE_CONTEXT_ID = (
    "ALTER TABLE hitl_requests ADD COLUMN context_id TEXT",
    "UPDATE hitl_requests SET context_id = json_extract(request_context, '$.context_id') "
    "WHERE context_id IS NULL AND json_valid(request_context)",
)
_CONTEXT_INDEX = "CREATE INDEX IF NOT EXISTS hitl_requests_context ON hitl_requests (context_id)"

AUDIT_COLUMNS = (
    "id", "timestamp", "expires_at", "client_id", "tenant_id", "user_email", "request_type",
    "policy_decision", "policies", "block_reason", "query_preview", "query_hash",
)
_COMPLETE_CALL = """
UPDATE audit_entries SET audit_id = ?, completed_at = ?, provider = ?, model = ?,
    prompt_tokens = ?, completion_tokens = ?, tokens_used = ?, response_time_ms = ?,
    response_summary = ?, cost = ?, metadata = ?
WHERE id = ? AND expires_at > ? AND (? IS NULL OR client_id = ?)
"""

HITL_COLUMNS = (
    "request_id", "org_id", "tenant_id", "client_id", "created_by", "user_id", "original_query",
    "request_type", "request_context", "triggered_policy_id", "triggered_policy_name",
    "trigger_reason", "severity", "eu_ai_act_article", "compliance_framework",
    "risk_classification", "status", "notify_url", "expires_at", "created_at", "updated_at",
    "context_id",
)
_INSERT_HITL = (
    f"INSERT INTO hitl_requests ({', '.join(HITL_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(HITL_COLUMNS))})"
)
_EXPIRE_DUE = (
    "UPDATE hitl_requests SET status = 'expired', updated_at = ? "
    "WHERE status = 'pending' AND expires_at <= ?"
)
# An entry's approval is the newest HITL request raised for its pre-check context.
_SEARCH_COLUMNS = (
    "audit_entries.*, (SELECT status FROM hitl_requests h WHERE h.context_id = audit_entries.id "
    "ORDER BY h.id DESC LIMIT 1) AS approval_status"
)


FLUSH_INTERVAL = 0.01
# A batch this long wakes the flusher early; one this long makes the request that finds it
# write it out itself, so a writer that cannot keep up slows pre-checks instead of growing
# memory without bound.
_FLUSH_BATCH = 512
_BACKPRESSURE_BATCH = 20_000


class Store:
    """The agent's durable state. Thread-safe; every method holds the lock briefly."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        secure_sqlite_files(path)
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, cached_statements=256
        )
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(SCHEMA)
            self._migrate()
            # Every change to the audit table is chained in its own transaction (audit_chain.py).
            self.chain = AuditChain(self._conn, AUDIT_COLUMNS)
            self._decisions = DecisionWriter(self._conn, AUDIT_COLUMNS, self.chain)
        self._closed = False
        self._batch: list[tuple] = []
        # The batch has its own lock so a pre-check never waits while the flusher writes.
        self._batch_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="agent-store-flush", daemon=True)
        self._flusher.start()

    def _migrate(self) -> None:
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(hitl_requests)")}
        if "context_id" not in columns:
            for statement in _MIGRATE_CONTEXT_ID:
                self._conn.execute(statement)
        self._conn.execute(_CONTEXT_INDEX)

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            if self._batch:
                with self._lock:
                    self._drain()

    def _drain(self) -> None:
        """Write the pending decisions in one transaction. Lock held by the caller."""
        if not self._batch or self._closed:
            return
        with self._batch_lock:
            batch, self._batch = self._batch, []
        self._decisions.write(batch)

    def flush(self) -> None:
        with self._lock:
            self._drain()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._flusher is not threading.current_thread():
            self._flusher.join()
        with self._lock:
            if self._closed:
                return
            self._drain()
            self._closed = True
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._conn.close()

    # -- decisions and the audit trail ------------------------------------------------

    def insert_decision(self, values: tuple) -> None:
        """Record one pre-check decision; it doubles as the context the audit call completes."""
        with self._batch_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the store is closed")
            self._batch.append(values)
            size = len(self._batch)
        if size >= _BACKPRESSURE_BATCH:
            with self._lock:
                self._drain()
        elif size == _FLUSH_BATCH:
            self._wake.set()

    def complete_call(
        self, context_id: str, now: str, values: tuple, owner: Optional[str] = None
    ) -> bool:
        """Complete a decision's entry with the LLM call.

        False when the context is unknown, expired, or (``owner`` given) another client's.
        """
        with self._lock:
            self._drain()
            with self.chain.transaction():
                cursor = self._conn.execute(_COMPLETE_CALL, (*values, context_id, now, owner, owner))
                if cursor.rowcount == 1:
                    self.chain.completion(context_id, values)
            return cursor.rowcount == 1

    def search_audit(
        self, where: list[str], params: list[Any], limit: int, offset: int,
        now: Optional[str] = None,
    ) -> tuple[list[sqlite3.Row], int]:
        """Entries newest first, each with the ``approval_status`` of its HITL request (or None)."""
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            self._drain()
            if now is not None:
                self._expire_due(now)
            total = self._conn.execute(
                f"SELECT COUNT(*) FROM audit_entries{clause}", params
            ).fetchone()[0]
            rows = self._conn.execute(
                f"SELECT {_SEARCH_COLUMNS} FROM audit_entries{clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return rows, total

    # -- HITL ------------------------------------------------------------------------

    def insert_hitl(self, values: tuple) -> None:
        with self._lock:
            self._conn.execute(_INSERT_HITL, values)

    def _expire_due(self, now: str) -> None:
        # Rows past their expiry are flipped before any read, so they read back `expired`
        # and can no longer be approved. Lock held by the caller.
        self._conn.execute(_EXPIRE_DUE, (now, now))

    def get_hitl(self, request_id: str, now: str) -> Optional[sqlite3.Row]:
        with self._lock:
            self._expire_due(now)
            return self._conn.execute(
                "SELECT * FROM hitl_requests WHERE request_id = ?", (request_id,)
            ).fetchone()

    def list_hitl(
        self,
        statuses: Iterable[str],
        severities: Iterable[str],
        limit: int,
        offset: int,
        now: str,
    ) -> tuple[list[sqlite3.Row], int]:
        where: list[str] = []
        params: list[Any] = []
        statuses, severities = list(statuses), list(severities)
        if statuses:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params.extend(statuses)
        if severities:
            where.append(f"severity IN ({', '.join('?' * len(severities))})")
            params.extend(severities)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            self._expire_due(now)
            total = self._conn.execute(
                f"SELECT COUNT(*) FROM hitl_requests{clause}", params
            ).fetchone()[0]
            rows = self._conn.execute(
                f"SELECT * FROM hitl_requests{clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return rows, total

    def decide_hitl(
        self,
        request_id: str,
        status: str,
        reviewer_id: str,
        reviewer_email: str,
        reviewer_role: Optional[str],
        comment: Optional[str],
        now: str,
    ) -> tuple[bool, Optional[sqlite3.Row]]:
        """Move a pending row to approved/rejected atomically.

        Returns (decided, row): ``decided`` is False when the row was not pending (a second
        decider, or expired); ``row`` is the row as it stands afterwards (None if unknown).
        """
        with self._lock:
            self._expire_due(now)
            cursor = self._conn.execute(
                "UPDATE hitl_requests SET status = ?, reviewer_id = ?, reviewer_email = ?, "
                "reviewer_role = ?, review_comment = ?, reviewed_at = ?, updated_at = ? "
                "WHERE request_id = ? AND status = 'pending'",
                (status, reviewer_id, reviewer_email, reviewer_role, comment, now, now, request_id),
            )
            row = self._conn.execute(
                "SELECT * FROM hitl_requests WHERE request_id = ?", (request_id,)
            ).fetchone()
            return cursor.rowcount == 1, row

    def expire_hitl(self, request_ids: Iterable[str], now: str) -> int:
        """Expire every pending row past its expiry, and the named pending rows at once.

        Returns how many rows this call moved to ``expired``. A named row that is no longer
        pending (decided, already expired, unknown) is left as it is.
        """
        ids = list(request_ids)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                count = self._conn.execute(_EXPIRE_DUE, (now, now)).rowcount
                for start in range(0, len(ids), 500):
                    chunk = ids[start: start + 500]
                    count += self._conn.execute(
                        "UPDATE hitl_requests SET status = 'expired', updated_at = ?, "
                        "expires_at = MIN(expires_at, ?) WHERE status = 'pending' AND "
                        f"request_id IN ({', '.join('?' * len(chunk))})",
                        (now, now, *chunk),
                    ).rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            return count

    def hitl_creators(self, request_ids: Iterable[str]) -> dict[str, str]:
        """``request_id -> created_by`` for the known ids among ``request_ids``."""
        ids = list(request_ids)
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start: start + 500]
                found.update(self._conn.execute(
                    f"SELECT request_id, created_by FROM hitl_requests WHERE request_id IN "
                    f"({', '.join('?' * len(chunk))})", chunk,
                ).fetchall())
        return found
