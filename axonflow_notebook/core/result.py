"""GovernedResult: what one governed call produced, for notebooks and scripts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

from .events import (
    ApprovalDecided,
    AuditRecorded,
    BudgetChecked,
    DecisionMade,
    GovernanceEvent,
)


@dataclass
class GovernedResult:
    text: Optional[str] = None
    response: Any = None  # the LiteLLM ModelResponse
    decision: Optional[DecisionMade] = None
    approval: Optional[ApprovalDecided] = None
    audit_id: Optional[str] = None
    error: Optional[BaseException] = None
    events: List[GovernanceEvent] = field(default_factory=list)
    budget: Optional[BudgetChecked] = None  # the budget AxonFlow reported for this call, if any

    @property
    def ok(self) -> bool:
        return self.error is None

    def explain(self, console: Any = None) -> Any:
        """Why AxonFlow decided this call as it did: a `DecisionExplanationRecord` (result_explain.py).

        `console`: a `GovernanceConsole` to ask; default, one of the live logger that governed it.
        """
        from .result_explain import explain_result

        return explain_result(self, console)

    async def aexplain(self, console: Any = None) -> Any:
        """Async `explain`."""
        from .result_explain import aexplain_result

        return await aexplain_result(self, console)

    def record(self, event: GovernanceEvent) -> None:
        """Append an event and keep the summary attributes in step with it."""
        self.events.append(event)
        if isinstance(event, DecisionMade):
            self.decision = event
        elif isinstance(event, ApprovalDecided):
            self.approval = event
        elif isinstance(event, BudgetChecked):
            self.budget = event
        elif isinstance(event, AuditRecorded) and event.audit_id:
            self.audit_id = event.audit_id
