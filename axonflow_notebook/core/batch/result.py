"""BatchResult: every row of a batch in input order, its totals, and a DataFrame of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional

from ..money import usd
from .rows import STATUSES, BatchRow


@dataclass(eq=False)
class BatchResult:
    """What a batch produced. Complete when its run ended; while it runs, rows fill in."""

    batch_id: str
    model: str
    rows: List[BatchRow]
    forecast_usd: Optional[float] = None
    forecast_basis: str = ""
    budget_usd: Optional[float] = None
    elapsed_s: float = 0.0
    stopped: Optional[str] = None  # "budget" or "cancelled" when some rows never ran
    stop_detail: str = ""  # why scheduling stopped, in words
    meta: Dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[BatchRow]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> BatchRow:
        return self.rows[index]

    @property
    def counts(self) -> Dict[str, int]:
        """Rows by status, in STATUSES order (statuses no row has are left out)."""
        found: Dict[str, int] = {}
        for row in self.rows:
            found[row.status] = found.get(row.status, 0) + 1
        ordered = {status: found.pop(status) for status in STATUSES if status in found}
        ordered.update(found)  # pending / running, while the batch runs
        return ordered

    @property
    def spent_usd(self) -> Optional[float]:
        """The cost LiteLLM computed, summed over the rows that have one (None: no row has)."""
        costs = [row.cost for row in self.rows if row.cost is not None]
        return sum(costs) if costs else None

    @property
    def texts(self) -> List[Optional[str]]:
        return [row.text for row in self.rows]

    @property
    def ok(self) -> bool:
        """True when every row went through (allowed, redacted or approved)."""
        return all(row.ok for row in self.rows)

    def to_pandas(self) -> Any:
        """One DataFrame row per item, in input order (pandas is an optional extra)."""
        import pandas as pd

        return pd.DataFrame({
            "status": [row.status for row in self.rows],
            "text": [row.text for row in self.rows],
            "policies": [list(row.policies) for row in self.rows],
            "audit_id": [row.audit_id for row in self.rows],
            "cost": pd.array([row.cost for row in self.rows], dtype="Float64"),
            "error": [_error_text(row.error) for row in self.rows],
            "approval": [row.approval.status if row.approval else None for row in self.rows],
            "request_id": [row.request_id for row in self.rows],
            "context_id": [row.context_id for row in self.rows],
            "ungoverned": [row.ungoverned for row in self.rows],
        })

    def summary_line(self) -> str:
        counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in self.counts.items())
        spent = self.spent_usd
        money = f", {usd(spent)} spent" if spent is not None else ""
        stop = f"; stopped: {self.stopped}" if self.stopped else ""
        return f"BatchResult({len(self.rows)} rows of {self.model}: {counts}{money}{stop})"

    def __repr__(self) -> str:
        return self.summary_line()


def _error_text(error: Optional[BaseException]) -> Optional[str]:
    if error is None:
        return None
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


__all__ = ["BatchResult"]
