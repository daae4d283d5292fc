"""Every policy set an agent put in force: its version, its policies, when and from where.

Read from the agent's store (read only): the `policy_load` records of its audit chain
(audit_chain.py) and the policy sets kept by version. Evidence bundles
(axonflow_notebook/evidence/export.py) list the sets in force over a period from this. A set's
policies are the canonical JSON its version hashes (policy/policy_set.py), so a reader can check
that the policies are the ones that version names.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from typing import List, Tuple


@dataclass(frozen=True)
class PolicyLoad:
    loaded_at: str  # RFC 3339, UTC
    source: str


@dataclass(frozen=True)
class PolicySetRecord:
    version: str  # sha256 of `canonical`
    canonical: str  # the canonical JSON of the set's policies, in evaluation order
    loads: Tuple[PolicyLoad, ...]  # every time it was put in force, oldest first

    @property
    def policies(self) -> list:
        return json.loads(self.canonical)

    @property
    def verified(self) -> bool:
        return hashlib.sha256(self.canonical.encode("utf-8")).hexdigest() == self.version


def policy_history(db_path: "str | os.PathLike[str]") -> List[PolicySetRecord]:
    """The policy sets recorded in an agent database, in the order they were first loaded."""
    name = os.fspath(db_path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name}: no such agent database")
    conn = sqlite3.connect(f"file:{name}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"audit_chain", "policy_sets"} <= tables:
            return []
        loads = conn.execute("SELECT ref, record FROM audit_chain WHERE kind = 'policy_load' ORDER BY seq").fetchall()
        sets = dict(conn.execute("SELECT version, policies FROM policy_sets").fetchall())
    finally:
        conn.close()
    order: List[str] = []
    seen: dict = {}
    for version, text in loads:
        record = json.loads(text or "{}")
        if version not in seen:
            order.append(version)
            seen[version] = []
        seen[version].append(PolicyLoad(str(record.get("loaded_at", "")), str(record.get("source", ""))))
    return [PolicySetRecord(v, sets[v], tuple(seen[v])) for v in order if v in sets]


__all__ = ["PolicyLoad", "PolicySetRecord", "policy_history"]
