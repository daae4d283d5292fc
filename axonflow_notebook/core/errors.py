"""Exceptions a governed call raises to the application (the names of the LiteLLM integration)."""

from __future__ import annotations

from typing import Iterable, List, Optional

from .money import usd

BUDGET_POLICY = "budget_exceeded"  # the policy id AxonFlow's 402 names
_PERIOD_WORDS = {"daily": "today", "weekly": "this week", "monthly": "this month",
                 "quarterly": "this quarter", "yearly": "this year"}


class PolicyDeniedError(Exception):
    """AxonFlow (or its unavailability under fail-closed) stopped the call."""

    def __init__(self, reason: str, policies: Optional[Iterable[str]] = None) -> None:
        self.reason = reason
        self.policies: List[str] = list(policies or [])
        super().__init__(reason)


class ApprovalRejected(PolicyDeniedError):
    """A reviewer rejected the request, it expired server-side, or HITL broke."""


class ApprovalTimeout(PolicyDeniedError):
    """No decision arrived before `approval_max_wait_seconds`; the message says "timed out"."""


class BudgetExceededError(PolicyDeniedError):
    """A blocking AxonFlow budget is used up: the pre-check answered 402, the LLM was not called.

    A refusal, not an outage: raised whatever `fail_open` says. `block_reason` is AxonFlow's
    own text; the message names the budget, its use and its limit.
    """

    def __init__(self, *, budget_id: Optional[str], budget_name: Optional[str], limit_usd: float,
                 used_usd: float, period: Optional[str] = None, action: Optional[str] = "block",
                 percentage: Optional[float] = None, scope: Optional[str] = None,
                 block_reason: Optional[str] = None, context_id: Optional[str] = None) -> None:
        self.budget_id = budget_id
        self.budget_name = budget_name
        self.limit_usd = float(limit_usd or 0.0)
        self.used_usd = float(used_usd or 0.0)
        self.period = period
        self.action = action
        self.percentage = percentage if percentage is not None else (
            self.used_usd / self.limit_usd * 100 if self.limit_usd else None)
        self.scope = scope
        self.block_reason = block_reason
        self.context_id = context_id
        super().__init__(self._describe(), [BUDGET_POLICY])

    def fields(self) -> dict:
        return {name: getattr(self, name) for name in _BUDGET_FIELDS}

    def __reduce__(self) -> tuple:  # keyword-only fields: pickle (Dask, multiprocessing) by name
        return _rebuild, (type(self), self.fields())

    def _describe(self) -> str:
        name = self.budget_name or self.budget_id or "a budget"
        label = f"{name!r}" + (f" ({self.budget_id})" if self.budget_id and self.budget_id != name else "")
        when = _PERIOD_WORDS.get(self.period or "", f"this {self.period} period" if self.period else "")
        used = f"{usd(self.used_usd)} of {usd(self.limit_usd)} used" + (f" {when}" if when else "")
        return f"budget {label} is used up: {used}; the call was not sent"


_BUDGET_FIELDS = ("budget_id", "budget_name", "limit_usd", "used_usd", "period", "action", "percentage",
                  "scope", "block_reason", "context_id")


def _rebuild(cls: type, fields: dict) -> BudgetExceededError:
    return cls(**fields)


__all__ = ["PolicyDeniedError", "ApprovalRejected", "ApprovalTimeout", "BudgetExceededError", "BUDGET_POLICY"]
