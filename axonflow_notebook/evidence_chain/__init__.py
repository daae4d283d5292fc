"""Tamper evidence for append-only logs: a hash chain over RFC 8785 canonical JSON.

A record is chained by ``seq`` (0, 1, 2, … in append order) and ``prev_hash`` (the hash of
the record before it; 64 zeros for the first). Its ``hash`` is SHA-256 over the RFC 8785
(https://www.rfc-editor.org/rfc/rfc8785) canonical JSON of the record with those two
fields, or HMAC-SHA256 with a key, so that whoever can write the log but lacks the key
cannot recompute it after an edit: ``hash = sha256(jcs({**record, "seq": s, "prev_hash": p}))``.

``verify`` answers "intact" with the count and head hash, or names the first broken record
and how: edited, deleted, inserted, reordered, truncated (given the head kept elsewhere) or
wrong_key. Pruning a prefix appends a checkpoint record naming the last pruned ``seq`` and
hash, so the rest still verifies. A leaf module (stdlib and ``rfc8785``), shared by the
agent's audit table and the notebook's journal; canonical JSON lives in ``canonical.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, NamedTuple, Optional, Union

from .canonical import ChainError, FlatRecord, canonical

__all__ = [
    "GENESIS_HASH", "CHECKPOINT", "ChainError", "Sealed", "ChainWriter", "Break", "Verification",
    "FlatRecord", "canonical", "digest", "key_id", "load_key", "seal", "checkpoint_record", "verify",
]

GENESIS_HASH = "0" * 64
CHECKPOINT = "checkpoint"  # the ``kind`` of a checkpoint record
_CHAIN_FIELDS = ("seq", "prev_hash", "hash")
_MIN_KEY_BYTES = 16
_UNKNOWN: Any = object()  # ``verify``: the chain's key id was not given


def digest(body: bytes, key: Optional[bytes] = None) -> str:
    """Hex SHA-256 of ``body``, or HMAC-SHA256 with ``key``."""
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.digest(key, body, "sha256").hex()


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key, to tell "wrong key" from "edited" at once."""
    return hmac.digest(key, b"axonflow evidence chain: key id", "sha256").hex()[:16]


def load_key(value: Union[str, bytes, None] = None, *, path: Union[str, os.PathLike, None] = None) -> Optional[bytes]:
    """A chain key from a value or an owner-only key file (stripped text); None for neither.
    A key has at least 16 bytes; ``ChainError`` says what to fix otherwise."""
    if path is not None:
        name = os.fspath(path)
        try:
            info = os.stat(name)
            with open(name, "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ChainError(f"chain key file {name}: cannot read it ({exc.strerror or exc})") from None
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ChainError(f"chain key file {name} is open to other users; run: chmod 600 {name}")
        value = raw.strip()
    if value is None:
        return None
    key = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if len(key) < _MIN_KEY_BYTES:
        raise ChainError(f"a chain key must be at least {_MIN_KEY_BYTES} bytes (32 random bytes recommended)")
    return key



class Sealed(NamedTuple):
    """One chained record as stored: its place, its link, its hash and the bytes hashed.

    ``body`` is the canonical JSON of the record with ``seq`` and ``prev_hash``; ``kind`` is
    the record's ``kind`` field (if any), so checkpoints are found without parsing bodies.
    """

    seq: int
    prev_hash: str
    hash: str
    body: bytes
    kind: str = ""

    def record(self) -> dict:
        """The record as written (without its chain fields)."""
        return {k: v for k, v in json.loads(self.body).items() if k not in _CHAIN_FIELDS}

    def as_dict(self) -> dict:
        """The record with ``seq``, ``prev_hash`` and ``hash``: the form ``verify`` takes."""
        return {**json.loads(self.body), "hash": self.hash}


def seal(record: Mapping, seq: int, prev_hash: str, key: Optional[bytes] = None) -> Sealed:
    """``record`` chained at ``seq`` after the record whose hash is ``prev_hash``."""
    clash = [name for name in _CHAIN_FIELDS if name in record]
    if clash:
        raise ChainError(f"a chained record may not have its own {', '.join(clash)} field")
    body = canonical({**record, "seq": seq, "prev_hash": prev_hash})
    kind = record.get("kind")
    return Sealed(seq, prev_hash, digest(body, key), body, kind if isinstance(kind, str) else "")


class ChainWriter:
    """Appends records to one chain. Not thread-safe: the owner of the log serialises it."""

    def __init__(self, key: Optional[bytes] = None, *, head: str = GENESIS_HASH, next_seq: int = 0) -> None:
        self.key = key
        self.head = head
        self.next_seq = next_seq

    def seal(self, record: Mapping) -> Sealed:
        sealed = seal(record, self.next_seq, self.head, self.key)
        self.head, self.next_seq = sealed.hash, sealed.seq + 1
        return sealed

    def checkpoint(self, last_pruned: Sealed, pruned_count: int, reason: str = "retention") -> Sealed:
        """Append the checkpoint for a prefix about to be pruned (ending at ``last_pruned``)."""
        return self.seal(checkpoint_record(last_pruned.seq, last_pruned.hash, pruned_count, reason))

    def state(self) -> tuple[str, int]:
        return self.head, self.next_seq

    def restore(self, state: tuple[str, int]) -> None:
        """Back to an earlier ``state()``: the owner rolled back what it appended since."""
        self.head, self.next_seq = state


def checkpoint_record(through_seq: int, head: str, pruned_count: int, reason: str = "retention") -> dict:
    """The record that lets a log verify after records ``..through_seq`` are pruned."""
    return {"kind": CHECKPOINT, "pruned_through_seq": through_seq, "pruned_head": head,
            "pruned_count": pruned_count, "reason": reason}



@dataclass(frozen=True)
class Break:
    """The first broken record: its position in the log as given, its ``seq``, how it broke."""

    kind: str  # edited | deleted | inserted | reordered | truncated | wrong_key
    position: int
    seq: Optional[int]
    detail: str


@dataclass(frozen=True)
class Verification:
    """The answer of ``verify``; true when intact."""

    intact: bool
    count: int
    head: Optional[str]
    first_seq: Optional[int]
    keyed: bool
    broken: Optional[Break] = None
    checkpoints: int = 0

    def __bool__(self) -> bool:
        return self.intact

    def __str__(self) -> str:
        if self.intact:
            return f"intact: {self.count} records, head {self.head}"
        b = self.broken
        if b.kind == "inserted" or b.seq is None:
            where = f"position {b.position}" + (f" (a record claiming #{b.seq})" if b.seq is not None else "")
        else:
            where = f"record #{b.seq}"
        return f"broken at {where}: {b.kind} ({b.detail})"

    def to_json(self) -> dict:
        data = {"intact": self.intact, "count": self.count, "head": self.head,
                "first_seq": self.first_seq, "keyed": self.keyed, "checkpoints": self.checkpoints,
                "summary": str(self)}
        if self.broken is not None:
            data["broken"] = {"kind": self.broken.kind, "position": self.broken.position,
                              "seq": self.broken.seq, "detail": self.broken.detail}
        return data


class _Item(NamedTuple):
    seq: Any
    prev: Any
    stored: Any
    ok: bool
    kind: str
    source: Any


def _item(record: Union[Mapping, Sealed], key: Optional[bytes], flats: Optional[dict] = None) -> _Item:
    """A record to walk; ``flats`` caches a ``FlatRecord`` per key layout of mapping records."""
    if isinstance(record, Sealed):
        ok = hmac.compare_digest(digest(record.body, key), record.hash)
        return _Item(record.seq, record.prev_hash, record.hash, ok, record.kind, record)
    stored = record.get("hash")
    try:
        layout = tuple(record)
        flat = flats.get(layout) if flats is not None else None
        if flat is None and flats is not None and len(flats) < 64 and "hash" in layout:
            flat = flats[layout] = FlatRecord([k for k in layout if k != "hash"])
        if flat is not None:
            body = flat.encode([v for k, v in record.items() if k != "hash"])
        else:
            body = canonical({k: v for k, v in record.items() if k != "hash"})
        ok = isinstance(stored, str) and hmac.compare_digest(digest(body, key), stored)
    except (ChainError, ValueError):
        ok = False
    kind = record.get("kind")
    return _Item(record.get("seq"), record.get("prev_hash"), stored, ok, kind if isinstance(kind, str) else "", record)


def _anchor(items: list[_Item]) -> tuple[str, Any, int]:
    """(expected prev_hash, expected seq, checkpoints used) for the first record."""
    first = items[0]
    if first.prev == GENESIS_HASH and first.seq == 0:
        return GENESIS_HASH, 0, 0
    if isinstance(first.seq, int):
        for item in items:
            if item.ok and item.kind == CHECKPOINT:
                fields = item.source.record() if isinstance(item.source, Sealed) else item.source
                if fields.get("pruned_through_seq") == first.seq - 1 and fields.get("pruned_head") == first.prev:
                    return first.prev, first.seq, 1
    return GENESIS_HASH, 0, 0


def _unlinked(items: list[_Item], i: int, exp_seq: Any) -> Break:
    """How record ``i``, intact on its own, fails to follow the record before it."""
    item = items[i]
    if i > 0 and items[i - 1].ok and item.prev == items[i - 1].prev:
        genuine = i + 1 < len(items) and items[i + 1].prev == item.stored
        j = i - 1 if genuine else i
        return Break("inserted", j, items[j].seq, "two records claim the same predecessor; this one is not in the chain")
    if isinstance(item.seq, int) and isinstance(exp_seq, int):
        if item.seq > exp_seq:
            if any(later.seq == exp_seq for later in items[i + 1:]):
                return Break("reordered", i, item.seq, f"record #{item.seq} comes before record #{exp_seq}")
            missing = f"record #{exp_seq} is" if item.seq == exp_seq + 1 else f"records #{exp_seq}..#{item.seq - 1} are"
            return Break("deleted", i, exp_seq, f"{missing} missing before record #{item.seq}")
        if item.seq < exp_seq:
            if any(earlier.seq == item.seq for earlier in items[:i]):
                return Break("inserted", i, item.seq, f"a second record #{item.seq} appears after record #{exp_seq - 1}")
            return Break("reordered", i, item.seq, f"record #{item.seq} comes after record #{exp_seq - 1}")
    return Break("edited", i, item.seq, "its link to the record before it does not match")


def _wrong_key(items: list[_Item], key: Optional[bytes], expected_key_id: Any) -> Break:
    if key is None:
        detail = "no record verifies without a key: the chain is keyed (HMAC-SHA256); give its key"
    elif expected_key_id is None or (expected_key_id is _UNKNOWN and _item(items[0].source, None).ok):
        detail = "no record verifies with this key: the chain was written without a key"
    else:
        detail = "no record verifies with this key: the chain was written with another key"
    return Break("wrong_key", 0, items[0].seq, detail)


def verify(
    records: Iterable[Union[Mapping, Sealed]],
    key: Optional[bytes] = None,
    *,
    expected_head: Optional[str] = None,
    expected_next_seq: Optional[int] = None,
    expected_key_id: Any = _UNKNOWN,
) -> Verification:
    """Walk a log in stored order and say whether it is intact, or where and how it broke.

    ``records`` are ``Sealed`` records or mappings holding a record with its ``seq``,
    ``prev_hash`` and ``hash``. ``expected_head`` / ``expected_next_seq`` (the head hash and
    the number of records ever appended, kept apart from the log) reveal a cut tail;
    ``expected_key_id`` (``key_id`` of the chain's key, or None for an unkeyed chain; leave
    it out when unknown) tells a wrong key from an edit even for a one-record log.
    """
    flats: dict = {}
    items = [_item(r, key, flats) for r in records]
    keyed = key is not None
    if not items:
        if expected_next_seq:
            return Verification(False, 0, None, None, keyed,
                                Break("truncated", 0, 0, f"the log is empty but {expected_next_seq} records were written"))
        return Verification(True, 0, GENESIS_HASH, None, keyed)
    if expected_key_id is not _UNKNOWN and expected_key_id != (key_id(key) if key is not None else None):
        return Verification(False, 0, None, items[0].seq, keyed, _wrong_key(items, key, expected_key_id))
    if len(items) > 1 and not any(item.ok for item in items):
        return Verification(False, 0, None, items[0].seq, keyed, _wrong_key(items, key, _UNKNOWN))
    exp_prev, exp_seq, checkpoints = _anchor(items)
    for i, item in enumerate(items):
        if not item.ok:
            nxt = items[i + 1] if i + 1 < len(items) else None
            if nxt is not None and nxt.ok and nxt.prev == exp_prev and nxt.seq == exp_seq:
                broken = Break("inserted", i, item.seq, "it is not in the chain: the next record links to the one before it")
            else:
                broken = Break("edited", i, item.seq, "its content no longer matches its hash")
            return Verification(False, i, exp_prev, items[0].seq, keyed, broken, checkpoints)
        if item.prev == exp_prev and item.seq == exp_seq:
            exp_prev, exp_seq = item.stored, item.seq + 1
            continue
        broken = _unlinked(items, i, exp_seq)
        return Verification(False, broken.position, exp_prev, items[0].seq, keyed, broken, checkpoints)
    tail = _tail_break(items, exp_seq, exp_prev, expected_head, expected_next_seq)
    if tail is not None:
        return Verification(False, len(items), exp_prev, items[0].seq, keyed, tail, checkpoints)
    return Verification(True, len(items), exp_prev, items[0].seq, keyed, None, checkpoints)


def _tail_break(items: list[_Item], next_seq: int, head: str, expected_head: Optional[str],
                expected_next_seq: Optional[int]) -> Optional[Break]:
    if expected_next_seq is not None and next_seq < expected_next_seq:
        missing = f"#{next_seq}" if next_seq + 1 == expected_next_seq else f"#{next_seq}..#{expected_next_seq - 1}"
        return Break("truncated", len(items), next_seq,
                     f"the log ends at record #{next_seq - 1} but {expected_next_seq} were written: {missing} cut off")
    if expected_next_seq is not None and next_seq > expected_next_seq:
        at = next(i for i, item in enumerate(items) if item.seq == expected_next_seq)
        return Break("inserted", at, expected_next_seq,
                     f"records after the recorded head (#{expected_next_seq - 1}) were appended later")
    if expected_head is not None and head != expected_head:
        for i, item in enumerate(items):
            if item.stored == expected_head and i + 1 < len(items):
                return Break("inserted", i + 1, items[i + 1].seq, "records after the recorded head were appended later")
        return Break("truncated", len(items), next_seq, "the last record is not the recorded head")
    return None
