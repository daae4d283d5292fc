"""Where one budget stands now: its use in the current period, and what that means.

Exceeded means used >= limit, blocking means exceeded with ``on_exceed: block`` (AxonFlow's
``GetBudgetStatus`` in ``platform/orchestrator/cost/service.go`` of
https://github.com/getaxonflow/axonflow). ``downgrade`` is not implemented by AxonFlow
either (docs/governance/cost-controls.md, "Phase 1 limitations"); past its limit such a
budget warns.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import Budget


def reached(used: float, limit: float) -> bool:
    # Within a nano-dollar counts as reached: a sum of floats (ten calls at $0.10) can land
    # a hair under the limit it has in fact reached.
    return used + 1e-9 >= limit


def money(value: float) -> str:
    """Dollars for a message: cents from $1 up, four decimals below (notebook budgets are small)."""
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4f}"


def rank(budget: Budget, used: float) -> tuple[int, float]:
    """``Standing.rank`` without building a Standing (the pre-check ranks every budget)."""
    if reached(used, budget.limit_usd):
        return (2 if budget.enabled and budget.on_exceed == "block" else 1, used / budget.limit_usd)
    return (0, used / budget.limit_usd)


@dataclass(frozen=True)
class Standing:
    budget: Budget
    used_usd: float
    period_start: str
    period_end: str

    @property
    def percentage(self) -> float:
        return self.used_usd / self.budget.limit_usd * 100

    @property
    def exceeded(self) -> bool:
        return reached(self.used_usd, self.budget.limit_usd)

    @property
    def blocked(self) -> bool:
        return self.exceeded and self.budget.enabled and self.budget.on_exceed == "block"

    @property
    def warns(self) -> bool:
        """Past the limit of a budget that lets calls through (warn, downgrade)."""
        return self.exceeded and self.budget.enabled and self.budget.on_exceed != "block"

    @property
    def rank(self) -> tuple[int, float]:
        """Which of several budgets a call reports: blocking, then exceeded, then the fullest."""
        return rank(self.budget, self.used_usd)

    @property
    def message(self) -> str:
        name = self.budget.name
        if self.blocked:
            return f"Budget '{name}' exceeded - requests blocked"
        if self.exceeded:
            return f"Budget '{name}' exceeded - {self.percentage:.1f}%"
        return f"Budget '{name}' at {self.percentage:.1f}%"

    def info(self) -> dict:
        """The pre-check's ``budget_info`` (the SDK's ``BudgetInfo`` plus period and scope)."""
        budget = self.budget
        return {
            "budget_id": budget.id,
            "budget_name": budget.name,
            "used_usd": round(self.used_usd, 9),
            "limit_usd": budget.limit_usd,
            "percentage": round(self.percentage, 4),
            "exceeded": self.exceeded,
            "action": budget.on_exceed,
            "period": budget.period,
            "scope": budget.scope,
            "period_start": self.period_start,
            "period_end": self.period_end,
        }

    def status(self) -> dict:
        """The SDK's ``BudgetStatus``."""
        return {
            "budget": self.budget.to_json(),
            "used_usd": round(self.used_usd, 9),
            "remaining_usd": round(self.budget.limit_usd - self.used_usd, 9),
            "percentage": round(self.percentage, 4),
            "is_exceeded": self.exceeded,
            "is_blocked": self.blocked,
            "period_start": self.period_start,
            "period_end": self.period_end,
        }

    def alert(self, threshold: int, now: str) -> dict:
        """A threshold crossing as the alerts table stores it (AxonFlow's ``sendAlert``)."""
        if self.percentage >= 100:
            kind = "budget_blocked" if self.budget.on_exceed == "block" else "budget_exceeded"
        else:
            kind = "threshold_reached"
        return {
            "budget_id": self.budget.id,
            "threshold": threshold,
            "period_start": self.period_start,
            "percentage_reached": round(self.percentage, 4),
            "amount_usd": round(self.used_usd, 9),
            "alert_type": kind,
            "message": f"Budget '{self.budget.name}' at {self.percentage:.1f}% "
            f"({money(self.used_usd)} / {money(self.budget.limit_usd)})",
            "created_at": now,
        }
