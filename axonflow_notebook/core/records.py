"""The project's own typed records for what reviewers and status views read from AxonFlow.

`GovernanceConsole` turns the SDK's models (and the shapes of older or newer AxonFlow builds)
into these, once, so no view guesses at SDK shapes. Frozen dataclasses: cheap, hashable,
and safe to hand across threads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Tuple


@dataclass(frozen=True)
class PolicyRecord:
    """One effective policy, with the id users see on cards (`fin-wire-transfer`, `sys_pii_ssn`)."""

    id: str
    name: str
    category: str
    action: str  # block | require_approval | redact | warn | log (a word, never an enum repr)
    severity: str  # low | medium | high | critical
    priority: int
    enabled: bool
    pattern: str
    description: str
    tier: str = ""  # system | tenant | …
    source: str = ""  # where it came from: the built-in catalogue, a policy file, a cell


@dataclass(frozen=True)
class ApprovalRequestRecord:
    """One HITL approval request as a reviewer sees it."""

    request_id: str
    status: str  # pending | approved | rejected | expired | overridden
    original_query: str
    policy_id: str
    policy_name: str
    trigger_reason: str
    severity: str
    client_id: str
    user_id: Optional[str]
    created_at: Optional[dt.datetime]  # timezone-aware (UTC)
    expires_at: Optional[dt.datetime]
    reviewer_id: Optional[str] = None
    reviewer_email: Optional[str] = None
    review_comment: Optional[str] = None
    reviewed_at: Optional[dt.datetime] = None
    request_type: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)  # request_context (model, context id, batch…)


@dataclass(frozen=True)
class AuditEntry:
    """One entry of AxonFlow's audit trail (a pre-check decision, completed by its LLM-call audit)."""

    id: str
    timestamp: Optional[dt.datetime]  # timezone-aware (UTC)
    decision: str  # allowed | blocked | redacted | needs_approval | approved | rejected | expired | …
    policies: Tuple[str, ...]
    block_reason: Optional[str]
    model: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: Optional[float]
    latency_ms: Optional[int]
    query_preview: str
    client_id: str
    user: str
    audit_id: Optional[str]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    policy_version: Optional[str] = None  # the policy set that decided (policy_details.policy_version)


@dataclass(frozen=True)
class AuditPage:
    entries: Tuple[AuditEntry, ...]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class PolicyChange:
    """What a live policy reload changed (or, for a dry run, would change)."""

    version: str  # sha256 of the effective policy set
    loaded_at: Optional[dt.datetime]  # timezone-aware (UTC)
    source: str
    added: Tuple[str, ...]
    changed: Tuple[str, ...]
    removed: Tuple[str, ...]


__all__ = ["PolicyRecord", "ApprovalRequestRecord", "AuditEntry", "AuditPage", "PolicyChange"]
