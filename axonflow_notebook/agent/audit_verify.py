"""Verify the agent's chained audit table (``audit_chain.py``), from its file or live.

Beyond the chain itself (``evidence_chain.verify``), the audit table is checked against
it: every chained decision must still have its row, unchanged and in chain order; every
row must be in the chain; a row's completion fields must be those of its newest chained
completion. The first problem by chain position is the answer, named by record ``seq``
and by the audit entry (context id) it concerns.
"""

from __future__ import annotations

import hmac
import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Optional

from .. import evidence_chain as ec
from .audit_chain import COMPLETION, COMPLETION_COLUMNS, DECISION, DECISION_EXTRA, decision_record, head_mac

_AUDIT_COLUMNS = (
    "id", "timestamp", "expires_at", "client_id", "tenant_id", "user_email", "request_type",
    "policy_decision", "policies", "block_reason", "query_preview", "query_hash",
) + DECISION_EXTRA  # the decision columns of store.AUDIT_COLUMNS, plus ours


@dataclass(frozen=True)
class AuditVerification:
    """The chain's verification, with the audit entry of the first broken record."""

    chain_id: Optional[str]
    result: ec.Verification
    entry_id: Optional[str] = None  # the context id the first broken record concerns

    @property
    def intact(self) -> bool:
        return self.result.intact

    def __bool__(self) -> bool:
        return self.result.intact

    def __str__(self) -> str:
        text = str(self.result)
        return text if self.entry_id is None else f"{text}; audit entry {self.entry_id}"

    def to_json(self) -> dict:
        return {**self.result.to_json(), "chain_id": self.chain_id, "entry_id": self.entry_id,
                "summary": str(self)}


def verify_store(path, key: Optional[bytes] = None) -> AuditVerification:
    """Verify the audit chain of the agent database at ``path`` (read only)."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name}: no such agent database")
    conn = sqlite3.connect(f"file:{name}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        return verify_connection(conn, key)
    finally:
        conn.close()


def verify_connection(conn: sqlite3.Connection, key: Optional[bytes] = None) -> AuditVerification:
    """Verify through an open connection (the live store's, under its lock)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    meta = conn.execute("SELECT * FROM audit_chain_meta WHERE id = 1").fetchone() if "audit_chain_meta" in tables else None
    if meta is None:
        broken = ec.Break("deleted", 0, 0, "this database has no audit chain (written before chaining, or removed)")
        return AuditVerification(None, ec.Verification(False, 0, None, None, key is not None, broken))
    walk = _Walk(conn, key)
    expected_head, expected_next = meta["head"], meta["next_seq"]
    if key is not None and meta["key_id"] == ec.key_id(key):
        mac = head_mac(key, meta["head"], meta["next_seq"])
        if not hmac.compare_digest(mac, meta["mac"] or ""):
            expected_head = expected_next = None  # the head record itself was forged: trust the chain only
            walk.problem(ec.Break("edited", len(walk.items), None, "the recorded head does not carry its key's MAC"), None)
    result = ec.verify(walk.items, key, expected_head=expected_head, expected_next_seq=expected_next,
                       expected_key_id=meta["key_id"])
    walk.finish()
    chain_break = result.broken
    # At one position, a row's own problem comes first, then the chain's, then a row outside
    # the chain (whose chain record may just be the one the chain says is missing).
    first = min(walk.problems, key=lambda p: (p[0].position, p[0].kind == "inserted" and p[0].seq is None),
                default=None)
    stray_last = first is not None and first[0].kind == "inserted" and first[0].seq is None
    if first is not None and (chain_break is None or first[0].position < chain_break.position
                              or (first[0].position == chain_break.position and not stray_last)):
        broken, entry = first
        result = ec.Verification(False, broken.position, None, result.first_seq, key is not None, broken,
                                 result.checkpoints)
        return AuditVerification(meta["chain_id"], result, entry)
    entry = walk.refs[chain_break.position] if chain_break is not None and chain_break.position < len(walk.refs) else None
    return AuditVerification(meta["chain_id"], result, entry)


class _Walk:
    """Reads the chain joined to the audit rows, building what ``ec.verify`` walks."""

    def __init__(self, conn: sqlite3.Connection, key: Optional[bytes]) -> None:
        self.conn = conn
        self.items: list[ec.Sealed] = []
        self.refs: list[Optional[str]] = []
        self.problems: list[tuple[ec.Break, Optional[str]]] = []
        self.latest: dict[str, tuple[int, int, tuple]] = {}  # ref -> newest chained completion
        self.rows: dict[str, tuple[int, int, tuple]] = {}  # ref -> (position, seq, row completion values)
        self.audit_seqs: list[tuple[int, int, int]] = []  # (audit row seq, position, seq) of decisions
        columns = ", ".join(f"a.{c}" for c in _AUDIT_COLUMNS + COMPLETION_COLUMNS)
        cursor = conn.execute(
            f"SELECT c.seq, c.kind, c.ref, c.prev_hash, c.hash, c.record, a.seq, {columns} FROM audit_chain c "
            f"LEFT JOIN audit_entries a ON c.kind = '{DECISION}' AND a.id = c.ref ORDER BY c.seq"
        )
        cursor.row_factory = None  # plain tuples: this loop runs once per record
        n = len(_AUDIT_COLUMNS)
        last_audit_seq = -1
        for position, row in enumerate(cursor):
            seq, kind, ref, prev, stored, text, audit_seq = row[:7]
            self.refs.append(ref)
            if kind == DECISION:
                if audit_seq is None:
                    self.problem(ec.Break("deleted", position, seq, "its audit entry is gone from the audit table"), ref)
                    record = None
                else:
                    values = row[7:7 + n]
                    record = decision_record(dict(zip(_AUDIT_COLUMNS, values)))
                    if audit_seq < last_audit_seq:  # the first decision placed after this one moved
                        at = next(i for i, (s, _, _) in enumerate(self.audit_seqs) if s > audit_seq)
                        _, moved_position, moved_seq = self.audit_seqs[at]
                        self.problem(ec.Break("reordered", moved_position, moved_seq,
                                              "its audit entry sits after a later decision's in the audit table"),
                                     self.refs[moved_position])
                    last_audit_seq = max(last_audit_seq, audit_seq)
                    self.rows[ref] = (position, seq, tuple(row[7 + n:]))
                    self.audit_seqs.append((audit_seq, position, seq))
            else:
                try:
                    record = json.loads(text) if text is not None else None
                except ValueError:
                    record = None
                if not isinstance(record, dict) or record.get("kind") != kind:
                    record = None
                elif kind == COMPLETION:
                    self.latest[record.get("ref")] = (position, seq, tuple(record.get(c) for c in COMPLETION_COLUMNS))
            self.items.append(self._sealed(record, seq, prev, stored, kind))

    @staticmethod
    def _sealed(record: Optional[dict], seq, prev, stored, kind) -> ec.Sealed:
        if record is None or "seq" in record or "prev_hash" in record:
            return ec.Sealed(seq, prev, stored, b"", kind)  # cannot be rebuilt: never verifies
        try:
            body = ec.canonical({**record, "seq": seq, "prev_hash": prev})
        except ec.ChainError:
            body = b""
        return ec.Sealed(seq, prev, stored, body, kind)

    def problem(self, broken: ec.Break, ref: Optional[str]) -> None:
        self.problems.append((broken, ref))

    def finish(self) -> None:
        """The checks that need the whole chain: completions, and rows outside the chain."""
        empty = (None,) * len(COMPLETION_COLUMNS)
        for ref, (position, seq, values) in self.rows.items():
            chained = self.latest.get(ref)
            expected = chained[2] if chained is not None else None
            if expected is None and (values[1] is None):
                continue
            if expected is None or not _same(values, expected):
                where, at_seq = (chained[0], chained[1]) if chained is not None else (position, seq)
                field = next((c for c, a, b in zip(COMPLETION_COLUMNS, values, expected or empty) if not _same1(a, b)),
                             "completion fields")
                self.problem(ec.Break("edited", where, at_seq,
                                      f"its audit entry's {field} differs from the chained completion"), ref)
        stray = self.conn.execute(
            "SELECT a.seq, a.id FROM audit_entries a WHERE NOT EXISTS (SELECT 1 FROM audit_chain c "
            f"WHERE c.ref = a.id AND c.kind = '{DECISION}') ORDER BY a.seq LIMIT 1"
        ).fetchone()
        if stray is not None:
            audit_seq, entry = stray[0], stray[1]
            position = next((p for s, p, _ in self.audit_seqs if s > audit_seq), len(self.items))
            self.problem(ec.Break("inserted", position, None, "an audit entry that is not in the chain"), entry)


def _same1(a, b) -> bool:
    return a == b and type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b
                                              and not isinstance(a, bool) and not isinstance(b, bool))


def _same(a: tuple, b: tuple) -> bool:
    return all(_same1(x, y) for x, y in zip(a, b))


def verify_live(store) -> AuditVerification:
    """Verify a running agent's store: its pending decisions are written first."""
    with store._lock:
        store._drain()
        return verify_connection(store._conn, store.chain.key)
