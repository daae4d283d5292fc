"""Budget periods in UTC, as AxonFlow resets them.

Daily at midnight UTC, weekly on Monday, monthly on the 1st, quarterly on 1 January, April,
July and October, yearly on 1 January (``getPeriodStart`` in AxonFlow's
``platform/orchestrator/cost/service.go``, and docs/governance/cost-controls.md, both in
https://github.com/getaxonflow/axonflow). Bounds are in the agent's timestamp form
(``timestamps.py``), so they compare with stored times as plain text.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .. import timestamps
from .spec import PERIODS


def _start(period: str, now: datetime) -> datetime:
    day = datetime(now.year, now.month, now.day, tzinfo=timezone.utc)
    if period == "daily":
        return day
    if period == "weekly":
        return day - timedelta(days=now.weekday())  # Monday is 0
    if period == "monthly":
        return day.replace(day=1)
    if period == "quarterly":
        return day.replace(month=(now.month - 1) // 3 * 3 + 1, day=1)
    if period == "yearly":
        return day.replace(month=1, day=1)
    raise ValueError(f"unknown period {period!r}")


def _add_months(start: datetime, months: int) -> datetime:
    index = start.month - 1 + months
    return start.replace(year=start.year + index // 12, month=index % 12 + 1)


def _end(period: str, start: datetime) -> datetime:
    if period == "daily":
        return start + timedelta(days=1)
    if period == "weekly":
        return start + timedelta(days=7)
    return _add_months(start, {"monthly": 1, "quarterly": 3, "yearly": 12}[period])


def bounds(period: str, epoch: float) -> tuple[str, str]:
    """(start, end) of the period containing ``epoch``: start inclusive, end exclusive."""
    now = datetime.fromtimestamp(epoch, timezone.utc)
    start = _start(period, now)
    return _text(start), _text(_end(period, start))


def _text(moment: datetime) -> str:
    return timestamps.format_epoch(moment.timestamp())


class CurrentPeriods:
    """The current bounds of every period, recomputed only when the soonest one ends.

    The pre-check reads them on every call; a comparison with one float is all that costs
    until midnight UTC.
    """

    def __init__(self, epoch: float) -> None:
        self.refresh(epoch)

    def refresh(self, epoch: float) -> None:
        self.bounds = {period: bounds(period, epoch) for period in PERIODS}
        # Every period ends at a midnight, and the day ends first.
        self.valid_until = datetime.fromtimestamp(epoch, timezone.utc).replace(
            hour=0, minute=0, second=0, microsecond=0
        ).timestamp() + 86400

    def current(self, epoch: float) -> bool:
        """True while the bounds still hold; False once they must be refreshed."""
        return epoch < self.valid_until

    @property
    def earliest_start(self) -> str:
        return min(start for start, _ in self.bounds.values())
