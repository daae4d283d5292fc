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


@dataclass(frozen=True)
class BudgetRecord:
    """One AxonFlow budget: what it limits, over which period, and what happens past its limit."""

    id: str
    name: str
    scope: str  # organization | team | agent | workflow | user
    scope_id: Optional[str]  # None: every call that has a value for the scope
    limit_usd: float
    period: str  # daily | weekly | monthly | quarterly | yearly (UTC)
    on_exceed: str  # block | warn | downgrade
    alert_thresholds: Tuple[int, ...] = ()
    enabled: bool = True
    source: str = ""  # "api", or the policy file that declares it (read-only there)
    description: str = ""
    created_at: Optional[dt.datetime] = None
    updated_at: Optional[dt.datetime] = None


@dataclass(frozen=True)
class BudgetStatusRecord:
    """Where one budget stands in its current period."""

    budget: BudgetRecord
    used_usd: float
    remaining_usd: float
    percentage: float
    exceeded: bool
    blocked: bool
    period_start: Optional[dt.datetime]
    period_end: Optional[dt.datetime]


@dataclass(frozen=True)
class BudgetCheckRecord:
    """Would a call so attributed go through: AxonFlow's budget check, and the budgets that cover it."""

    allowed: bool
    action: Optional[str]
    message: Optional[str]
    budgets: Tuple[BudgetRecord, ...]


@dataclass(frozen=True)
class UsageSummaryRecord:
    """Spend and tokens over one period (AxonFlow's usage summary)."""

    total_cost_usd: float
    requests: int
    tokens_in: int
    tokens_out: int
    average_cost_usd: float
    period: str
    period_start: Optional[dt.datetime]
    period_end: Optional[dt.datetime]


@dataclass(frozen=True)
class UsageBreakdownItem:
    value: str  # the model, user, workflow… this row groups
    cost_usd: float
    percentage: float
    requests: int
    tokens_in: int
    tokens_out: int


@dataclass(frozen=True)
class UsageBreakdownRecord:
    """Spend over one period grouped by provider, model, agent, team, user, workflow or organization."""

    group_by: str
    total_cost_usd: float
    items: Tuple[UsageBreakdownItem, ...]
    period: str
    period_start: Optional[dt.datetime]
    period_end: Optional[dt.datetime]


__all__ = ["PolicyRecord", "ApprovalRequestRecord", "AuditEntry", "AuditPage", "PolicyChange", "BudgetRecord",
           "BudgetStatusRecord", "BudgetCheckRecord", "UsageSummaryRecord", "UsageBreakdownItem", "UsageBreakdownRecord"]
