"""The evidence bundle's format: its files, its manifest, its records in two encodings.

A zip holding (format `axonflow-evidence-bundle/1`):

- `records.jsonl`: the journal's rows of the period, every column as stored, one JSON object a line;
- `records.parquet`: the same rows as a typed table (pyarrow);
- `chain.jsonl`: the stretch of the journal's hash chain that holds every record of those calls
  (`seq`, `hash`, `body`: the exact bytes hashed). Records of calls outside the period keep their
  `seq`, `hash` and `prev_hash` but not their content, so the stretch links end to end without
  disclosing other calls;
- `policies.yaml`: the policy sets in force over the period, each with its version hash;
- `verification.json`: the journal's (and the agent store's) verification at export, and the head;
- `summary.md`: a short human-readable account;
- `manifest.json`: the SHA-256 of every other file (and, with a chain key, their HMAC).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .. import evidence_chain as ec

FORMAT = "axonflow-evidence-bundle/1"
RECORDS, PARQUET, CHAIN, POLICIES = "records.jsonl", "records.parquet", "chain.jsonl", "policies.yaml"
VERIFICATION, SUMMARY, MANIFEST = "verification.json", "summary.md", "manifest.json"
FILES = (RECORDS, PARQUET, CHAIN, POLICIES, VERIFICATION, SUMMARY)


def jsonl(rows: Sequence[Mapping[str, Any]]) -> bytes:
    return b"".join(json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n" for row in rows)


def read_jsonl(data: bytes) -> List[dict]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def _arrow_type(values: Sequence[Any]) -> Any:
    import pyarrow as pa

    kinds = {type(v) for v in values if v is not None}
    if not kinds or kinds == {str}:
        return pa.string()
    if kinds == {int}:
        return pa.int64()
    if kinds <= {int, float}:
        return pa.float64()
    return None  # mixed: stored as JSON text


def parquet(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """The rows as a Parquet table, one typed column per journal column."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("the bundle's Parquet file needs pyarrow: "
                          "pip install 'axonflow-notebook[evidence]'") from None
    arrays, names = [], []
    for name in columns:
        values = [row.get(name) for row in rows]
        kind = _arrow_type(values)
        if kind is None:
            arrays.append(pa.array([None if v is None else json.dumps(v) for v in values], pa.string()))
        else:
            arrays.append(pa.array([float(v) if v is not None and kind == pa.float64() else v for v in values], kind))
        names.append(name)
    table = pa.Table.from_arrays(arrays, names=names)
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def read_parquet(data: bytes) -> List[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pylist()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_mac(key: bytes, files: Mapping[str, Any]) -> str:
    return hmac.digest(key, b"axonflow evidence bundle\n" + ec.canonical(dict(files)), "sha256").hex()


def manifest(files: Mapping[str, bytes], info: Mapping[str, Any], key: Optional[bytes]) -> Dict[str, Any]:
    listed = {name: {"sha256": sha256(data), "bytes": len(data)} for name, data in sorted(files.items())}
    out = {"format": FORMAT, **info, "files": listed, "key_id": ec.key_id(key) if key else None}
    out["mac"] = manifest_mac(key, listed) if key else None
    return out


__all__ = ["FORMAT", "FILES", "RECORDS", "PARQUET", "CHAIN", "POLICIES", "VERIFICATION", "SUMMARY", "MANIFEST",
           "jsonl", "read_jsonl", "parquet", "read_parquet", "sha256", "manifest", "manifest_mac"]
