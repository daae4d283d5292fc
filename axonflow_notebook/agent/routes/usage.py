"""Usage and pricing: ``/api/v1/usage``, ``/api/v1/usage/breakdown``, ``/api/v1/usage/records``,
``/api/v1/pricing``, with the SDK's ``UsageSummary``, ``UsageBreakdown``,
``UsageRecordsResponse`` and ``PricingListResponse`` shapes (axonflow/types.py).

Usage is read from the usage table (``budgets/usage_db.py``), one record per audited call.
The window is the current ``period`` (default monthly, UTC) unless ``start_time`` /
``end_time`` are given; ``team_id``, ``agent_id``, ``workflow_id``, ``user_id``, ``org_id``,
``provider`` and ``model`` narrow it.
"""

from __future__ import annotations

import asyncio
import time

from starlette.routing import Route

from .. import timestamps
from ..budgets.enforcement import PRICES
from ..budgets.periods import bounds
from ..budgets.spec import PERIODS
from ..budgets.usage_db import FILTER_COLUMNS
from ..errors import ApiError, bad_request
from ..plumbing import json_response
from .budgets import int_param

# group_by value -> usage column (AxonFlow's ErrInvalidGroupBy names the same six).
GROUPS = {
    "provider": "provider", "model": "model", "agent": "agent", "team": "team", "user": "user",
    "workflow": "workflow", "organization": "organization",
}


def _db(request):
    return request.app.state.agent.budgets.db


def _time_param(request, name: str):
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return timestamps.parse(raw)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an ISO 8601 time, e.g. 2026-05-01T00:00:00Z") from None


def _window(request, *, with_period: bool = True) -> tuple[list[str], list, dict]:
    """SQL conditions, parameters and the window's ``period`` fields for a usage query."""
    period = request.query_params.get("period") or "monthly"
    if period not in PERIODS:
        raise bad_request(f"period must be one of {', '.join(PERIODS)}")
    start, end = _time_param(request, "start_time"), _time_param(request, "end_time")
    where: list[str] = []
    params: list = []
    fields: dict = {}
    if with_period or start is not None or end is not None:
        period_start, period_end = bounds(period, time.time())
        if start is None and end is None:
            start, end = period_start, period_end
        fields = {"period": period, "period_start": start or "", "period_end": end or timestamps.now()}
        if start is not None:
            where.append("created_at >= ?")
            params.append(start)
        if end is not None:
            where.append("created_at < ?")
            params.append(end)
    for name, column in FILTER_COLUMNS.items():
        value = request.query_params.get(name)
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    return where, params, fields


async def usage_summary(request):
    where, params, fields = _window(request)
    row = _db(request).summary(where, params)
    requests = row["requests"]
    return json_response({
        "total_cost_usd": round(row["cost"], 9),
        "total_requests": requests,
        "total_tokens_in": row["tokens_in"],
        "total_tokens_out": row["tokens_out"],
        "average_cost_per_request": round(row["cost"] / requests, 9) if requests else 0.0,
        **fields,
    })


async def usage_breakdown(request):
    group_by = request.query_params.get("group_by") or "provider"
    if group_by not in GROUPS:
        raise bad_request(f"group_by must be one of {', '.join(GROUPS)}")
    where, params, fields = _window(request)
    rows = _db(request).breakdown(GROUPS[group_by], where, params)
    total = sum(r["cost"] for r in rows)
    items = [
        {
            "group_by": group_by,
            "group_value": r["value"],
            "cost_usd": round(r["cost"], 9),
            "percentage": round(r["cost"] / total * 100, 4) if total else 0.0,
            "request_count": r["requests"],
            "tokens_in": r["tokens_in"],
            "tokens_out": r["tokens_out"],
        }
        for r in rows
    ]
    return json_response({"group_by": group_by, "total_cost_usd": round(total, 9), "items": items, **fields})


async def usage_records(request):
    """Newest first; without ``period``, ``start_time`` or ``end_time`` every record."""
    limit = int_param(request, "limit", 100, 1, 1000)
    offset = int_param(request, "offset", 0, 0, 2**31)
    where, params, _ = _window(request, with_period="period" in request.query_params)
    records, total = _db(request).records(where, params, limit, offset)
    return json_response({
        "records": [r.to_json() for r in records], "total": total, "count": len(records),
        "limit": limit, "offset": offset,
    })


async def pricing(request):
    """One model's price (``PricingInfo``), or a list: ``{"pricing": [...], "providers": {...}}``.

    ``pricing`` is what the SDK reads; ``providers`` is AxonFlow's ``PricingList`` shape.
    """
    provider = request.query_params.get("provider") or None
    model = request.query_params.get("model") or None
    if not PRICES.loaded:
        await asyncio.get_running_loop().run_in_executor(None, PRICES.load)
    prices = PRICES.select(provider, model)
    if not prices and (provider or model):
        wanted = " of ".join(repr(v) for v in (model, provider) if v)
        raise ApiError(404, f"no price for {wanted} in the price list ({PRICES.source})")
    if provider and model and len(prices) == 1:
        return json_response(prices[0].to_json())
    providers: dict = {}
    for price in prices:
        providers.setdefault(price.provider, {})[price.model] = price.to_json()["pricing"]
    return json_response({"pricing": [p.to_json() for p in prices], "providers": providers})


ROUTES = [
    Route("/api/v1/usage", usage_summary, methods=["GET"]),
    Route("/api/v1/usage/breakdown", usage_breakdown, methods=["GET"]),
    Route("/api/v1/usage/records", usage_records, methods=["GET"]),
    Route("/api/v1/pricing", pricing, methods=["GET"]),
]
