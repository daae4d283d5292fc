"""CallState: everything a call's cards show, folded from core events.

The live card and the static summary render from this one object, so a saved notebook shows
exactly what the live cell showed. Folding is pure and cheap; pushing it to the browser is
coalesced separately (`coalesce.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from ...core.events import (
    ApprovalDecided,
    ApprovalProgress,
    ApprovalRequested,
    AuditRecorded,
    BudgetChecked,
    CallFailed,
    CompletionChunk,
    CompletionFinished,
    DecisionMade,
    GovernanceSkipped,
    RedactionApplied,
)

# Events that end a stage: shown at once, never held back by the coalescer.
IMMEDIATE = (DecisionMade, BudgetChecked, RedactionApplied, ApprovalRequested, ApprovalDecided,
             CompletionFinished, AuditRecorded, GovernanceSkipped, CallFailed)
# Outcomes where no answer was produced, so nothing was simulated either.
NO_ANSWER = frozenset({"blocked", "refused", "rejected", "expired", "timeout", "cancelled",
                       "failed", "error"})
# `block_reason` values that only name the action: the policy's description says more.
ACTION_WORDS = frozenset({"require_approval", "requires_approval", "needs_approval", "block",
                          "blocked", "deny", "denied"})


@dataclass
class CallState:
    prompt: str = ""
    model: str = ""
    backend: str = ""
    simulated: bool = False
    call_id: Optional[str] = None
    phase: Optional[str] = None  # shown before the first event ("loading LiteLLM…")
    descriptions: dict = field(default_factory=dict)  # policy id -> description ("Reason")
    decision: Optional[DecisionMade] = None
    budget: Optional[BudgetChecked] = None  # the budget covering the call, as the pre-check saw it
    redaction: Optional[RedactionApplied] = None
    skipped: list[GovernanceSkipped] = field(default_factory=list)
    approval_req: Optional[ApprovalRequested] = None
    progress: Optional[ApprovalProgress] = None
    approval: Optional[ApprovalDecided] = None
    chunks: list[str] = field(default_factory=list)
    finished: Optional[CompletionFinished] = None
    audit: Optional[AuditRecorded] = None
    failed: Optional[CallFailed] = None
    cancelled: Optional[str] = None
    text: Optional[str] = None  # final answer when known (result.text); else streamed chunks
    error: Optional[str] = None  # from a result's exception when no CallFailed event came

    @classmethod
    def replay(cls, events: Iterable[Any], **info: Any) -> "CallState":
        state = cls(**info)
        for event in events:
            state.apply(event)
        return state

    def apply(self, event: Any) -> None:
        self.call_id = self.call_id or getattr(event, "call_id", None)
        if isinstance(event, DecisionMade):
            self.decision = event
            if event.backend:
                self.backend = event.backend
        elif isinstance(event, BudgetChecked):
            self.budget = event
        elif isinstance(event, RedactionApplied):
            self.redaction = event
        elif isinstance(event, GovernanceSkipped):
            self.skipped.append(event)
        elif isinstance(event, ApprovalRequested):
            self.approval_req = event
        elif isinstance(event, ApprovalProgress):
            self.progress = event
        elif isinstance(event, ApprovalDecided):
            self.approval = event
        elif isinstance(event, CompletionChunk):
            self.chunks.append(event.delta)
        elif isinstance(event, CompletionFinished):
            self.finished = event
            if event.simulated:
                self.simulated = True
            if event.text:
                self.text = event.text
        elif isinstance(event, AuditRecorded):
            self.audit = event
        elif isinstance(event, CallFailed):
            self.failed = event

    # -- derived facts ------------------------------------------------------------------------
    @property
    def answer(self) -> str:
        return self.text if self.text is not None else "".join(self.chunks)

    @property
    def sent_prompt(self) -> tuple[str, bool]:
        """(the prompt as it went to the model, whether it is the redacted text)."""
        r = self.redaction
        if r is not None and r.applied and r.redacted_query is not None:
            return r.redacted_query, True
        return self.prompt, False

    @property
    def context_id(self) -> Optional[str]:
        if self.decision and self.decision.context_id:
            return self.decision.context_id
        return self.audit.context_id if self.audit else None

    @property
    def request_id(self) -> Optional[str]:
        if self.approval_req:
            return self.approval_req.request_id
        return self.approval.request_id if self.approval else None

    @property
    def approval_pending(self) -> bool:
        return (self.approval_req is not None and self.approval is None
                and self.cancelled is None and self.failed is None and self.finished is None
                and self.skipped_at("approval") is None)

    @property
    def shows_simulated(self) -> bool:
        """The answer is (or will be) LiteLLM's mock: never for a call that got no answer."""
        if self.finished is not None:
            return self.finished.simulated
        return self.simulated and self.outcome() not in NO_ANSWER

    def skipped_at(self, stage: str) -> Optional[GovernanceSkipped]:
        return next((s for s in self.skipped if s.stage == stage), None)

    def reason(self) -> Optional[str]:
        """Why a call was held or blocked: the policy's description, else the server's reason."""
        d = self.decision
        if d is None:
            return None
        if d.status in ("blocked", "needs_approval"):
            for policy in d.policies:
                text = self.descriptions.get(policy)
                if text:
                    return text
        if d.block_reason and d.block_reason.strip().lower() not in ACTION_WORDS:
            return d.block_reason
        return None

    def decision_kind(self) -> str:
        """allowed | allowed_with_warnings | redacted | blocked | needs_approval | skipped |
        refused | pending"""
        d = self.decision
        if d is None:
            skip = self.skipped_at("pre_check")
            if skip is None:
                return "pending"
            return "skipped" if skip.fail_open else "refused"
        if d.status == "blocked":
            return "blocked"
        if d.status == "needs_approval":
            return "needs_approval"
        if d.requires_redaction or self.redaction is not None:
            return "redacted"
        warned = self.budget is not None and self.budget.status == "warning"  # over a warning budget
        return "allowed_with_warnings" if d.policies or warned else "allowed"

    def approval_times(self, now: Optional[float] = None) -> tuple[float, float]:
        """(elapsed, remaining) seconds, advanced from the last report."""
        now = time.time() if now is None else now
        if self.progress is not None:
            gone = max(0.0, now - self.progress.at)
            return self.progress.elapsed_s + gone, max(0.0, self.progress.remaining_s - gone)
        req = self.approval_req
        if req is None:
            return 0.0, 0.0
        elapsed = max(0.0, now - req.at)
        return elapsed, max(0.0, req.deadline_s - elapsed)

    def outcome(self) -> str:
        """One word for the whole call, used by summaries and metadata."""
        if self.cancelled is not None:
            return "cancelled"
        if self.approval is not None and self.approval.status != "approved":
            return self.approval.status
        kind = self.decision_kind()
        if kind == "needs_approval" and self.approval is not None:
            kind = "approved"
        if self.failed is not None and kind not in ("blocked", "refused"):
            return "failed"
        return kind


__all__ = ["CallState", "IMMEDIATE", "NO_ANSWER"]
