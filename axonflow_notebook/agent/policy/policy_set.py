"""What identifies a policy set, and what changed between two of them.

The version is a SHA-256 over a canonical JSON of the effective set (every policy as this
agent enforces it, in evaluation order; keys sorted, no insignificant whitespace), so two
agents enforcing the same policies report the same version, whatever file they came from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Sequence

from .models import Policy


def _canonical(policy: Policy) -> dict:
    return asdict(policy)


def canonical_policies(policies: Sequence[Policy]) -> str:
    """The canonical JSON the version hashes (also what the agent records for each version)."""
    return json.dumps([_canonical(p) for p in policies], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)


def policy_version(policies: Sequence[Policy]) -> str:
    return hashlib.sha256(canonical_policies(policies).encode("utf-8")).hexdigest()


def policy_diff(old: Sequence[Policy], new: Sequence[Policy]) -> tuple[list[str], list[str], list[str]]:
    """Ids added, changed (any field differs) and removed, each in evaluation order."""
    before = {p.id: p for p in old}
    after = {p.id: p for p in new}
    added = [p.id for p in new if p.id not in before]
    changed = [p.id for p in new if p.id in before and before[p.id] != p]
    removed = [p.id for p in old if p.id not in after]
    return added, changed, removed
