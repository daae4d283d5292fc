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



# -- the policy lab: what a prompt matches, and why a decision was made (explanations.py) ---------


@dataclass(frozen=True)
class MatchedPolicy:
    """One policy that matched a prompt: where (character spans, end exclusive), with what effect."""

    policy_id: str
    name: str
    action: str  # block | require_approval | redact | warn | log
    priority: Optional[int]
    position: Optional[int]  # its place in the evaluation order (0 = first); None when not reported
    category: str = ""
    severity: str = ""
    spans: Tuple[Tuple[int, int], ...] = ()  # empty when AxonFlow did not report where
    matched_text: Tuple[str, ...] = ()  # per span; AxonFlow masks personal data ("[REDACTED:<id>]")
    span_count: Optional[int] = None  # how many matches in all, when more than the spans listed
    masked: bool = False


@dataclass(frozen=True)
class EvaluationStep:
    """One policy in the order evaluation went through them."""

    position: int
    policy_id: str
    priority: Optional[int]
    action: str
    matched: bool


@dataclass(frozen=True)
class PromptTestRecord:
    """What the pre-check would decide for a prompt (AxonFlow's policy simulation): no LLM call, no audit."""

    prompt: str
    decision: str  # allowed | redacted | needs_approval | blocked
    matches: Tuple[MatchedPolicy, ...]
    stopped_by: Optional[str]  # the blocking policy that ended evaluation
    block_reason: Optional[str]
    redacted_prompt: Optional[str]
    policy_version: Optional[str]  # the version of the policy set that decided, when reported
    total_policies: Optional[int]
    backend: str = ""


@dataclass(frozen=True)
class DecisionExplanationRecord:
    """Why AxonFlow decided a call as it did (its decision explanation, by context or audit id)."""

    decision_id: str  # the pre-check's context id
    decision: str  # allowed | redacted | needs_approval | blocked
    reason: str
    matches: Tuple[MatchedPolicy, ...]  # in evaluation order
    order: Tuple[EvaluationStep, ...]  # the policies evaluated, in order (empty when not reported)
    enabled_policies: Optional[int]
    not_evaluated: Tuple[str, ...]  # enabled policies after the one that stopped evaluation
    stopped_by: Optional[str]
    stop_reason: str
    precedence: Optional[str]  # e.g. an approval taking precedence over a block
    policy_version: Optional[str]
    version_loaded_at: Optional[dt.datetime]
    version_source: Optional[str]
    version_in_force_now: Optional[bool]
    timestamp: Optional[dt.datetime]
    audit_id: Optional[str] = None
    approval_status: Optional[str] = None
    block_reason: Optional[str] = None
    risk_level: Optional[str] = None
    query_preview: str = ""
    prompt: Optional[str] = None  # when known: stored by AxonFlow, the call's own result, or the journal
    prompt_source: str = ""  # "axonflow", "result", "journal" or "journal preview"
    prompt_chars: Optional[int] = None  # the whole prompt's length, when known
    backend: str = ""


__all__ = ["PolicyRecord", "ApprovalRequestRecord", "AuditEntry", "AuditPage", "PolicyChange", "BudgetRecord",
           "BudgetStatusRecord", "BudgetCheckRecord", "UsageSummaryRecord", "UsageBreakdownItem", "UsageBreakdownRecord",
           "MatchedPolicy", "EvaluationStep", "PromptTestRecord", "DecisionExplanationRecord"]
