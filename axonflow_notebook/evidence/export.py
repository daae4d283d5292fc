"""`export_bundle`: the journal's records of a period as one zip an auditor can check offline.

bundle_format.py says what the zip holds. The journal is verified whole first (its result goes
in the bundle, intact or not: a broken chain is evidence too), then its rows and chain records
are read in one read transaction, so they agree. The zip is a private file (0600), written to a
temporary file and renamed into place (private_write.py): never half-written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..core.journal_chain import chain_key_from_env
from . import bundle_format as fmt
from .bundle_summary import summary_markdown
from .journal_read import period_clause, read_only
from .journal_verify import JournalVerification, verify_journal
from .periods import UTC, Period
from .private_write import private_output
from .trail import from_journal

_UNSET: Any = object()


@dataclass(frozen=True)
class ExportResult:
    path: Path
    calls: int
    chain_records: int
    verification: JournalVerification
    agent_verification: Optional[str]

    @property
    def intact(self) -> bool:
        return self.verification.intact

    def __str__(self) -> str:
        noun = "call" if self.calls == 1 else "calls"
        return f"{self.calls} {noun} exported to {self.path}; journal {self.verification}"


def _snapshot(path: Path, period: Period) -> Tuple[List[str], List[dict], List[tuple], Optional[tuple]]:
    """(columns, rows of the period, chain records (seq, call_id, hash, body), chain meta), consistently."""
    with read_only(path) as conn:
        conn.execute("BEGIN")
        try:
            where, params = period_clause(period)
            cursor = conn.execute(f"SELECT * FROM calls{where} ORDER BY created_at, rowid", params)
            columns = [d[0] for d in cursor.description]
            rows = [dict(zip(columns, row)) for row in cursor]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            chain: List[tuple] = []
            meta = None
            if {"journal_chain", "journal_chain_meta"} <= tables:
                chain = conn.execute("SELECT seq, call_id, hash, body FROM journal_chain ORDER BY seq").fetchall()
                meta = conn.execute("SELECT chain_id, key_id FROM journal_chain_meta WHERE id = 1").fetchone()
        finally:
            conn.execute("ROLLBACK")
    return columns, rows, chain, meta


def _segment(chain: Sequence[tuple], call_ids: set) -> Tuple[List[dict], str]:
    """The stretch of the chain holding every record of `call_ids`; other calls' records by hash only."""
    seqs = [seq for seq, call_id, _, _ in chain if call_id in call_ids]
    if not seqs:
        return [], "none"
    low, high = min(seqs), max(seqs)
    out: List[dict] = []
    for seq, call_id, stored, body in chain:
        if low <= seq <= high:
            if call_id in call_ids or call_id is None:  # the period's calls, and checkpoints
                out.append({"seq": seq, "hash": stored, "body": body})
            else:
                try:
                    prev = json.loads(body).get("prev_hash")
                except (TypeError, ValueError, AttributeError):
                    prev = None
                out.append({"seq": seq, "hash": stored, "prev_hash": prev})
    return out, f"#{low}..#{high} ({len(out)} records)"


def _policy_sets(agent_db: Optional[Path], versions: Dict[str, int], period: Period) -> List[dict]:
    """The sets in force over the period: the one in force when it began, those loaded in it, and
    those that decided its calls (a version this machine's agent never recorded is listed bare)."""
    history = []
    if agent_db is not None and agent_db.exists():
        from ..agent import policy_history

        history = policy_history(agent_db)
    loads = [(_parse(load.loaded_at), record) for record in history for load in record.loads]
    wanted = {record.version for when, record in loads if when is not None and period.contains(when)}
    wanted |= set(versions)
    earlier = [(when, record) for when, record in loads
               if when is not None and period.since is not None and when < period.since]
    if earlier:
        wanted.add(max(earlier, key=lambda item: item[0])[1].version)
    elif period.since is None and loads:
        wanted.add(loads[0][1].version)
    sets = [{"version": record.version, "verified": record.verified,
             "loads": [{"loaded_at": load.loaded_at, "source": load.source} for load in record.loads],
             "policies": record.policies} for record in history if record.version in wanted]
    known = {record.version for record in history}
    sets += [{"version": version, "verified": None, "loads": [], "policies": None,
              "note": "not recorded in this machine's agent store (decided by another AxonFlow)"}
             for version in versions if version not in known]
    return sets


def _parse(text: str) -> Optional[dt.datetime]:
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _yaml(sets: List[dict]) -> bytes:
    import yaml

    header = ("# The policy sets in force over the bundle's period. `version` is the SHA-256 of the\n"
              "# canonical JSON of `policies` (keys sorted, no spaces), as the agent reports it.\n")
    return (header + yaml.safe_dump(sets, sort_keys=False, allow_unicode=True)).encode("utf-8")


def default_name(now: Optional[dt.datetime] = None) -> str:
    return f"axonflow-evidence-{(now or dt.datetime.now(UTC)):%Y%m%d-%H%M%S}.zip"


def export_bundle(out: "str | os.PathLike[str] | None" = None, since: Any = None, until: Any = None, *,
                  journal: "str | os.PathLike[str] | None" = None,
                  agent_db: "str | os.PathLike[str] | None" = _UNSET, key: Any = _UNSET) -> ExportResult:
    """Write the bundle of the period to `out` (default: axonflow-evidence-<time>.zip here)."""
    from . import sources

    period = Period.of(since, until)
    journal_path = Path(journal) if journal is not None else sources.journal_path()
    agent_path = sources.agent_store() if agent_db is _UNSET else (Path(agent_db) if agent_db else None)
    key = chain_key_from_env() if key is _UNSET else key
    created = dt.datetime.now(UTC)
    target = Path(out) if out is not None else Path(default_name(created))
    verification = verify_journal(journal_path, key)
    agent_result = None
    if agent_path is not None and agent_path.exists():
        from ..agent import verify_agent_store

        agent_result = verify_agent_store(agent_path, key)
    columns, rows, chain, meta = _snapshot(journal_path, period)
    segment, segment_label = _segment(chain, {row["call_id"] for row in rows})
    trail = [from_journal(row) for row in rows]
    versions: Dict[str, int] = {}
    for row in trail:
        if row.policy_version:
            versions[row.policy_version] = versions.get(row.policy_version, 0) + 1
    sets = _policy_sets(agent_path, versions, period)
    head = verification.result.head
    files = {
        fmt.RECORDS: fmt.jsonl(rows),
        fmt.PARQUET: fmt.parquet(rows, columns),
        fmt.CHAIN: fmt.jsonl(segment),
        fmt.POLICIES: _yaml(sets),
        fmt.VERIFICATION: json.dumps({
            "journal": verification.to_json(),
            "agent_store": agent_result.to_json() if agent_result is not None else None,
            "segment": {"records": len(segment), "label": segment_label},
            "chain_id": meta[0] if meta else None, "head": head, "keyed": key is not None,
        }, indent=2, sort_keys=True).encode("utf-8"),
        fmt.SUMMARY: summary_markdown(
            rows=trail, period_label=period.label(), journal=str(journal_path), keyed=key is not None,
            verification=str(verification), agent_verification=str(agent_result) if agent_result else None,
            policy_sets=sets, segment=segment_label, created_at=created).encode("utf-8"),
    }
    info = {"created_at": created.isoformat(), "period": {"since": period.since.isoformat() if period.since else None,
                                                         "until": period.until.isoformat() if period.until else None},
            "journal": str(journal_path), "chain_id": meta[0] if meta else None, "calls": len(rows),
            "columns": columns}
    manifest = fmt.manifest(files, info, key)
    with private_output(target) as fh:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for name in fmt.FILES:
                bundle.writestr(_entry(name, created), files[name])
            bundle.writestr(_entry(fmt.MANIFEST, created), json.dumps(manifest, indent=2, sort_keys=True))
    return ExportResult(target, len(rows), len(segment), verification, str(agent_result) if agent_result else None)


def _entry(name: str, when: dt.datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


__all__ = ["export_bundle", "ExportResult", "default_name"]
