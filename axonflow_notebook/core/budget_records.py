"""AxonFlow's budget and usage answers turned into the project's records, once.

Like sdk_records.py: each converter takes an SDK model or the raw JSON, reads each field by
name with a default and ignores fields it does not know. Shapes: the SDK's `Budget`,
`BudgetStatus`, `UsageSummary`, `UsageBreakdown` (axonflow/types.py), as AxonFlow's Cost
Controls API defines them (docs/api/orchestrator-api.yaml in
https://github.com/getaxonflow/axonflow); the embedded agent adds `source` and `description`
to a budget.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Tuple

from .records import BudgetRecord, BudgetStatusRecord, UsageBreakdownItem, UsageBreakdownRecord, UsageSummaryRecord
from .sdk_records import field, when, word


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _ints(values: Any) -> Tuple[int, ...]:
    if not isinstance(values, Iterable) or isinstance(values, (str, bytes)):
        return ()
    return tuple(_int(v) for v in values)


def budget_record(budget: Any) -> BudgetRecord:
    scope_id = field(budget, "scope_id")
    return BudgetRecord(
        id=str(field(budget, "id", "")),
        name=str(field(budget, "name", "") or field(budget, "id", "")),
        scope=word(field(budget, "scope", "")),
        scope_id=str(scope_id) if scope_id not in (None, "") else None,
        limit_usd=_float(field(budget, "limit_usd")),
        period=word(field(budget, "period", "")),
        on_exceed=word(field(budget, "on_exceed", "")),
        alert_thresholds=_ints(field(budget, "alert_thresholds", ())),
        enabled=bool(field(budget, "enabled", True)),
        source=str(field(budget, "source", "")),
        description=str(field(budget, "description", "")),
        created_at=when(field(budget, "created_at")),
        updated_at=when(field(budget, "updated_at")),
    )


def budget_status_record(status: Any, budget: Optional[BudgetRecord] = None) -> BudgetStatusRecord:
    """`budget`: the record to keep when the status's own copy has fewer fields (the SDK's)."""
    own = budget_record(field(status, "budget", {}))
    return BudgetStatusRecord(
        budget=budget if budget is not None and budget.id == own.id else own,
        used_usd=_float(field(status, "used_usd")),
        remaining_usd=_float(field(status, "remaining_usd")),
        percentage=_float(field(status, "percentage")),
        exceeded=bool(field(status, "is_exceeded", False)),
        blocked=bool(field(status, "is_blocked", False)),
        period_start=when(field(status, "period_start")),
        period_end=when(field(status, "period_end")),
    )


def usage_summary_record(summary: Any) -> UsageSummaryRecord:
    return UsageSummaryRecord(
        total_cost_usd=_float(field(summary, "total_cost_usd")),
        requests=_int(field(summary, "total_requests")),
        tokens_in=_int(field(summary, "total_tokens_in")),
        tokens_out=_int(field(summary, "total_tokens_out")),
        average_cost_usd=_float(field(summary, "average_cost_per_request")),
        period=word(field(summary, "period", "")),
        period_start=when(field(summary, "period_start")),
        period_end=when(field(summary, "period_end")),
    )


def usage_breakdown_record(breakdown: Any) -> UsageBreakdownRecord:
    items = tuple(
        UsageBreakdownItem(
            value=str(field(item, "group_value", "")),
            cost_usd=_float(field(item, "cost_usd")),
            percentage=_float(field(item, "percentage")),
            requests=_int(field(item, "request_count")),
            tokens_in=_int(field(item, "tokens_in")),
            tokens_out=_int(field(item, "tokens_out")),
        )
        for item in field(breakdown, "items", []) or []
    )
    return UsageBreakdownRecord(
        group_by=word(field(breakdown, "group_by", "")),
        total_cost_usd=_float(field(breakdown, "total_cost_usd")),
        items=items,
        period=word(field(breakdown, "period", "")),
        period_start=when(field(breakdown, "period_start")),
        period_end=when(field(breakdown, "period_end")),
    )


__all__ = ["budget_record", "budget_status_record", "usage_summary_record", "usage_breakdown_record"]
