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
    policy_version: Optional[str] = None  # the policy set that decided (the pre-check's `policy_bundle`)
    # Where the call came from (core/provenance.py), on the first event of a call, for the journal.
    provenance: Optional[Mapping[str, Any]] = field(default=None, repr=False, compare=False)


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


GovernanceEvent = Union[
    DecisionMade,
    RedactionApplied,
    ApprovalRequested,
    ApprovalProgress,
    ApprovalDecided,
    CompletionChunk,
    CompletionFinished,
    AuditRecorded,
    GovernanceSkipped,
    CallFailed,
]

EventListener = Callable[[GovernanceEvent], None]

__all__ = [
    "DecisionMade",
    "RedactionApplied",
    "ApprovalRequested",
    "ApprovalProgress",
    "ApprovalDecided",
    "CompletionChunk",
    "CompletionFinished",
    "AuditRecorded",
    "GovernanceSkipped",
    "CallFailed",
    "GovernanceEvent",
    "EventListener",
]
