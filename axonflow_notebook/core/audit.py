"""The audit step behind a seam, so a durable local journal can plug in.

The pipeline builds one `AuditPayload` per finished call and hands it to the
logger's `AuditSink`; every registered audit hook then sees the payload and
the delivery outcome (delivered or not, and why), whatever the sink was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Protocol


@dataclass(frozen=True)
class AuditPayload:
    call_id: str
    context_id: Optional[str]
    model: str
    provider: str
    response_summary: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    latency_ms: int
    cost_usd: Optional[float] = None
    error: Optional[str] = None
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditOutcome:
    delivered: bool
    audit_id: Optional[str] = None
    detail: str = ""
    skipped_reason: Optional[str] = None  # a GovernanceSkipped reason when not delivered


class AuditSink(Protocol):
    async def deliver(self, payload: AuditPayload) -> AuditOutcome: ...


AuditHook = Callable[[AuditPayload, AuditOutcome], None]


def summary_with_error(summary: str, error: Optional[str]) -> str:
    if error:
        summary = f"[ERROR] {error}" if not summary else f"{summary}\n[ERROR] {error}"
    return summary[:2000]


__all__ = ["AuditPayload", "AuditOutcome", "AuditSink", "AuditHook", "summary_with_error"]
