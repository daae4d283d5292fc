"""`verify_path`: one entry point for whatever evidence file is given, and the defaults.

A zip is an evidence bundle (bundle_verify.py); an SQLite file is a journal (journal_verify.py)
or an embedded agent's store (the agent package's public `verify_agent_store`). Without a path:
the journal and the agent store of the data directory, whichever exist. The chain key comes from
`AXONFLOW_CHAIN_KEY_FILE` / `AXONFLOW_CHAIN_KEY`, as for writing.
"""

from __future__ import annotations

import os
import sqlite3
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

from ..core.journal_chain import chain_key_from_env

_UNSET: Any = object()


@dataclass(frozen=True)
class Checked:
    """One file checked: what it is, where, and the verification (`intact`, `str()`, `to_json()`)."""

    kind: str  # journal | agent store | bundle
    path: str
    result: Any

    @property
    def intact(self) -> bool:
        return bool(self.result)

    def line(self) -> str:
        return f"{self.kind} {self.path}: {self.result}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "path": self.path, **self.result.to_json()}


class NotEvidence(ValueError):
    """The file is none of the kinds `verify` knows."""


def _sqlite_kind(path: str) -> Optional[str]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None
    if "calls" in tables:
        return "journal"
    if "audit_entries" in tables:
        return "agent store"
    return None


def verify_path(path: "str | os.PathLike[str]", key: Any = _UNSET) -> Checked:
    """Verify a journal, an agent store or a bundle; `FileNotFoundError` / `NotEvidence` otherwise."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name}: no such file")
    key = chain_key_from_env() if key is _UNSET else key
    if zipfile.is_zipfile(name) or name.endswith(".zip"):
        from .bundle_verify import verify_bundle

        return Checked("bundle", name, verify_bundle(name, key))
    kind = _sqlite_kind(name)
    if kind == "journal":
        from .journal_verify import verify_journal

        return Checked(kind, name, verify_journal(name, key))
    if kind == "agent store":
        from ..agent import verify_agent_store

        return Checked(kind, name, verify_agent_store(name, key))
    raise NotEvidence(f"{name} is not a journal, an agent store or an evidence bundle")


def verify_defaults(data_dir: "str | os.PathLike[str] | None" = None, key: Any = _UNSET,
                    journal: "str | os.PathLike[str] | None" = None) -> List[Checked]:
    """The journal and the agent stores of the data directory (those that exist)."""
    from . import sources

    folder = Path(data_dir) if data_dir is not None else sources.default_data_dir()
    paths = [Path(journal) if journal is not None else folder / "journal.sqlite3",
             folder / "agent.sqlite3", folder / "agent.db"]  # the local agent's, `axonflow-notebook agent`'s
    found = [p for p in paths if p.exists()]
    if not found:
        raise FileNotFoundError(f"no journal or agent store in {folder} (give a PATH to verify)")
    return [verify_path(p, key) for p in found]


__all__ = ["verify_path", "verify_defaults", "Checked", "NotEvidence"]
