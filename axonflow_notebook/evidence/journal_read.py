"""Reading a journal file for evidence: its rows of a period, read only, never changing it."""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List

from .periods import Period


@contextmanager
def read_only(path: "str | os.PathLike[str]") -> Iterator[sqlite3.Connection]:
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name}: no such journal")
    conn = sqlite3.connect(f"file:{name}?mode=ro", uri=True, timeout=10.0, isolation_level=None)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "calls" not in tables:
            raise ValueError(f"{name} is not an axonflow-notebook journal (no calls table)")
        yield conn
    finally:
        conn.close()


def period_clause(period: Period) -> tuple:
    """(` WHERE …` on created_at, its parameters) for the calls of `period`."""
    where, params = [], []
    if period.since is not None:
        where.append("created_at >= ?")
        params.append(period.since.timestamp())
    if period.until is not None:
        where.append("created_at <= ?")
        params.append(period.until.timestamp())
    return (" WHERE " + " AND ".join(where)) if where else "", params


def journal_rows(path: "str | os.PathLike[str]", period: Period = Period(None, None)) -> List[Dict[str, Any]]:
    """Every call of the period (all columns, whatever the journal has), oldest first."""
    clause, params = period_clause(period)
    with read_only(path) as conn:
        cursor = conn.execute(f"SELECT * FROM calls{clause} ORDER BY created_at, rowid", params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor]


__all__ = ["period_clause", "journal_rows", "read_only"]
