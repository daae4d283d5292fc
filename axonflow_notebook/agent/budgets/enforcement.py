"""What budgets do to the gateway calls: the pre-check's answer, and usage from each audit.

Pre-check, as AxonFlow's gateway does it (budget check after the static policies, when they
did not block): over a blocking budget, ``402`` with a pre-check-shaped body
(``approved: false``, ``policies: ["budget_exceeded"]``, the budget's message as
``block_reason`` and top-level ``message``, ``budget_info``, ``expires_at`` = now), which the
SDK's ``pre_check`` turns into ``BudgetExceededError``; over a warning budget, the normal
answer plus ``X-Budget-Warning: <message>``; ``budget_info`` on every answer a budget covers.
"""

from __future__ import annotations

import asyncio
from typing import Optional

from ..errors import ApiError
from .attribution import Attribution
from .pricing import PriceTable
from .standing import Standing
from .usage import client_cost, record_from_audit, tokens_of

BUDGET_POLICY = "budget_exceeded"
WARNING_HEADER = b"x-budget-warning"
PRICES = PriceTable()  # LiteLLM's price list, read on first use (pricing.py)


class BudgetExceeded(ApiError):
    """The 402 answer of a pre-check over a blocking budget; its body is pre-check-shaped."""

    def __init__(self, context_id: str, standing: Standing, now: str) -> None:
        message = standing.message
        super().__init__(402, message)
        self.payload = {
            "context_id": context_id,
            "approved": False,
            "policies": [BUDGET_POLICY],
            "block_reason": message,
            "budget_info": standing.info(),
            "expires_at": now,
            "message": message,
        }

    def body(self) -> dict:
        return self.payload


def warning_headers(standing: Optional[Standing]) -> tuple:
    """``X-Budget-Warning`` for an answer over a budget that lets the call through."""
    if standing is None or not standing.warns:
        return ()
    # Header values are ASCII here; a name in another script reads back as \\u escapes.
    value = standing.message.encode("ascii", "backslashreplace")
    return ((WARNING_HEADER, value),)


async def call_cost(body: dict) -> tuple[float, str]:
    """(cost in USD, where it came from) for an llm-call audit body.

    The client's own figure when it sent one; else the price list's estimate for a model it
    knows; else 0 (``none``). The list is read off the event loop the first time.
    """
    cost = client_cost(body.get("metadata"))
    if cost is not None:
        return cost, "client"
    if not PRICES.loaded:
        await asyncio.get_running_loop().run_in_executor(None, PRICES.load)
    model, provider = body.get("model"), body.get("provider")
    price = PRICES.lookup(model, provider if isinstance(provider, str) else "") if isinstance(model, str) else None
    if price is None:
        return 0.0, "none"
    return price.cost(*tokens_of(body)), "price_table"


async def record_usage(
    ledger, body: dict, *, context_id: str, audit_id: str, now: str, client_id: str, user: str
) -> None:
    """Charge an accepted llm-call audit to its pre-check's attribution.

    The attribution the pre-check kept (when its context named a scope) is used; otherwise
    (or after a restart in between) the audit's own client and user are.
    """
    who = ledger.attribution_of(context_id) or Attribution("", "", client_id, "", user)
    cost, source = await call_cost(body)
    ledger.record(record_from_audit(
        body, context_id=context_id, audit_id=audit_id, now=now, attribution=who,
        cost=cost, cost_source=source,
    ))
