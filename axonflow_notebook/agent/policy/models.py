"""The policy engine's value types: a policy, one policy's match, one evaluation.

They are frozen dataclasses so that an engine (and every result it hands out) can be
shared between request threads without copying or locking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Optional

ACTIONS = ("block", "require_approval", "redact", "warn", "log")
SEVERITIES = ("low", "medium", "high", "critical")

# Stable ids for the StaticPolicy JSON: the same policy id always gets the same UUID,
# across restarts and machines, so a client may cache or link to it.
_POLICY_UUID_NAMESPACE = uuid.UUID("6f1c2f0e-5a7b-4c1e-9d3a-a0f1c2b3d4e5")
_FIXED_TIMESTAMP = "2026-01-01T00:00:00Z"


class PolicyFileError(ValueError):
    """A custom policy file that cannot be used; the message names file, entry and field."""


@dataclass(frozen=True)
class Policy:
    """One static policy as this agent enforces it.

    ``action`` is the effective request-phase action (after the governance profile);
    ``stored_action`` is what the catalogue or the custom file declares.
    """

    id: str
    name: str
    category: str
    pattern: str
    action: str
    stored_action: str
    severity: str
    priority: int
    enabled: bool = True
    description: str = ""
    tier: str = "system"
    validator: Optional[str] = None

    @property
    def uuid(self) -> str:
        return str(uuid.uuid5(_POLICY_UUID_NAMESPACE, self.id))

    def to_static_policy(self) -> dict:
        """The policy as AxonFlow's ``StaticPolicy`` JSON object (wire protocol §7.5).

        ``action`` is the effective action, because that is what this agent does when the
        policy matches; the declared one is kept in ``stored_action`` (a key the SDK ignores).
        """
        owner = "global" if self.tier == "system" else "default"
        return {
            "id": self.uuid,
            "policy_id": self.id,
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "tier": self.tier,
            "pattern": self.pattern,
            "severity": self.severity,
            "action": self.action,
            "stored_action": self.stored_action,
            "phase": "request",
            "enabled": self.enabled,
            "priority": self.priority,
            "version": 1,
            "has_override": False,
            "tenant_id": owner,
            "organization_id": owner,
            "created_at": _FIXED_TIMESTAMP,
            "updated_at": _FIXED_TIMESTAMP,
        }


@dataclass(frozen=True)
class PolicyMatch:
    """One policy that matched, with every span (character offsets) that passed its validator."""

    policy: Policy
    action: str
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Evaluation:
    """The outcome of evaluating one query against the effective policy list."""

    matches: tuple[PolicyMatch, ...]
    blocked_by: Optional[Policy]
    approval_policy: Optional[Policy]
    requires_redaction: bool
    redacted_query: Optional[str]

    @property
    def policy_ids(self) -> list[str]:
        return [m.policy.id for m in self.matches]

    @property
    def requires_approval(self) -> bool:
        return self.approval_policy is not None

    @property
    def approved(self) -> bool:
        return self.blocked_by is None and self.approval_policy is None

    @property
    def block_reason(self) -> Optional[str]:
        # HITL takes precedence over a simultaneous block (wire protocol §2.5).
        if self.approval_policy is not None:
            return "require_approval"
        if self.blocked_by is not None:
            return self.blocked_by.description or f"Blocked by policy: {self.blocked_by.name}"
        return None

    @property
    def decision(self) -> str:
        """The audit trail's ``policy_decision``."""
        if self.approval_policy is not None:
            return "needs_approval"
        if self.blocked_by is not None:
            return "blocked"
        if self.requires_redaction:
            return "redacted"
        return "allowed"
