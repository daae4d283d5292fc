"""SQLite tables for usage records, budgets created through the API, and budget alerts.

They live in the agent's own database file (already 0600, see ``private_files.py``) on a
connection of their own, so ``store.py`` is untouched and neither connection's lock
serialises the other's work; SQLite's WAL lets both read, and ``busy_timeout`` orders their
writes. Nothing here runs on the pre-check path: the pre-check reads the in-memory view of
``ledger.py``, which this file fills at start.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any, Iterable, Optional

from ..private_files import secure_sqlite_files
from .attribution import Attribution
from .usage import UsageRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage_records (
    seq           INTEGER PRIMARY KEY,
    request_id    TEXT NOT NULL UNIQUE,
    audit_id      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    organization  TEXT NOT NULL,
    team          TEXT NOT NULL,
    agent         TEXT NOT NULL,
    workflow      TEXT NOT NULL,
    user          TEXT NOT NULL,
    provider      TEXT NOT NULL,
    model         TEXT NOT NULL,
    tokens_in     INTEGER NOT NULL,
    tokens_out    INTEGER NOT NULL,
    cost_usd      REAL NOT NULL,
    cost_source   TEXT NOT NULL,
    latency_ms    INTEGER NOT NULL,
    success       INTEGER NOT NULL,
    error_message TEXT
);
CREATE INDEX IF NOT EXISTS usage_records_created ON usage_records (created_at);
CREATE TABLE IF NOT EXISTS budgets (
    seq  INTEGER PRIMARY KEY,
    id   TEXT NOT NULL UNIQUE,
    doc  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS budget_alerts (
    seq                INTEGER PRIMARY KEY,
    budget_id          TEXT NOT NULL,
    threshold          INTEGER NOT NULL,
    period_start       TEXT NOT NULL,
    percentage_reached REAL NOT NULL,
    amount_usd         REAL NOT NULL,
    alert_type         TEXT NOT NULL,
    message            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    acknowledged       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (budget_id, threshold, period_start)
);
"""
_RECORD_COLUMNS = (
    "request_id", "audit_id", "created_at", "organization", "team", "agent", "workflow", "user",
    "provider", "model", "tokens_in", "tokens_out", "cost_usd", "cost_source", "latency_ms",
    "success", "error_message",
)
_INSERT_RECORD = (
    f"INSERT INTO usage_records ({', '.join(_RECORD_COLUMNS)}) "
    f"VALUES ({', '.join(':' + c for c in _RECORD_COLUMNS)})"
)
# A call audited again keeps when and to whom it was first charged.
_UPDATE_RECORD = (
    "UPDATE usage_records SET audit_id = :audit_id, provider = :provider, model = :model, "
    "tokens_in = :tokens_in, tokens_out = :tokens_out, cost_usd = :cost_usd, "
    "cost_source = :cost_source, latency_ms = :latency_ms, success = :success, "
    "error_message = :error_message WHERE request_id = :request_id"
)
# Usage filters of the usage routes: query parameter -> column.
FILTER_COLUMNS = {
    "org_id": "organization", "team_id": "team", "agent_id": "agent", "workflow_id": "workflow",
    "user_id": "user", "provider": "provider", "model": "model",
}


def record_of(row: sqlite3.Row) -> UsageRecord:
    return UsageRecord(
        request_id=row["request_id"], audit_id=row["audit_id"], created_at=row["created_at"],
        attribution=Attribution(row["organization"], row["team"], row["agent"], row["workflow"], row["user"]),
        provider=row["provider"], model=row["model"], tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"], cost_usd=row["cost_usd"], cost_source=row["cost_source"],
        latency_ms=row["latency_ms"], success=bool(row["success"]), error_message=row["error_message"],
    )


class UsageDB:
    """The budget tables. Thread-safe; every method holds the lock for one short statement."""

    def __init__(self, path: str) -> None:
        secure_sqlite_files(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _transaction(self, statements) -> Any:
        """Run ``statements(conn)`` in one immediate transaction; return what it returns."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = statements(self._conn)
                self._conn.execute("COMMIT")
                return result
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    # -- usage -------------------------------------------------------------------------

    def save_usage(self, record: UsageRecord) -> tuple[UsageRecord, Optional[UsageRecord]]:
        """Store the call's record; returns (the record as stored, the one it replaced)."""

        def upsert(conn: sqlite3.Connection):
            old = conn.execute("SELECT * FROM usage_records WHERE request_id = ?", (record.request_id,)).fetchone()
            if old is None:
                conn.execute(_INSERT_RECORD, record.row())
                return record, None
            previous = record_of(old)
            conn.execute(_UPDATE_RECORD, record.row())
            stored = record_of(conn.execute(
                "SELECT * FROM usage_records WHERE request_id = ?", (record.request_id,)
            ).fetchone())
            return stored, previous

        return self._transaction(upsert)

    def day_totals(self, since: str) -> list[sqlite3.Row]:
        """Cost per UTC day and attribution since ``since`` (the in-memory view's seed)."""
        with self._lock:
            return self._conn.execute(
                "SELECT substr(created_at, 1, 10) AS day, organization, team, agent, workflow, user, "
                "SUM(cost_usd) AS cost FROM usage_records WHERE created_at >= ? "
                "GROUP BY day, organization, team, agent, workflow, user",
                (since,),
            ).fetchall()

    def summary(self, where: list[str], params: list[Any]) -> sqlite3.Row:
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            return self._conn.execute(
                "SELECT COUNT(*) AS requests, COALESCE(SUM(cost_usd), 0) AS cost, "
                "COALESCE(SUM(tokens_in), 0) AS tokens_in, COALESCE(SUM(tokens_out), 0) AS tokens_out "
                f"FROM usage_records{clause}",
                params,
            ).fetchone()

    def breakdown(self, column: str, where: list[str], params: list[Any]) -> list[sqlite3.Row]:
        """Totals per value of ``column`` (one of ``FILTER_COLUMNS``' values), costliest first."""
        if column not in FILTER_COLUMNS.values():
            raise ValueError(f"not a usage column: {column}")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            return self._conn.execute(
                f"SELECT {column} AS value, COUNT(*) AS requests, SUM(cost_usd) AS cost, "
                f"SUM(tokens_in) AS tokens_in, SUM(tokens_out) AS tokens_out FROM usage_records{clause} "
                f"GROUP BY {column} ORDER BY cost DESC, value",
                params,
            ).fetchall()

    def records(self, where: list[str], params: list[Any], limit: int, offset: int) -> tuple[list[UsageRecord], int]:
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            total = self._conn.execute(f"SELECT COUNT(*) FROM usage_records{clause}", params).fetchone()[0]
            rows = self._conn.execute(
                f"SELECT * FROM usage_records{clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [record_of(r) for r in rows], total

    # -- budgets created through the API -------------------------------------------------

    def budgets(self) -> list[dict]:
        with self._lock:
            return [json.loads(r[0]) for r in self._conn.execute("SELECT doc FROM budgets ORDER BY seq")]

    def insert_budget(self, doc: dict) -> bool:
        """False when a budget with this id is already stored."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO budgets (id, doc) VALUES (?, ?)", (doc["id"], json.dumps(doc))
            )
            return cursor.rowcount == 1

    def replace_budget(self, doc: dict) -> None:
        with self._lock:
            self._conn.execute("UPDATE budgets SET doc = ? WHERE id = ?", (json.dumps(doc), doc["id"]))

    def delete_budget(self, budget_id: str) -> None:
        """Delete the budget and its alerts."""

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM budgets WHERE id = ?", (budget_id,))
            conn.execute("DELETE FROM budget_alerts WHERE budget_id = ?", (budget_id,))

        self._transaction(delete)

    # -- alerts ------------------------------------------------------------------------

    def insert_alert(self, values: dict) -> None:
        """Record one threshold crossing; a crossing already recorded this period is kept."""
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO budget_alerts (budget_id, threshold, period_start, "
                "percentage_reached, amount_usd, alert_type, message, created_at) VALUES "
                "(:budget_id, :threshold, :period_start, :percentage_reached, :amount_usd, "
                ":alert_type, :message, :created_at)",
                values,
            )

    def alerted(self, since: str) -> Iterable[tuple[str, int, str]]:
        with self._lock:
            return [tuple(r) for r in self._conn.execute(
                "SELECT budget_id, threshold, period_start FROM budget_alerts WHERE period_start >= ?",
                (since,),
            )]

    def alerts(self, budget_id: str, limit: int) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(
                "SELECT * FROM budget_alerts WHERE budget_id = ? ORDER BY seq DESC LIMIT ?",
                (budget_id, limit),
            ).fetchall()
