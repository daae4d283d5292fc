"""One row per governed call, the same shape from either source: AxonFlow's trail or the journal.

`TrailRow` fields are the columns of `audit_frame`'s DataFrame (frame.py types them). Decisions are
AxonFlow's words: allowed, blocked, redacted, needs_approval (still held), approved, rejected,
expired, and the journal's own: ungoverned (ran without AxonFlow under fail-open), refused
(AxonFlow unreachable under fail-closed), failed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..core.records import AuditEntry


@dataclass
class TrailRow:
    timestamp: Optional[dt.datetime]
    decision: str
    policies: List[str] = field(default_factory=list)
    model: Optional[str] = None
    provider: Optional[str] = None
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    cost_usd: Optional[float] = None
    latency_ms: Optional[float] = None
    user: Optional[str] = None
    client_id: Optional[str] = None
    policy_version: Optional[str] = None
    block_reason: Optional[str] = None
    query_preview: Optional[str] = None
    reviewer: Optional[str] = None
    review_comment: Optional[str] = None
    approval_seconds: Optional[float] = None
    notebook: Optional[str] = None
    script: Optional[str] = None
    cell_id: Optional[str] = None
    execution_count: Optional[int] = None
    kernel_session: Optional[str] = None
    kernel_id: Optional[str] = None
    delivery: Optional[str] = None  # the journal's audit delivery state (local rows only)
    ungoverned: bool = False
    call_id: Optional[str] = None
    context_id: Optional[str] = None
    audit_id: Optional[str] = None
    source: str = "server"


COLUMNS: Tuple[str, ...] = tuple(f.name for f in fields(TrailRow))

_HELD_OUTCOMES = {"approved": "approved", "rejected": "rejected", "expired": "expired", "timeout": "expired",
                  "cancelled": "cancelled", "error": "error"}


def local_decision(raw: Optional[str], error: Optional[str]) -> str:
    """The journal's `decision` column as AxonFlow's word."""
    text = (raw or "").strip()
    if text.startswith("needs_approval:"):
        return _HELD_OUTCOMES.get(text.split(":", 1)[1].strip(), "needs_approval")
    if text == "approved":  # the pre-check approved the call
        return "allowed"
    if text:
        return text
    return "failed" if error else "unknown"


def _loads(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _epoch(value: Any) -> Optional[dt.datetime]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.timezone.utc)
    return None


def _int(value: Any) -> Optional[int]:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def from_journal(row: Mapping[str, Any]) -> TrailRow:
    """A journal row (a mapping of its columns) as a trail row."""
    provenance = _loads(row.get("provenance")) or {}
    policies = _loads(row.get("policies"))
    requested, decided = row.get("approval_requested_at"), row.get("approval_decided_at")
    waited = decided - requested if isinstance(requested, (int, float)) and isinstance(decided, (int, float)) else None
    decision = local_decision(row.get("decision"), row.get("error"))
    preview = row.get("prompt_preview") if isinstance(row.get("prompt_preview"), str) else None
    return TrailRow(
        timestamp=_epoch(row.get("created_at")), decision=decision,
        policies=[str(p) for p in policies] if isinstance(policies, list) else [],
        model=row.get("model"), provider=row.get("provider"),
        prompt_tokens=_int(row.get("prompt_tokens")), completion_tokens=_int(row.get("completion_tokens")),
        total_tokens=_int(row.get("total_tokens")), cost_usd=row.get("cost_usd"), latency_ms=row.get("latency_ms"),
        user=provenance.get("user") or provenance.get("os_user"), client_id=provenance.get("client_id"),
        policy_version=row.get("policy_version") or provenance.get("policy_version"),
        block_reason=row.get("block_reason"), query_preview=preview,
        reviewer=row.get("reviewer"), review_comment=row.get("review_comment"), approval_seconds=waited,
        notebook=provenance.get("notebook"), script=provenance.get("script"), cell_id=provenance.get("cell_id"),
        execution_count=_int(provenance.get("execution_count")), kernel_session=provenance.get("kernel_session"),
        kernel_id=provenance.get("kernel_id"), delivery=row.get("delivery"), ungoverned=decision == "ungoverned",
        call_id=row.get("call_id"), context_id=row.get("context_id"), audit_id=row.get("audit_id"), source="local",
    )


def from_audit(entry: AuditEntry, approval: Optional[Mapping[str, Any]] = None) -> TrailRow:
    """An entry of AxonFlow's trail (with its approval request, if one was found) as a trail row."""
    metadata: Dict[str, Any] = dict(entry.metadata or {})
    provenance = metadata.get("provenance") if isinstance(metadata.get("provenance"), dict) else {}
    approval = approval or {}
    tokens = entry.total_tokens or None
    return TrailRow(
        timestamp=entry.timestamp, decision=entry.decision or "unknown", policies=list(entry.policies),
        model=entry.model or None, provider=entry.provider or None,
        prompt_tokens=entry.prompt_tokens if tokens else None,
        completion_tokens=entry.completion_tokens if tokens else None, total_tokens=tokens,
        cost_usd=entry.cost_usd, latency_ms=entry.latency_ms,
        user=entry.user or provenance.get("user") or None, client_id=entry.client_id or None,
        policy_version=entry.policy_version or provenance.get("policy_version"),
        block_reason=entry.block_reason, query_preview=entry.query_preview or None,
        reviewer=approval.get("reviewer"), review_comment=approval.get("comment"),
        approval_seconds=approval.get("seconds"),
        notebook=provenance.get("notebook"), script=provenance.get("script"), cell_id=provenance.get("cell_id"),
        execution_count=_int(provenance.get("execution_count")), kernel_session=provenance.get("kernel_session"),
        kernel_id=provenance.get("kernel_id"), call_id=metadata.get("call_id"), context_id=entry.id or None,
        audit_id=entry.audit_id, source="server",
    )


__all__ = ["TrailRow", "COLUMNS", "from_journal", "from_audit", "local_decision"]
