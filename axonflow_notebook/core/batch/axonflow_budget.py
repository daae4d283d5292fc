"""AxonFlow's own budgets as a batch's spending limit (issue 16, "Batches check the budget").

AxonFlow refuses a call over a blocking budget with a 402 at its pre-check (core/budget_precheck.py);
a batch should not learn that one refused row at a time. Before the first call, `prepare` asks
AxonFlow once which blocking budget covering the batch's calls has the least left
(`budget_standing`, core/budget_console.py); scheduling then stops when what the batch has
spent, plus the forecasts of its rows in flight, plus the next row's would pass that headroom,
and the rows not started end `skipped_budget`, as under `--budget`. Spend elsewhere while the
batch runs is not seen here: the pre-check's 402 is, and stops the batch too (runner.py).

With no blocking budget covering the calls, or an AxonFlow without budgets (the budget routes
answer 404), the limit is inactive and the batch runs exactly as without it. When AxonFlow does
not answer the budget check (down, timing out, refusing it), `fail_open` decides, as it does
for every call: fail-open runs the batch without this limit (each row's pre-check still
follows fail-open); fail-closed refuses the batch before its first call with a one-line
ValueError.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Optional

from ..budget_console import BudgetHeadroom, BudgetRequestRefused, budget_standing
from ..money import usd
from ..user_label import user_label
from .forecast import BatchForecast
from .limits import SpendLedger

if TYPE_CHECKING:
    from ..logger import AxonFlowLogger

NO_BUDGET_ROUTES = (404, 405, 501)  # an AxonFlow (or a proxy) without the budget API


class AxonFlowBudget:
    """The tightest blocking AxonFlow budget covering the batch's calls, read once before it starts."""

    name = "AxonFlow budget"

    def __init__(self, logger: "AxonFlowLogger", *, user_token: Optional[str] = None,
                 fail_open: Optional[bool] = None) -> None:
        self._logger = logger
        self._user_token = user_token
        self.fail_open = logger.config.fail_open if fail_open is None else bool(fail_open)
        self.limit_usd: Optional[float] = None  # the headroom, once known (None: no limit applies)
        self.standing: Optional[BudgetHeadroom] = None
        self.unchecked: Optional[str] = None  # why the batch runs without this limit (fail-open)

    @property
    def active(self) -> bool:
        return self.standing is not None

    async def prepare(self, forecast: BatchForecast) -> None:
        try:
            self.standing = await self._ask()
        except BudgetRequestRefused as refused:
            if refused.status in NO_BUDGET_ROUTES:
                return
            self._cannot_check(f"AxonFlow refused its budget check ({refused})")
        except Exception as exc:
            self._cannot_check(f"AxonFlow did not answer its budget check ({_why(exc)})")
        if self.standing is not None:
            self.limit_usd = self.standing.remaining_usd
            self.name = f"AxonFlow budget {self.standing.label}"

    async def _ask(self) -> Optional[BudgetHeadroom]:
        if self._logger.breaker_state == "open":  # AxonFlow just failed: do not wait for it again
            raise ConnectionError("the circuit breaker is open after recent failures")
        attribution = {}
        subject = user_label(self._user_token) if self._user_token else None
        if subject:
            attribution["user_id"] = subject
        timeout = self._logger.config.call_timeout_seconds
        return await asyncio.wait_for(budget_standing(self._logger, **attribution), timeout)

    def _cannot_check(self, why: str) -> None:
        if not self.fail_open:
            raise ValueError(f"{why}; the batch was not started (fail_open is off, so it does not run "
                             "without knowing what AxonFlow's budgets have left)") from None
        self.unchecked = f"{why}; the batch runs without AxonFlow's budgets (fail_open)"

    def describe(self) -> Optional[str]:
        """The limit in force, in words, for the batch's card (None when it is inactive)."""
        if self.unchecked:
            return self.unchecked
        standing = self.standing
        if standing is None:
            return None
        return f"AxonFlow budget {standing.label} had {usd(standing.remaining_usd)} left when the batch started"

    def refuses(self, ledger: SpendLedger, next_usd: float) -> Optional[str]:
        standing = self.standing
        if standing is None:
            return None
        head = f"AxonFlow budget {standing.label}"
        if standing.remaining_usd <= 0:
            return f"{head} is used up ({usd(standing.used_usd)} used): AxonFlow would refuse every row"
        if ledger.spent_usd + ledger.in_flight_usd + next_usd <= standing.remaining_usd:
            return None
        return (f"{head} had {usd(standing.remaining_usd)} left when the batch started; the next row "
                f"(forecast {usd(next_usd)}) would pass it: {usd(ledger.spent_usd)} spent, "
                f"{usd(ledger.in_flight_usd)} forecast in flight")


def _why(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


__all__ = ["AxonFlowBudget"]
