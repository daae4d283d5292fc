"""Verify the agent's chained audit table (``audit_chain.py``), from its file or live.

Beyond the chain itself (``evidence_chain.verify``), the audit table is checked against
it: every chained decision must still have its row, unchanged and in chain order; every
row must be in the chain; a row's completion fields must be those of its newest chained
completion. The first problem by chain position is the answer, named by record ``seq``
and by the audit entry (context id) it concerns.
"""

from __future__ import annotations

import hmac
import itertools
import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Optional

from .. import evidence_chain as ec
from ..evidence_chain.quick import no_cyclic_gc, verify_intact
from .audit_chain import COMPLETION, COMPLETION_COLUMNS, DECISION, DECISION_EXTRA, head_mac

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
    with no_cyclic_gc():  # 100,000s of acyclic rows: see evidence_chain/quick.py
        return _verify(conn, key, meta)


def _verify(conn: sqlite3.Connection, key: Optional[bytes], meta) -> AuditVerification:
    walk = _Walk(conn, key)
    expected_head, expected_next = meta["head"], meta["next_seq"]
    if key is not None and meta["key_id"] == ec.key_id(key):
        mac = head_mac(key, meta["head"], meta["next_seq"])
        if not hmac.compare_digest(mac, meta["mac"] or ""):
            expected_head = expected_next = None  # the head record itself was forged: trust the chain only
            walk.problem(ec.Break("edited", len(walk.seqs), None, "the recorded head does not carry its key's MAC"), None)
    walk.finish()
    if not walk.problems:  # the common answer, "intact", over whole columns; else the walk below names the break
        intact = verify_intact(walk.seqs, walk.prevs, walk.hashes, walk.bodies, walk.kinds, key,
                               expected_head=expected_head, expected_next_seq=expected_next,
                               expected_key_id=meta["key_id"])
        if intact is not None:
            return AuditVerification(meta["chain_id"], intact)
    result = ec.verify(walk.sealed(), key, expected_head=expected_head, expected_next_seq=expected_next,
                       expected_key_id=meta["key_id"])
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


_DECISION_KEYS = ("kind",) + _AUDIT_COLUMNS + ("seq", "prev_hash")
_DECISION_BODY = ec.FlatRecord(_DECISION_KEYS)
_COMPLETION_BODY = ec.FlatRecord(("kind", "ref") + COMPLETION_COLUMNS + ("seq", "prev_hash"))


_COST_MARK = "\x01"  # never raw in canonical JSON (controls are escaped): a safe placeholder


def _body_sql(kind: str, keys: tuple, *, as_bytes: bool = False) -> str:
    """The canonical body of a record, written by SQLite from its row; a REAL (``cost``),
    which SQLite writes unlike RFC 8785, is left as ``_COST_MARK`` for Python to fill.
    ``as_bytes``: the UTF-8 bytes (a BLOB), ready to hash."""
    source = {"kind": f"'\"{kind}\"'", "seq": "c.seq", "prev_hash": "json_quote(c.prev_hash)",
              "ref": "json_quote(c.ref)", "cost": f"CASE WHEN a.cost IS NULL THEN 'null' ELSE '{_COST_MARK}' END"}
    ordered = sorted(keys)  # ASCII keys: code point order is RFC 8785's
    template = "{" + ",".join(f"{json.dumps(key)}:%s" for key in ordered) + "}"  # one buffer, not n concatenations
    values = ", ".join(source.get(key, f"json_quote(a.{key})") for key in ordered)
    body = f"printf('{template}', {values})"
    if as_bytes:
        body = f"CAST({body} AS BLOB)"
    return f"CASE WHEN c.kind = '{kind}' AND a.seq IS NOT NULL THEN {body} END"


_DECISION_SQL = _body_sql(DECISION, _DECISION_KEYS, as_bytes=True)
_COMPLETION_SQL = _body_sql(COMPLETION, ("kind", "ref") + COMPLETION_COLUMNS + ("seq", "prev_hash"))
_PROBE = "".join(map(chr, range(128))) + "é€\u2028\ufeff\U0001f600 \"quoted\" back\\slash"


def _sqlite_quotes_as_jcs(conn: sqlite3.Connection) -> bool:
    """Whether this SQLite's ``json_quote`` escapes strings exactly as RFC 8785 (checked, not assumed),
    in a UTF-8 database."""
    try:
        quoted = conn.execute("SELECT json_quote(?), json_quote(NULL)", (_PROBE,)).fetchone()
        encoding = conn.execute("PRAGMA encoding").fetchone()[0]
    except sqlite3.Error:
        return False
    if encoding != "UTF-8":  # a BLOB cast of a body is its text in the database's encoding
        return False
    return tuple(quoted) == (ec.canonical(_PROBE).decode("utf-8"), "null")


class _Walk:
    """Reads the chain joined to the audit rows, building what ``ec.verify`` walks.

    The body of a decision, and of the newest completion of a row, is rebuilt from the row
    itself, so a row edited after the fact no longer matches its record's hash. When the
    stored record still matches its hash, the row is what changed, and the field is named.
    """

    def __init__(self, conn: sqlite3.Connection, key: Optional[bytes]) -> None:
        self.conn = conn
        self.key = key
        # The chain as columns (what ``verify_intact`` takes; ``sealed()`` for ``ec.verify``).
        self.seqs: list = []
        self.prevs: list = []
        self.hashes: list = []
        self.bodies: list[bytes] = []
        self.kinds: list = []
        self.refs: list[Optional[str]] = []
        self.problems: list[tuple[ec.Break, Optional[str]]] = []
        self.unchained: list[tuple[int, int, str]] = []  # rows with completion fields but no completion record
        self.audit_seqs: list[tuple[int, int, int]] = []  # (audit row seq, position, seq) of decisions
        newest = dict(conn.execute(f"SELECT ref, MAX(seq) FROM audit_chain WHERE kind = '{COMPLETION}' GROUP BY ref"))
        in_sql = _sqlite_quotes_as_jcs(conn)
        if in_sql:
            decision, completion = _DECISION_SQL, f"{_COMPLETION_SQL}, a.cost"
        else:
            decision = ", ".join(f"a.{c}" for c in _AUDIT_COLUMNS)
            completion = ", ".join(f"CASE WHEN c.kind = '{COMPLETION}' THEN a.{c} END" for c in COMPLETION_COLUMNS)
        cursor = conn.execute(
            f"SELECT c.seq, c.kind, c.ref, c.prev_hash, c.hash, c.record, a.seq, {decision}, a.completed_at, "
            f"{completion} FROM audit_chain c LEFT JOIN audit_entries a ON a.id = c.ref "
            f"AND c.kind IN ('{DECISION}', '{COMPLETION}') ORDER BY c.seq"
        )
        cursor.row_factory = None
        n = 7 + (1 if in_sql else len(_AUDIT_COLUMNS))  # where a.completed_at is
        last_audit_seq = -1
        add_seq, add_prev, add_hash = self.seqs.append, self.prevs.append, self.hashes.append
        add_body, add_kind, refs, add_audit_seq = self.bodies.append, self.kinds.append, self.refs, self.audit_seqs.append
        rows = itertools.chain.from_iterable(iter(lambda: cursor.fetchmany(4096), []))  # plain tuples, in chunks
        for position, row in enumerate(rows):
            seq, kind, ref, prev, stored, text, audit_seq = row[:7]
            refs.append(ref)
            if kind == DECISION:
                if audit_seq is None:
                    body = b""
                    self.problem(ec.Break("deleted", position, seq, "its audit entry is gone from the audit table"), ref)
                else:
                    body = row[7] if in_sql else _DECISION_BODY.encode((DECISION, *row[7:n], seq, prev))
                    if audit_seq < last_audit_seq:
                        self._moved(audit_seq)
                    else:
                        last_audit_seq = audit_seq
                    add_audit_seq((audit_seq, position, seq))
                    if row[n] is not None and ref not in newest:  # completed_at set, never chained
                        self.unchained.append((position, seq, ref))
            elif kind == COMPLETION and audit_seq is not None and newest.get(ref) == seq:
                if in_sql:
                    cost = row[n + 2]
                    text_body = row[n + 1] if cost is None else row[n + 1].replace(_COST_MARK, ec.canonical(cost).decode())
                    body = text_body.encode("utf-8")
                else:
                    body = _COMPLETION_BODY.encode((COMPLETION, ref, *row[n + 1:], seq, prev))
                if ec.digest(body, key) != stored:
                    body = self._completion_mismatch(position, row, text, body)
            else:
                body = self._stored_body(text, kind, seq, prev)
            add_seq(seq)
            add_prev(prev)
            add_hash(stored)
            add_body(body)
            add_kind(kind)

    def sealed(self) -> list[ec.Sealed]:
        """The chain as ``Sealed`` records, for ``ec.verify``'s record-by-record walk."""
        return list(map(ec.Sealed, self.seqs, self.prevs, self.hashes, self.bodies, self.kinds))

    def _moved(self, audit_seq: int) -> None:
        """A decision whose row sits before an earlier decision's: name the first that moved."""
        _, position, seq = next(entry for entry in self.audit_seqs if entry[0] > audit_seq)
        self.problem(ec.Break("reordered", position, seq,
                              "its audit entry sits after a later decision's in the audit table"), self.refs[position])

    def _stored_body(self, text, kind, seq, prev) -> bytes:
        try:
            record = json.loads(text) if text is not None else None
        except ValueError:
            return b""
        if not isinstance(record, dict) or record.get("kind") != kind or "seq" in record or "prev_hash" in record:
            return b""  # cannot be rebuilt: never verifies
        try:
            return ec.canonical({**record, "seq": seq, "prev_hash": prev})
        except ec.ChainError:
            return b""

    def _completion_mismatch(self, position: int, row: tuple, text, rebuilt: bytes) -> bytes:
        """The row or the record changed; if the record is intact, it was the row: say which field."""
        seq, kind, ref, prev, stored = row[:5]
        body = self._stored_body(text, kind, seq, prev)
        if not body or ec.digest(body, self.key) != stored:
            return rebuilt  # the record itself was edited: the walk names it
        record = json.loads(text)
        values = self.conn.execute(f"SELECT {', '.join(COMPLETION_COLUMNS)} FROM audit_entries WHERE id = ?",
                                   (ref,)).fetchone() or ()
        field = next((c for c, v in zip(COMPLETION_COLUMNS, values) if not _same1(v, record.get(c))), "completion")
        self.problem(ec.Break("edited", position, seq, f"its audit entry's {field} differs from the chained completion"),
                     ref)
        return body

    def problem(self, broken: ec.Break, ref: Optional[str]) -> None:
        self.problems.append((broken, ref))

    def finish(self) -> None:
        """The checks that need the whole chain: unchained completions, rows outside the chain."""
        for position, seq, ref in self.unchained:
            self.problem(ec.Break("edited", position, seq,
                                  "its audit entry has completion fields that no chained completion set"), ref)
        rows = self.conn.execute("SELECT COUNT(*) FROM audit_entries").fetchone()[0]
        if rows == len({entry[0] for entry in self.audit_seqs}):
            return  # every row was reached from a decision record: none stands outside the chain
        stray = self.conn.execute(
            "SELECT a.seq, a.id FROM audit_entries a WHERE NOT EXISTS (SELECT 1 FROM audit_chain c "
            f"WHERE c.ref = a.id AND c.kind = '{DECISION}') ORDER BY a.seq LIMIT 1"
        ).fetchone()
        if stray is not None:
            audit_seq, entry = stray[0], stray[1]
            position = next((p for s, p, _ in self.audit_seqs if s > audit_seq), len(self.seqs))
            self.problem(ec.Break("inserted", position, None, "an audit entry that is not in the chain"), entry)


def _same1(a, b) -> bool:
    """Equal as JSON values: 2 and 2.0 are one number once canonical."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return a == b and type(a) is type(b)


def verify_live(store) -> AuditVerification:
    """Verify a running agent's store: its pending decisions are written first."""
    with store._lock:
        store._drain()
        return verify_connection(store._conn, store.chain.key)
