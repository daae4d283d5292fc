"""One usage record per governed LLM call, made from its llm-call audit.

The cost is the one the client computed and sent with the audit (``metadata.cost_usd``, else
``metadata.cost``: the core sends LiteLLM's ``completion_cost``); only when it sent none is
it estimated from the price table (``pricing.py``), and ``cost_source`` says which
(``client``, ``price_table`` or ``none``). Records are keyed by the pre-check's context id:
an audit sent again for the same call (the core retries undelivered audits) replaces the
record instead of charging the call twice.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

from .attribution import Attribution

# LiteLLM's AxonFlow integration starts the summary of a failed call with this.
ERROR_PREFIX = "[ERROR]"


@dataclass(frozen=True)
class UsageRecord:
    """A call's tokens and cost, and who it is charged to (its attribution)."""

    request_id: str  # the pre-check's context id
    audit_id: str
    created_at: str
    attribution: Attribution
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    cost_source: str
    latency_ms: int
    success: bool
    error_message: Optional[str] = None

    def to_json(self) -> dict:
        """The SDK's ``UsageRecord``; ``tenant_id`` is the client, as in AxonFlow community."""
        who = self.attribution
        out: dict[str, Any] = {
            "id": self.audit_id,
            "request_id": self.request_id,
            "provider": self.provider,
            "model": self.model,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": self.cost_usd,
            "cost_source": self.cost_source,
            "latency_ms": self.latency_ms,
            "success": self.success,
            "created_at": self.created_at,
            "agent_id": who.agent,
            "tenant_id": who.agent,
            "user_id": who.user,
        }
        for key, value in (("org_id", who.organization), ("team_id", who.team), ("workflow_id", who.workflow)):
            if value:
                out[key] = value
        if self.error_message:
            out["error_message"] = self.error_message
        return out

    def row(self) -> dict:
        values = asdict(self)
        del values["attribution"]
        values.update(self.attribution._asdict())
        values["success"] = int(self.success)
        return values


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return 0
    return max(0, min(int(value), 2**62))


def client_cost(metadata: Any) -> Optional[float]:
    """The cost the client sent: ``metadata.cost_usd``, else ``metadata.cost``; None if neither."""
    if not isinstance(metadata, dict):
        return None
    for key in ("cost_usd", "cost"):
        value = metadata.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value) and value >= 0:
            return float(value)
    return None


def tokens_of(body: dict) -> tuple[int, int]:
    usage = body.get("token_usage")
    if not isinstance(usage, dict):
        return 0, 0
    return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))


def record_from_audit(
    body: dict, *, context_id: str, audit_id: str, now: str, attribution: Attribution,
    cost: float, cost_source: str,
) -> UsageRecord:
    """The usage record of an llm-call audit the agent has just accepted."""
    tokens_in, tokens_out = tokens_of(body)
    summary = body.get("response_summary")
    failed = isinstance(summary, str) and summary.startswith(ERROR_PREFIX)
    return UsageRecord(
        request_id=context_id,
        audit_id=audit_id,
        created_at=now,
        attribution=attribution,
        provider=str(body.get("provider", ""))[:200],
        model=str(body.get("model", ""))[:200],
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=cost,
        cost_source=cost_source,
        latency_ms=_count(body.get("latency_ms")),
        success=not failed,
        error_message=summary[len(ERROR_PREFIX):].strip()[:500] if failed else None,
    )
