"""Spending limits: what stops a batch from scheduling its next row.

A batch keeps a `SpendLedger` (spent so far, and the forecast of the rows in flight, held rows
included: they spend if approved). Before it starts a row it asks each of its limits whether
that row may start; the first refusal stops scheduling, and the rows not started end
`skipped_budget`. `ClientBudget` is `--budget USD`. A limit held elsewhere is one more
`SpendingLimit`: `AxonFlowBudget` (axonflow_budget.py, AxonFlow's own budgets, issue 16) reads
its headroom once before the first call in `prepare`, and `refuses` compares the ledger with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Protocol

from ..money import usd
from .forecast import BatchForecast


@dataclass
class SpendLedger:
    """What a batch has spent (LiteLLM's cost of finished rows) and has in flight (forecasts)."""

    spent_usd: float = 0.0
    in_flight_usd: float = 0.0

    def start(self, forecast_usd: float) -> None:
        self.in_flight_usd += forecast_usd

    def settle(self, forecast_usd: float, cost_usd: Optional[float]) -> None:
        """A row stopped spending: its forecast leaves the in-flight sum, its cost (if any) is spent."""
        self.in_flight_usd = max(0.0, self.in_flight_usd - forecast_usd)
        if cost_usd is not None:
            self.spent_usd += cost_usd


class SpendingLimit(Protocol):
    """One limit a batch must stay under."""

    name: str  # how the card names it: "budget", "AxonFlow budget team-ml"
    limit_usd: Optional[float]  # for display; None when the limit is not a dollar figure

    async def prepare(self, forecast: BatchForecast) -> None:
        """Before the first call; raise ValueError (a clear sentence) to refuse the batch."""

    def refuses(self, ledger: SpendLedger, next_usd: float) -> Optional[str]:
        """Why the next row (forecast `next_usd`) may not start, or None."""


class ClientBudget:
    """`budget_usd=` / `--budget USD`: spent plus in flight plus the next row never passes it."""

    name = "budget"

    def __init__(self, usd: float) -> None:
        if isinstance(usd, bool) or not isinstance(usd, (int, float)) or not math.isfinite(usd) or usd < 0:
            raise ValueError(f"budget must be a finite number of US dollars >= 0, got {usd!r}")
        self.limit_usd: Optional[float] = float(usd)

    async def prepare(self, forecast: BatchForecast) -> None:
        if not forecast.priced:
            raise ValueError("a budget needs a price: LiteLLM's price map has none for this model "
                             "(litellm.register_model adds one), so the batch was not started")

    def refuses(self, ledger: SpendLedger, next_usd: float) -> Optional[str]:
        limit = self.limit_usd or 0.0
        if ledger.spent_usd + ledger.in_flight_usd + next_usd <= limit:
            return None
        return (f"the next row (forecast {usd(next_usd)}) would take the batch past its {usd(limit)} "
                f"budget: {usd(ledger.spent_usd)} spent, {usd(ledger.in_flight_usd)} forecast in flight")


__all__ = ["SpendLedger", "SpendingLimit", "ClientBudget"]
