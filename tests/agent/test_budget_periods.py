"""Budget periods in UTC (AxonFlow's resets), and the in-memory sums starting again when a
period ends. The clock is the one thing no real part can move, so these set it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from axonflow_notebook.agent import timestamps
from axonflow_notebook.agent.budgets import ledger as ledger_module
from axonflow_notebook.agent.budgets.attribution import Attribution
from axonflow_notebook.agent.budgets.ledger import BudgetLedger
from axonflow_notebook.agent.budgets.periods import CurrentPeriods, bounds
from axonflow_notebook.agent.budgets.spec import Budget
from axonflow_notebook.agent.budgets.usage import UsageRecord


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(("period", "moment", "start", "end"), [
    ("daily", "2026-03-31T23:59:59", "2026-03-31", "2026-04-01"),
    ("weekly", "2026-01-01T12:00:00", "2025-12-29", "2026-01-05"),  # a Thursday; weeks start on Monday
    ("weekly", "2026-01-05T00:00:00", "2026-01-05", "2026-01-12"),
    ("monthly", "2026-12-15T08:00:00", "2026-12-01", "2027-01-01"),
    ("monthly", "2024-02-29T08:00:00", "2024-02-01", "2024-03-01"),
    ("quarterly", "2026-05-20T00:00:00", "2026-04-01", "2026-07-01"),
    ("quarterly", "2026-12-31T23:00:00", "2026-10-01", "2027-01-01"),
    ("yearly", "2026-07-04T00:00:00", "2026-01-01", "2027-01-01"),
])
def test_bounds(period, moment, start, end):
    assert bounds(period, at(moment)) == (f"{start}T00:00:00.000000Z", f"{end}T00:00:00.000000Z")


def test_current_periods_hold_until_midnight_utc():
    periods = CurrentPeriods(at("2026-05-20T10:00:00"))
    assert periods.current(at("2026-05-20T23:59:59"))
    assert not periods.current(at("2026-05-21T00:00:00"))
    assert periods.earliest_start == "2026-01-01T00:00:00.000000Z"


class Clock:
    def __init__(self, epoch: float) -> None:
        self.epoch = epoch

    def time(self) -> float:
        return self.epoch

    def monotonic(self) -> float:
        return self.epoch


def _record(request_id: str, epoch: float, cost: float) -> UsageRecord:
    return UsageRecord(request_id=request_id, audit_id=request_id, created_at=timestamps.format_epoch(epoch),
                       attribution=Attribution("", "", "analyst", "", "u"), provider="openai", model="m",
                       tokens_in=1, tokens_out=1, cost_usd=cost, cost_source="client", latency_ms=1, success=True)


def test_sums_start_again_when_their_period_ends(tmp_path, monkeypatch):
    clock = Clock(at("2026-05-31T23:00:00"))
    monkeypatch.setattr(ledger_module, "time", clock)
    ledger = BudgetLedger.open(str(tmp_path / "a.db"))
    try:
        for period in ("daily", "monthly", "yearly"):
            ledger.create(Budget(id=period, name=period, scope="organization", limit_usd=1.0, period=period))
        ledger.record(_record("a", clock.epoch, 0.5))
        who = Attribution("", "", "analyst", "", "u")
        assert {s.budget.id: s.used_usd for s in ledger.covering(who)} == {"daily": 0.5, "monthly": 0.5, "yearly": 0.5}

        clock.epoch = at("2026-06-01T00:00:01")  # a new day and a new month, the same year
        assert {s.budget.id: s.used_usd for s in ledger.covering(who)} == {"daily": 0.0, "monthly": 0.0, "yearly": 0.5}
        ledger.record(_record("b", clock.epoch, 0.25))
        assert ledger.check(who).budget.id == "yearly" and ledger.check(who).used_usd == 0.75
        assert ledger.standing("daily").period_start == "2026-06-01T00:00:00.000000Z"
    finally:
        ledger.close()

    # Seeded again from the table at start: only this period's records count.
    clock.epoch = at("2026-06-01T12:00:00")
    again = BudgetLedger.open(str(tmp_path / "a.db"))
    try:
        assert (again.standing("daily").used_usd, again.standing("yearly").used_usd) == (0.25, 0.75)
    finally:
        again.close()
