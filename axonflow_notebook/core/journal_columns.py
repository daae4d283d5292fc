"""Columns of the journal's `calls` table added after its first release, added to older files in place.

`ALTER TABLE … ADD COLUMN` for each one missing, so a journal written by an earlier version keeps
its rows (and, chained, verifies: journal_chain.py chains whatever columns the table has).
"""

from __future__ import annotations

import sqlite3
from typing import Sequence, Tuple

# Where a call came from and how its approval went (issue 14): provenance is JSON
# (core/provenance.py), times are epoch seconds like created_at.
EVIDENCE_COLUMNS: Tuple[Tuple[str, str], ...] = (
    ("provenance", "TEXT"),
    ("policy_version", "TEXT"),
    ("approval_request_id", "TEXT"),
    ("approval_requested_at", "REAL"),
    ("approval_decided_at", "REAL"),
    ("reviewer", "TEXT"),
    ("review_comment", "TEXT"),
)


def add_missing_columns(conn: sqlite3.Connection, columns: Sequence[Tuple[str, str]], table: str = "calls") -> None:
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns:
        if name not in have:
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise


__all__ = ["EVIDENCE_COLUMNS", "add_missing_columns"]
