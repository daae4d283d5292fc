"""`verify_bundle`: re-check an evidence bundle offline, and name the first thing that is wrong.

In order: the zip itself (readable, every member's CRC), the manifest (present, every file listed
and no other, each file's SHA-256; with the chain key, the manifest's HMAC), the chain stretch
(each record's hash, recomputed when the chain is unkeyed or the key is given; each link to the
record before it), the records against the chain (each call's chained records folded give its
row, every column), the Parquet file against the JSON Lines file, and each policy set against its
version hash. Without the key a keyed bundle's hashes cannot be recomputed: the answer says so.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .. import evidence_chain as ec
from . import bundle_format as fmt
from .journal_verify import _same


class BundleBroken(Exception):
    """The first problem found: `where` (a file) and `what`."""

    def __init__(self, where: str, what: str) -> None:
        self.where, self.what = where, what
        super().__init__(f"{where}: {what}")


@dataclass(frozen=True)
class BundleVerification:
    path: str
    intact: bool
    summary: str
    calls: int = 0
    chain_records: int = 0
    head: Optional[str] = None
    notes: Tuple[str, ...] = field(default=())
    where: Optional[str] = None

    def __bool__(self) -> bool:
        return self.intact

    def __str__(self) -> str:
        return self.summary + "".join(f" ({note})" for note in self.notes)

    def to_json(self) -> dict:
        return {"path": self.path, "intact": self.intact, "summary": str(self), "calls": self.calls,
                "chain_records": self.chain_records, "head": self.head, "where": self.where,
                "notes": list(self.notes)}


def _read(path: str) -> Dict[str, bytes]:
    try:
        bundle = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleBroken(os.path.basename(path), f"not a readable zip ({exc})") from None
    with bundle:
        files: Dict[str, bytes] = {}
        for info in bundle.infolist():
            try:
                files[info.filename] = bundle.read(info)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # a CRC or deflate error
                raise BundleBroken(info.filename, f"damaged in the zip ({exc})") from None
            except Exception as exc:  # zlib.error and friends: the member's bytes were altered
                raise BundleBroken(info.filename, f"damaged in the zip ({type(exc).__name__}: {exc})") from None
    return files


def _manifest(files: Dict[str, bytes], key: Optional[bytes], notes: List[str]) -> dict:
    if fmt.MANIFEST not in files:
        raise BundleBroken(fmt.MANIFEST, "missing")
    try:
        manifest = json.loads(files[fmt.MANIFEST])
    except ValueError:
        raise BundleBroken(fmt.MANIFEST, "not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt.FORMAT:
        raise BundleBroken(fmt.MANIFEST, f"not an {fmt.FORMAT} manifest")
    listed = manifest.get("files") or {}
    for name in sorted(set(files) - {fmt.MANIFEST}):
        if name not in listed:
            raise BundleBroken(name, "in the zip but not in the manifest (added)")
    for name in sorted(listed):
        if name not in files:
            raise BundleBroken(name, "listed in the manifest but missing from the zip (removed)")
        if not hmac.compare_digest(fmt.sha256(files[name]), str(listed[name].get("sha256", ""))):
            raise BundleBroken(name, "its SHA-256 does not match the manifest (edited)")
    key_id = manifest.get("key_id")
    if key_id:
        if key is None:
            notes.append("keyed bundle: give its chain key to check the manifest's HMAC and the records' hashes")
        elif ec.key_id(key) != key_id:
            raise BundleBroken(fmt.MANIFEST, "written with another chain key")
        elif not hmac.compare_digest(fmt.manifest_mac(key, listed), str(manifest.get("mac") or "")):
            raise BundleBroken(fmt.MANIFEST, "its HMAC does not match (the manifest was rewritten)")
    return manifest


def _chain(files: Dict[str, bytes], key: Optional[bytes], keyed: bool) -> Tuple[List[dict], Optional[str]]:
    """The chain stretch's full records (checked) and the stretch's last hash."""
    try:
        lines = fmt.read_jsonl(files[fmt.CHAIN])
    except (ValueError, UnicodeDecodeError):
        raise BundleBroken(fmt.CHAIN, "not JSON Lines") from None
    can_hash = not keyed or key is not None
    records: List[dict] = []
    previous: Optional[Tuple[int, str]] = None
    for line in lines:
        seq, stored = line.get("seq"), line.get("hash")
        body = line.get("body")
        if body is not None:
            record = json.loads(body)
            if record.get("seq") != seq:
                raise BundleBroken(fmt.CHAIN, f"record #{seq}: its content says it is #{record.get('seq')} (edited)")
            if can_hash and not hmac.compare_digest(ec.digest(body.encode("utf-8"), key), str(stored)):
                raise BundleBroken(fmt.CHAIN, f"record #{seq}: its content no longer matches its hash (edited)")
            prev = record.get("prev_hash")
            records.append(record)
        else:
            prev = line.get("prev_hash")
        if previous is not None:
            if seq != previous[0] + 1:
                kind = "deleted" if seq > previous[0] + 1 else "reordered"
                raise BundleBroken(fmt.CHAIN, f"record #{seq} follows record #{previous[0]} ({kind})")
            if prev != previous[1]:
                raise BundleBroken(fmt.CHAIN, f"record #{seq} does not link to record #{previous[0]} (edited)")
        previous = (seq, str(stored))
    return records, previous[1] if previous else None


def _records(files: Dict[str, bytes], chained: List[dict]) -> List[dict]:
    try:
        rows = fmt.read_jsonl(files[fmt.RECORDS])
    except (ValueError, UnicodeDecodeError):
        raise BundleBroken(fmt.RECORDS, "not JSON Lines") from None
    fold: Dict[str, Dict[str, Any]] = {}
    for record in chained:
        if record.get("kind") != "call":
            continue
        state = fold.setdefault(record["call_id"], {})
        if record.get("op") == "insert":
            state.clear()
        state.update(record.get("set") or {})
    for row in rows:
        expected = fold.get(row.get("call_id"))
        if expected is None:
            raise BundleBroken(fmt.RECORDS, f"call {row.get('call_id')}: no chained record describes it (inserted)")
        for column in set(row) | set(expected):
            if not _same(row.get(column), expected.get(column)):
                raise BundleBroken(fmt.RECORDS, f"call {row.get('call_id')}: {column} differs from its chained "
                                                "record (edited)")
    return rows


def _parquet(files: Dict[str, bytes], rows: List[dict]) -> None:
    try:
        table = fmt.read_parquet(files[fmt.PARQUET])
    except ImportError:
        raise
    except Exception as exc:
        raise BundleBroken(fmt.PARQUET, f"not a readable Parquet file ({type(exc).__name__})") from None
    if len(table) != len(rows):
        raise BundleBroken(fmt.PARQUET, f"{len(table)} rows, but records.jsonl holds {len(rows)}")
    for stored, row in zip(table, rows):
        for column, value in row.items():
            other = stored.get(column)
            if not _same(other, value) and not _same_json(other, value):
                raise BundleBroken(fmt.PARQUET, f"call {row.get('call_id')}: {column} differs from records.jsonl")


def _same_json(stored: Any, value: Any) -> bool:
    """A column of mixed types is kept in Parquet as JSON text (bundle_format.parquet)."""
    if not isinstance(stored, str):
        return False
    try:
        return _same(json.loads(stored), value)
    except ValueError:
        return False


def _policies(files: Dict[str, bytes]) -> None:
    import yaml

    try:
        sets = yaml.safe_load(files[fmt.POLICIES]) or []
    except yaml.YAMLError:
        raise BundleBroken(fmt.POLICIES, "not YAML") from None
    for entry in sets:
        policies = entry.get("policies")
        if policies is None:
            continue
        text = json.dumps(policies, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != entry.get("version"):
            raise BundleBroken(fmt.POLICIES, f"policy set {str(entry.get('version'))[:12]}…: its policies do not "
                                             "hash to its version (edited)")


def verify_bundle(path: "str | os.PathLike[str]", key: Optional[bytes] = None) -> BundleVerification:
    """Check the bundle at `path` offline; `str()` of the answer says what was found."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name}: no such bundle")
    notes: List[str] = []
    try:
        files = _read(name)
        manifest = _manifest(files, key, notes)
        keyed = bool(manifest.get("key_id"))
        chained, last = _chain(files, key, keyed)
        rows = _records(files, chained)
        _parquet(files, rows)
        _policies(files)
    except BundleBroken as exc:
        return BundleVerification(name, False, f"broken: {exc.where}: {exc.what}", where=exc.where)
    lines = len(fmt.read_jsonl(files[fmt.CHAIN]))
    summary = (f"intact: bundle of {len(rows)} calls, {lines} chain records, head {last}" if last
               else f"intact: bundle of {len(rows)} calls")
    return BundleVerification(name, True, summary, len(rows), lines, last, tuple(notes))


__all__ = ["verify_bundle", "BundleVerification"]
