"""BatchState: the notebook's fold of one batch's events (core/events.py, the batch family).

Counts by status, rows per second, ETA, spend against the budget, the last few rows, and the
held rows (grouped by policy) with what has happened to each request. The live widget, the
terminal line and the static summary are all drawn from it.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from ...core.events import (
    ApprovalDecided,
    ApprovalRequested,
    BatchFinished,
    BatchPaused,
    BatchStarted,
    RowFinished,
    RowStarted,
)

STATUS_ORDER = ("allowed", "redacted", "approved", "blocked", "rejected", "expired", "failed",
                "skipped_budget", "cancelled")
STATUS_TONES = {"allowed": "ok", "redacted": "redact", "approved": "ok", "blocked": "bad", "rejected": "bad",
                "expired": "warn", "failed": "bad", "skipped_budget": "warn", "cancelled": "mute",
                "held": "info"}
RECENT = 5


@dataclass
class HeldRow:
    index: int
    request_id: str
    policy: str
    status: str = "pending"  # pending | sending | approved | rejected | expired | cancelled | error
    note: str = ""


class BatchState:
    def __init__(self, *, total: int, model: str, preview: Callable[[int], str], simulated: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.total = total
        self.model = model
        self.simulated = simulated
        self.preview = preview
        self._clock = clock
        self.batch_id = ""
        self.started_at: Optional[float] = None
        self.ended_at: Optional[float] = None
        self.counts: Dict[str, int] = {}
        self.done = 0
        self.spent_usd: Optional[float] = None
        self.forecast_usd: Optional[float] = None
        self.forecast_basis = ""
        self.budget_usd: Optional[float] = None
        self.axonflow_headroom_usd: Optional[float] = None  # what AxonFlow's tightest budget had left
        self.axonflow_budget: Optional[str] = None  # that budget in words (core/batch/axonflow_budget.py)
        self.concurrency = 0
        self.rpm: Optional[float] = None
        self.tpm: Optional[float] = None
        self.ungoverned = 0
        self.recent: Deque[Tuple[int, str, str]] = deque(maxlen=RECENT)  # (index, status, answer)
        self.held: Dict[str, HeldRow] = {}  # request id -> row, in the order they were held
        self.paused: Optional[BatchPaused] = None
        self.stopped: Optional[str] = None
        self.stop_detail = ""
        self.phase = ""  # before the batch starts: "loading LiteLLM…", "connecting…"
        self.cancelled: Optional[str] = None
        self._row_of_call: Dict[str, int] = {}
        self.version = 0  # bumped by every change (views redraw when it moved)
        self.held_version = 0  # bumped when the held rows change (the saved form follows them)

    # -- input --------------------------------------------------------------------------------
    def apply(self, event: Any) -> None:
        self.version += 1
        if isinstance(event, RowStarted):
            self._row_of_call[event.call_id] = event.index
        elif isinstance(event, RowFinished):
            self._row_finished(event)
        elif isinstance(event, ApprovalRequested):
            index = self._row_of_call.get(event.call_id)
            if index is not None:
                self.held[event.request_id] = HeldRow(index, event.request_id, event.policy or "—")
                self.held_version += 1
        elif isinstance(event, ApprovalDecided):
            row = self.held.get(event.request_id)
            if row is not None:
                row.status = {"timeout": "expired"}.get(event.status, event.status)
                row.note = " ".join(x for x in (event.reviewer or "", event.comment or "") if x)[:200]
                self.held_version += 1
        elif isinstance(event, BatchStarted):
            self.batch_id = event.call_id
            self.started_at = event.at
            self.forecast_usd, self.forecast_basis = event.forecast_usd, event.forecast_basis
            self.budget_usd, self.concurrency = event.budget_usd, event.concurrency
            self.rpm, self.tpm = event.rpm, event.tpm
            self.axonflow_headroom_usd = event.axonflow_headroom_usd
            self.axonflow_budget = event.axonflow_budget
            self.phase = ""
        elif isinstance(event, BatchPaused):
            self.paused = event
            if event.reason == "budget":
                self.stopped, self.stop_detail = "budget", event.detail
        elif isinstance(event, BatchFinished):
            self.ended_at = event.at
            self.stopped = event.stopped or self.stopped
            self.paused = None

    def _row_finished(self, event: RowFinished) -> None:
        self.done += 1
        self.counts[event.status] = self.counts.get(event.status, 0) + 1
        if event.cost_usd is not None:
            self.spent_usd = (self.spent_usd or 0.0) + event.cost_usd
        if event.ungoverned:
            self.ungoverned += 1
        self._row_of_call.pop(event.call_id, None)
        if event.status not in ("skipped_budget", "cancelled") or event.call_id:
            self.recent.append((event.index, event.status, event.preview))
        if event.request_id and event.request_id in self.held:
            row = self.held[event.request_id]
            if row.status in ("pending", "sending"):
                row.status = event.status if event.status in ("cancelled", "expired") else row.status
            self.held_version += 1

    # -- derived ------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.ended_at is not None

    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return max(0.0, (self.ended_at or self._clock()) - self.started_at)

    def rate(self) -> Optional[float]:
        """Rows per second so far (None until a row has ended)."""
        elapsed = self.elapsed()
        ran = self.done - self.counts.get("skipped_budget", 0) - self.counts.get("cancelled", 0)
        return ran / elapsed if ran > 0 and elapsed > 0 else None

    def eta(self) -> Optional[float]:
        """Seconds until the rows not held for a reviewer have run (None when unknown or none left)."""
        rate = self.rate()
        remaining = self.total - self.done - len(self.pending_held())
        if rate is None or self.finished or self.stopped or remaining <= 0:
            return None
        return remaining / rate

    def pending_held(self) -> List[HeldRow]:
        return [row for row in self.held.values() if row.status in ("pending", "sending")]

    def held_groups(self) -> List[Tuple[str, List[HeldRow]]]:
        """Held rows by policy (policies in the order first held), rows by index."""
        groups: Dict[str, List[HeldRow]] = {}
        for row in self.held.values():
            groups.setdefault(row.policy, []).append(row)
        return [(policy, sorted(rows, key=lambda r: r.index)) for policy, rows in groups.items()]

    def ordered_counts(self) -> List[Tuple[str, int]]:
        counts = [(status, self.counts[status]) for status in STATUS_ORDER if self.counts.get(status)]
        waiting = len(self.pending_held())
        return counts + ([("held", waiting)] if waiting else [])


__all__ = ["BatchState", "HeldRow", "STATUS_TONES", "STATUS_ORDER"]
