"""One row of a batch: what its governed call did, folded from the call's own events.

A row keeps only what `BatchResult` shows (no event list), so 10,000 rows stay small. Its
status is decided once, when its call ends, from what it saw and how the call ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ..errors import ApprovalRejected, ApprovalTimeout, PolicyDeniedError
from ..events import (
    ApprovalDecided,
    ApprovalRequested,
    AuditRecorded,
    CompletionFinished,
    DecisionMade,
    GovernanceEvent,
    GovernanceSkipped,
    RedactionApplied,
)

# Every status a row can end with, in the order counts are shown.
STATUSES = ("allowed", "redacted", "approved", "blocked", "rejected", "expired", "failed",
            "skipped_budget", "cancelled")
PENDING = "pending"
RUNNING = "running"


@dataclass(eq=False, slots=True)
class BatchRow:
    """Row `index` of a batch (input order). `error` is the exception when the row did not go through."""

    index: int
    status: str = PENDING
    text: Optional[str] = None
    response: Any = None  # the LiteLLM ModelResponse
    decision: Optional[DecisionMade] = None
    policies: Tuple[str, ...] = ()
    approval: Optional[ApprovalDecided] = None
    audit_id: Optional[str] = None
    cost: Optional[float] = None
    error: Optional[BaseException] = None
    call_id: str = ""
    context_id: Optional[str] = None
    request_id: Optional[str] = None  # the HITL request, when the row was held
    ungoverned: bool = False  # AxonFlow did not answer and fail-open let the row run
    redacted: bool = False
    latency_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("allowed", "redacted", "approved")

    @property
    def done(self) -> bool:
        return self.status not in (PENDING, RUNNING)

    def observe(self, event: GovernanceEvent) -> None:
        """Fold one event of this row's call in (a listener: cheap, never raises)."""
        if isinstance(event, DecisionMade):
            self.decision = event
            self.policies = tuple(event.policies)
            self.context_id = event.context_id
        elif isinstance(event, RedactionApplied):
            self.redacted = event.applied
        elif isinstance(event, ApprovalRequested):
            self.request_id = event.request_id
        elif isinstance(event, ApprovalDecided):
            self.approval = event
        elif isinstance(event, CompletionFinished):
            self.cost = event.cost_usd
            self.text = event.text
        elif isinstance(event, AuditRecorded):
            self.audit_id = event.audit_id
        elif isinstance(event, GovernanceSkipped) and event.stage == "pre_check":
            self.ungoverned = event.fail_open

    def preview(self, limit: int = 120) -> str:
        """The answer's first characters, or the error's (one line)."""
        text = self.text if self.error is None else f"{type(self.error).__name__}: {self.error}"
        text = " ".join((text or "").split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


def status_of(row: BatchRow, error: Optional[BaseException]) -> str:
    """The status of a row whose call ended with `error` (None: it went through)."""
    if error is None:
        if row.approval is not None and row.approval.status == "approved":
            return "approved"
        return "redacted" if row.redacted else "allowed"
    if isinstance(error, ApprovalTimeout):
        return "expired"
    if isinstance(error, ApprovalRejected):
        decided = row.approval.status if row.approval is not None else ""
        return decided if decided in ("rejected", "expired") else "failed"
    if isinstance(error, PolicyDeniedError):
        decision = row.decision
        if decision is not None and decision.status in ("blocked", "needs_approval"):
            return "blocked"
        # refused without a decision: AxonFlow unavailable under fail-closed, or it refused
        # the request outright (401/402/403): the row did not run, and says why in `error`
        return "failed" if row.decision is None and _refused_for_outage(error) else "blocked"
    return "failed"


def _refused_for_outage(error: BaseException) -> bool:
    return str(error).startswith("AxonFlow unavailable")


__all__ = ["BatchRow", "STATUSES", "PENDING", "RUNNING", "status_of"]
