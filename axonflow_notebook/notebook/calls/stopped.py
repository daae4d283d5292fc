"""How a cell whose governed call did not go through stops: in one or two lines.

IPython (and so ipykernel and nbclient) print `_render_traceback_()` instead of a traceback, so a
user sees what happened and where the result is, never the package's own frames.
"""

from __future__ import annotations

from typing import Any, Optional

from ...core.errors import BudgetExceededError
from ...core.events import ApprovalRequested, CompletionChunk, DecisionMade


def short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class GovernedCallStopped(Exception):
    """The call was denied, rejected, timed out or failed; the core's exception is `.error`."""

    def __init__(self, lines: list[str], error: Optional[BaseException] = None, result: Any = None):
        super().__init__(" ".join(lines))
        self.lines = lines
        self.error = error
        self.result = result

    def _render_traceback_(self) -> list[str]:
        return list(self.lines)

    @classmethod
    def from_result(cls, result: Any) -> "GovernedCallStopped":
        err = result.error
        if isinstance(err, BudgetExceededError):
            from .budgets import budget_lines

            return cls(budget_lines(err), err, result)
        first = f"{type(err).__name__}: {short(str(err) or 'the governed call did not go through')}"
        lines = [first]
        decision = result.decision
        if decision is not None and decision.policies and not any(p in first for p in decision.policies):
            detail = f"policy: {', '.join(decision.policies)}"
            if decision.block_reason and decision.block_reason not in first \
                    and decision.block_reason != "require_approval":
                detail += f" — {short(decision.block_reason)}"
            lines.append(detail)
        return cls(lines, err, result)


class GovernedCallInterrupted(GovernedCallStopped):
    """The kernel was interrupted (or Ctrl-C pressed) while the call was under way."""

    @classmethod
    def from_events(cls, result: Any, where: str, error: BaseException) -> "GovernedCallInterrupted":
        return cls([f"Interrupted {stage(result)}.", f"Nothing more will run for it; what it "
                    f"recorded so far is in {where}."], error, result)


def stage(result: Any) -> str:
    """Where the call was when it stopped, in words, from the events it recorded."""
    events = list(getattr(result, "events", []) or [])
    requested = next((e for e in events if isinstance(e, ApprovalRequested)), None)
    if requested is not None and (result.approval is None or result.approval.status == "cancelled"):
        return f"while waiting for approval of request {requested.request_id}"
    if any(isinstance(e, CompletionChunk) for e in events):
        return "while the answer was streaming"
    if any(isinstance(e, DecisionMade) for e in events):
        return "while the model was answering"
    return "before AxonFlow's policy check answered"
