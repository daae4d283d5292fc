"""The period of a query, a report or an export: `7d`, `12h`, `2026-01-31`, a datetime.

Every bound becomes a timezone-aware UTC datetime. A duration counts back from now; a date alone
means its midnight (UTC) for `since` and the end of that day for `until`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Optional

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
UTC = dt.timezone.utc


class PeriodError(ValueError):
    """A bound that is neither a duration (7d, 12h) nor a date or time."""


def when(value: Any, *, end: bool = False, now: Optional[dt.datetime] = None) -> Optional[dt.datetime]:
    """`value` as an aware UTC datetime (None stays None); `end`: a bare date means its end."""
    if value is None or value == "":
        return None
    now = now or dt.datetime.now(UTC)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dt.date):
        day = dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
        return day + dt.timedelta(days=1) - dt.timedelta(microseconds=1) if end else day
    if isinstance(value, dt.timedelta):
        return now - value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    match = _DURATION.match(text)
    if match:
        return now - dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PeriodError(f"{text!r} is neither a duration (7d, 12h, 30m, 2w) nor a date or time "
                          "(2026-01-31, 2026-01-31T09:00)") from None
    if len(text) <= 10 and end:  # a date alone: the whole day
        parsed = parsed + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class Period:
    since: Optional[dt.datetime]
    until: Optional[dt.datetime]

    @classmethod
    def of(cls, since: Any = None, until: Any = None) -> "Period":
        now = dt.datetime.now(UTC)
        period = cls(when(since, now=now), when(until, end=True, now=now))
        if period.since and period.until and period.since > period.until:
            raise PeriodError(f"the period starts ({period.since:%Y-%m-%d %H:%M}) after it ends "
                              f"({period.until:%Y-%m-%d %H:%M})")
        return period

    def contains(self, moment: Optional[dt.datetime]) -> bool:
        if moment is None:
            return False
        return (self.since is None or moment >= self.since) and (self.until is None or moment <= self.until)

    def label(self) -> str:
        start = f"{self.since:%Y-%m-%d %H:%M} UTC" if self.since else "the first record"
        end = f"{self.until:%Y-%m-%d %H:%M} UTC" if self.until else "now"
        return f"{start} to {end}"


__all__ = ["Period", "PeriodError", "when", "UTC"]
