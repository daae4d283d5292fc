"""Policy sets to evaluate prompts with, off any agent: the engine side of ``what_if``.

``PolicySet.current(data_dir)`` is the set the user's agent last put in force (read from its
store, where every load is recorded with its policies), ``PolicySet.from_yaml`` a draft.
``evaluate(prompt)`` decides exactly as the agent's pre-check would under that set, with no
agent, no audit record and no network; it takes a few hundred microseconds for a prompt of
500 characters against the whole catalogue (bench/bench_policy_replay.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Iterable, Optional

from .policy import PolicyEngine
from .policy.custom import parse_custom_entries
from .policy.models import Policy
from .policy.policy_set import policy_diff

DB_NAME = "agent.sqlite3"  # as local.py names the store of a data directory
CATALOGUE = "built-in catalogue"


@dataclass(frozen=True)
class Match:
    """One policy that matched: where (character spans into the prompt, end exclusive) and what it does."""

    policy_id: str
    name: str
    category: str
    action: str
    priority: int
    position: int  # its place in the evaluation order (0 = evaluated first)
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Evaluation:
    """What the pre-check would decide for a prompt under one policy set."""

    decision: str  # allowed | redacted | needs_approval | blocked
    approved: bool
    policy_ids: tuple[str, ...]  # the matched policies, in evaluation order
    matches: tuple[Match, ...]
    stopped_by: Optional[str]  # the blocking policy that ended evaluation, if any
    block_reason: Optional[str]
    requires_redaction: bool
    redacted_query: Optional[str]
    version: str  # the policy set's version


@dataclass(frozen=True)
class PolicyDiff:
    added: list[str]
    changed: list[str]
    removed: list[str]


class PolicySet:
    """An immutable policy set: its version, its policies in evaluation order, an evaluator."""

    def __init__(self, engine: PolicyEngine, source: str) -> None:
        self._engine = engine
        self.source = source
        enabled = [p for p in engine.policies() if p.enabled]
        self._position = {p.id: i for i, p in enumerate(enabled)}
        self.order: tuple[str, ...] = tuple(p.id for p in enabled)

    @property
    def version(self) -> str:
        """The SHA-256 of the effective set, as the agent reports it (``policy_bundle``)."""
        return self._engine.version

    @property
    def policies(self) -> list[Policy]:
        """Every policy (disabled ones too) in evaluation order: priority descending."""
        return self._engine.policies()

    def __repr__(self) -> str:
        return f"PolicySet({len(self.order)} enabled policies, version {self.version[:12]}…, from {self.source})"

    @classmethod
    def from_yaml(cls, text: str, *, source: str, include_catalogue: bool = True) -> "PolicySet":
        """A draft from the text of a policy file, validated as the agent validates it.

        Raises ``PolicyFileError`` with one line per problem, each led by ``source``.
        """
        if include_catalogue:
            return cls(PolicyEngine.from_text(text, source), source)
        custom = parse_custom_entries(text, source, allow_blank=True)
        return cls(PolicyEngine._from_entries((), custom, None), source)

    @classmethod
    def current(cls, data_dir=None, policies=None) -> "PolicySet":
        """The set in force: the built-in catalogue plus ``policies`` (a policy file path) if
        given, else the set the agent of ``data_dir`` last put in force, else the catalogue."""
        if policies is not None:
            path = os.fspath(policies)
            return cls(PolicyEngine.load(custom_path=path), path)
        if data_dir is not None:
            found = _last_loaded(os.path.join(os.path.expanduser(os.fspath(data_dir)), DB_NAME))
            if found is not None:
                return found
        return cls(PolicyEngine.load(), CATALOGUE)

    def evaluate(self, prompt: str) -> Evaluation:
        ev = self._engine.evaluate(prompt)
        position = self._position
        matches = tuple(
            Match(m.policy.id, m.policy.name, m.policy.category, m.action, m.policy.priority,
                  position.get(m.policy.id, -1), m.spans)
            for m in ev.matches
        )
        return Evaluation(
            ev.decision, ev.approved, tuple(ev.policy_ids), matches,
            ev.blocked_by.id if ev.blocked_by is not None else None, ev.block_reason,
            ev.requires_redaction, ev.redacted_query, self.version,
        )

    def evaluate_many(self, prompts: Iterable[str]) -> list[Evaluation]:
        return [self.evaluate(p) for p in prompts]

    def diff(self, other: "PolicySet") -> PolicyDiff:
        """Policies ``other`` adds, changes and removes relative to this set."""
        return PolicyDiff(*policy_diff(self.policies, other.policies))


def _last_loaded(db_path: str) -> Optional[PolicySet]:
    """The set last recorded as put in force in an agent store, checked against its version."""
    if not os.path.exists(db_path):
        return None
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute(
            "SELECT l.record, s.policies FROM audit_chain l JOIN policy_sets s ON s.version = l.ref "
            "WHERE l.kind = 'policy_load' ORDER BY l.seq DESC LIMIT 1"
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    if row is None:
        return None
    load = json.loads(row[0])
    engine = PolicyEngine([Policy(**p) for p in json.loads(row[1])])
    if engine.version != load.get("version"):
        raise ValueError(f"{db_path}: the recorded policy set does not match its version {load.get('version')}")
    return PolicySet(engine, load.get("source") or CATALOGUE)
