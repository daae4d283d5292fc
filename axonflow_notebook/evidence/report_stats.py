"""What the report shows, computed from trail rows (no pandas, no plotting): one `ReportData`.

Decisions over time are binned by hour for a period of up to two days, else by day. Cost and
tokens are summed by model and by user; approval waits are the held calls' seconds from request
to decision; ungoverned calls are the journal's (AxonFlow never saw them).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .periods import UTC, Period
from .trail import TrailRow

# Outcome order in stacks and legends: fine first, then held, then stopped, then ungoverned.
OUTCOMES = ("allowed", "redacted", "approved", "needs_approval", "expired", "rejected", "blocked",
            "refused", "failed", "cancelled", "error", "unknown", "ungoverned")


@dataclass
class Usage:
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    priced: int = 0  # calls with a known cost


@dataclass
class ReportData:
    period: Period
    source: str  # "server" (AxonFlow's trail, plus the journal's ungoverned calls) or "local"
    calls: int
    bins: List[Tuple[dt.datetime, Counter]]  # (bin start, decisions in it)
    bin_label: str  # "hour" | "day"
    decisions: Counter
    policies: Counter
    by_model: Dict[str, Usage]
    by_user: Dict[str, Usage]
    approval_seconds: List[float]
    reviewers: Counter  # (reviewer, decision) -> calls
    ungoverned: List[TrailRow]
    policy_versions: Counter
    notes: List[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(u.tokens for u in self.by_model.values())

    @property
    def cost(self) -> Optional[float]:
        priced = [u for u in self.by_model.values() if u.priced]
        return sum(u.cost for u in priced) if priced else None


def _bin(moment: dt.datetime, by_hour: bool) -> dt.datetime:
    moment = moment.astimezone(UTC)
    if by_hour:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _span(rows: Sequence[TrailRow], period: Period) -> Tuple[Optional[dt.datetime], Optional[dt.datetime]]:
    times = [r.timestamp for r in rows if r.timestamp is not None]
    start = period.since or (min(times) if times else None)
    end = period.until or (max(times) if times else None)
    return start, end


def summarise(rows: Sequence[TrailRow], period: Period, source: str) -> ReportData:
    start, end = _span(rows, period)
    by_hour = start is not None and end is not None and (end - start) <= dt.timedelta(days=2)
    bins: Dict[dt.datetime, Counter] = defaultdict(Counter)
    if start is not None and end is not None:  # every bin of the period, empty ones too
        step = dt.timedelta(hours=1) if by_hour else dt.timedelta(days=1)
        cursor = _bin(start, by_hour)
        while cursor <= end and len(bins) < 400:
            bins[cursor]  # noqa: B018 (creates the empty bin)
            cursor += step
    decisions: Counter = Counter()
    policies: Counter = Counter()
    versions: Counter = Counter()
    reviewers: Counter = Counter()
    by_model: Dict[str, Usage] = defaultdict(Usage)
    by_user: Dict[str, Usage] = defaultdict(Usage)
    waits: List[float] = []
    for row in rows:
        decisions[row.decision] += 1
        if row.timestamp is not None:
            bins[_bin(row.timestamp, by_hour)][row.decision] += 1
        policies.update(row.policies)
        if row.policy_version:
            versions[row.policy_version] += 1
        for key, usage in ((row.model or "(no model)", by_model), (row.user or row.client_id or "(unknown)", by_user)):
            entry = usage[key]
            entry.calls += 1
            entry.tokens += row.total_tokens or 0
            if row.cost_usd is not None:
                entry.cost += row.cost_usd
                entry.priced += 1
        if row.approval_seconds is not None:
            waits.append(row.approval_seconds)
        if row.reviewer:
            reviewers[(row.reviewer, row.decision)] += 1
    return ReportData(
        period=period, source=source, calls=len(rows), bins=sorted(bins.items()),
        bin_label="hour" if by_hour else "day", decisions=decisions, policies=policies,
        by_model=dict(by_model), by_user=dict(by_user), approval_seconds=waits, reviewers=reviewers,
        ungoverned=[r for r in rows if r.ungoverned], policy_versions=versions,
    )


__all__ = ["ReportData", "Usage", "summarise", "OUTCOMES"]
