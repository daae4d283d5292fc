"""Typed events emitted at every stage of a governed call.

The notebook layer builds its widgets and static summaries from these events
alone, so every fact a user should see must travel in one of them. Events are
frozen dataclasses (cheap to create on the hot path) and carry the id of the
call they belong to, so one subscriber can follow many concurrent calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Optional, Tuple, Union


@dataclass(frozen=True)
class _Event:
    call_id: str
    at: float = field(default_factory=time.time, kw_only=True)


@dataclass(frozen=True)
class RateLimit:
    """AxonFlow's `rate_limit` in a pre-check answer: requests left until `reset_at` (epoch s)."""

    limit: int
    remaining: int
    reset_at: float


@dataclass(frozen=True)
class DecisionMade(_Event):
    """The pre-check answered."""

    status: Literal["approved", "blocked", "needs_approval"]
    policies: Tuple[str, ...]
    block_reason: Optional[str]
    context_id: Optional[str]
    latency_ms: float
    requires_redaction: bool = False
    backend: str = ""  # the AxonFlow endpoint URL (no credentials)
    expires_at: Optional[str] = None  # when AxonFlow stops accepting the audit for this context
    rate_limit: Optional[RateLimit] = None  # present when AxonFlow's answer carried one
    # The text the pre-check judged (its spans index into it): for the journal and explanations.
    query: str = field(default="", repr=False, compare=False)
    policy_version: Optional[str] = None  # the policy set that decided (the pre-check's `policy_bundle`)
    # Where the call came from (core/provenance.py), on the first event of a call, for the journal.
    provenance: Optional[Mapping[str, Any]] = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class BudgetChecked(_Event):
    """A budget covers this call: where it stood at the pre-check (AxonFlow's `budget_info`).

    `status`: "within" (under its limit), "warning" (past a limit that lets calls through, or
    AxonFlow sent `X-Budget-Warning`), "blocked" (past a blocking limit: the pre-check answered
    402 and the call was refused). `used_usd` is the use recorded before this call; the call's
    own cost arrives with `CompletionFinished`.
    """

    budget_id: str
    budget_name: str
    used_usd: float
    limit_usd: float
    percentage: float
    action: str  # block | warn | downgrade
    status: Literal["within", "warning", "blocked"]
    period: Optional[str] = None  # daily | weekly | monthly | quarterly | yearly
    scope: Optional[str] = None  # organization | team | agent | workflow | user
    period_start: Optional[str] = None
    period_end: Optional[str] = None
    warning: Optional[str] = None  # the X-Budget-Warning text


@dataclass(frozen=True)
class RedactionApplied(_Event):
    """Pre-check required redaction; `applied` says whether the LLM got redacted text."""

    applied: bool
    policies: Tuple[str, ...]
    redacted_query: Optional[str] = None
    note: str = ""


@dataclass(frozen=True)
class ApprovalRequested(_Event):
    request_id: str
    expires_at: Optional[str]
    policy: Optional[str]
    severity: Optional[str]
    deadline_s: float  # client-side deadline (approval_max_wait_seconds)


@dataclass(frozen=True)
class ApprovalProgress(_Event):
    request_id: str
    status: str  # pending | approved | rejected | expired | overridden
    polls: int
    elapsed_s: float
    remaining_s: float


@dataclass(frozen=True)
class ApprovalDecided(_Event):
    request_id: str
    status: Literal["approved", "rejected", "expired", "timeout", "cancelled", "error"]
    reviewer: Optional[str] = None
    comment: Optional[str] = None
    decided_at: Optional[str] = None


@dataclass(frozen=True)
class CompletionChunk(_Event):
    """One streamed piece of the answer (stream=True only)."""

    delta: str


@dataclass(frozen=True)
class CompletionFinished(_Event):
    model: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: Optional[float]
    latency_ms: float
    simulated: bool
    text: str = ""


@dataclass(frozen=True)
class AuditRecorded(_Event):
    audit_id: Optional[str]
    context_id: Optional[str]
    delivered: bool = True
    detail: str = ""


@dataclass(frozen=True)
class GovernanceSkipped(_Event):
    """Governance did not run for this stage: fail-open made visible, or fail-closed explained.

    `fail_open` says what followed: True, the call went on ungoverned; False, it was refused.
    """

    reason: Literal["breaker_open", "timeout", "unreachable", "server_error", "bad_response"]
    stage: Literal["pre_check", "approval", "audit"]
    detail: str = ""
    fail_open: bool = True
    provenance: Optional[Mapping[str, Any]] = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class CallFailed(_Event):
    """The call ended with an exception (denial, rejection, timeout, LLM error, cancel)."""

    stage: str
    error_type: str
    message: str
    policies: Tuple[str, ...] = ()
    model: str = ""
    provenance: Optional[Mapping[str, Any]] = field(default=None, repr=False, compare=False)


# -- batches (core/batch/): one family, so a notebook, a terminal and a script draw from one source.
# A batch's own events carry the batch id as `call_id`; `RowStarted` maps a row's call id (which
# every event of that row's governed call carries) to its batch and index.


@dataclass(frozen=True)
class BatchStarted(_Event):
    """A batch is about to schedule its first row (the forecast is known, nothing was sent)."""

    total: int
    model: str
    concurrency: int
    forecast_usd: Optional[float] = None  # None: LiteLLM has no price for the model
    forecast_basis: str = ""  # how completion tokens were forecast ("max_tokens=64", "estimate …")
    budget_usd: Optional[float] = None
    rpm: Optional[float] = None
    tpm: Optional[float] = None
    # AxonFlow's tightest blocking budget covering the rows (core/batch/axonflow_budget.py):
    # what it had left, and it in words (or why it could not be checked); None when none applies
    axonflow_headroom_usd: Optional[float] = None
    axonflow_budget: Optional[str] = None


@dataclass(frozen=True)
class RowStarted(_Event):
    """Row `index` of batch `batch_id` is governed as call `call_id`."""

    batch_id: str
    index: int


@dataclass(frozen=True)
class RowFinished(_Event):
    """Row `index` ended (`call_id` is the row's call id; empty for a row never started)."""

    batch_id: str
    index: int
    status: str  # one of core/batch/rows.py STATUSES
    policies: Tuple[str, ...] = ()
    cost_usd: Optional[float] = None
    audit_id: Optional[str] = None
    request_id: Optional[str] = None
    ungoverned: bool = False  # ran without AxonFlow's answer (fail-open)
    preview: str = ""  # the answer's first characters, or the error's
    latency_s: float = 0.0


@dataclass(frozen=True)
class BatchPaused(_Event):
    """Scheduling waits (`until` epoch s) or has stopped (`until` None): why, in words."""

    reason: Literal["rate_limit", "axonflow_rate_limit", "budget", "cancelled"]
    detail: str
    until: Optional[float] = None


@dataclass(frozen=True)
class BatchFinished(_Event):
    total: int
    counts: Tuple[Tuple[str, int], ...]  # (status, rows) in STATUSES order, zeros left out
    spent_usd: Optional[float]
    elapsed_s: float
    stopped: Optional[str] = None  # "budget", "cancelled", or None when every row ran


GovernanceEvent = Union[
    DecisionMade,
    BudgetChecked,
    RedactionApplied,
    ApprovalRequested,
    ApprovalProgress,
    ApprovalDecided,
    CompletionChunk,
    CompletionFinished,
    AuditRecorded,
    GovernanceSkipped,
    CallFailed,
    BatchStarted,
    RowStarted,
    RowFinished,
    BatchPaused,
    BatchFinished,
]

EventListener = Callable[[GovernanceEvent], None]

__all__ = [
    "DecisionMade",
    "BudgetChecked",
    "RedactionApplied",
    "ApprovalRequested",
    "ApprovalProgress",
    "ApprovalDecided",
    "CompletionChunk",
    "CompletionFinished",
    "AuditRecorded",
    "GovernanceSkipped",
    "CallFailed",
    "RateLimit",
    "BatchStarted",
    "RowStarted",
    "RowFinished",
    "BatchPaused",
    "BatchFinished",
    "GovernanceEvent",
    "EventListener",
]
