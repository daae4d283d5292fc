"""Transitional: the official SDK's models turned into the records of `core/records.py`.

Views take only records. Until `GovernanceConsole` (axonflow_notebook/core/review.py) returns
them itself, the callers in this branch pass console results through these; a value that is
already a record (or a `(records, total)` page) passes unchanged, so this module can be deleted
once the console returns records, without touching any view.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from ...core.records import ApprovalRequestRecord, AuditEntry, AuditPage, PolicyRecord
from .format import parse_time, word


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _when(value: Any) -> Optional[dt.datetime]:
    seconds = parse_time(value)
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def request_record(obj: Any) -> ApprovalRequestRecord:
    if isinstance(obj, ApprovalRequestRecord):
        return obj
    return ApprovalRequestRecord(
        request_id=str(_get(obj, "request_id", "")), status=str(_get(obj, "status", "") or ""),
        original_query=str(_get(obj, "original_query", "") or ""),
        policy_id=str(_get(obj, "triggered_policy_id", "") or ""),
        policy_name=str(_get(obj, "triggered_policy_name", "") or ""),
        trigger_reason=str(_get(obj, "trigger_reason", "") or ""),
        severity=str(_get(obj, "severity", "") or ""), client_id=str(_get(obj, "client_id", "") or ""),
        user_id=_get(obj, "user_id"), created_at=_when(_get(obj, "created_at")),
        expires_at=_when(_get(obj, "expires_at")), reviewer_id=_get(obj, "reviewer_id"),
        reviewer_email=_get(obj, "reviewer_email"), review_comment=_get(obj, "review_comment"),
        reviewed_at=_when(_get(obj, "reviewed_at")), request_type=str(_get(obj, "request_type", "") or ""),
        context=dict(_get(obj, "request_context") or {}))


def queue_page(value: Any) -> tuple[list[ApprovalRequestRecord], int]:
    """`(records, total)` from the console's `list_queue` (a page, a list, or already a tuple)."""
    if isinstance(value, tuple) and len(value) == 2:
        items, total = value
    else:
        items = _get(value, "items", value)
        total = _get(value, "total", None)
    records = [request_record(i) for i in (items or [])]
    return records, int(total) if total is not None else len(records)


def policy_record(obj: Any) -> PolicyRecord:
    if isinstance(obj, PolicyRecord):
        return obj
    return PolicyRecord(
        id=str(_get(obj, "policy_id") or _get(obj, "id") or ""), name=str(_get(obj, "name", "") or ""),
        category=word(_get(obj, "category")), action=word(_get(obj, "action")).replace(" ", "_"),
        severity=word(_get(obj, "severity")), priority=int(_get(obj, "priority") or 0),
        enabled=bool(_get(obj, "enabled", True)), pattern=str(_get(obj, "pattern", "") or ""),
        description=str(_get(obj, "description", "") or ""), tier=word(_get(obj, "tier")))


def audit_entry(obj: Any) -> AuditEntry:
    if isinstance(obj, AuditEntry):
        return obj
    details = _get(obj, "policy_details") or {}
    details = details if isinstance(details, dict) else {}
    policies = details.get("policies") or _get(obj, "policy_violations") or []
    tokens = _get(obj, "tokens_used") or 0
    return AuditEntry(
        id=str(_get(obj, "id", "")), timestamp=_when(_get(obj, "timestamp")),
        decision=str(_get(obj, "policy_decision", "") or ""),
        policies=tuple(str(p.get("id", p) if isinstance(p, dict) else p) for p in policies),
        block_reason=details.get("block_reason"), model=str(_get(obj, "model", "") or ""),
        provider=str(_get(obj, "provider", "") or ""), prompt_tokens=0, completion_tokens=0,
        total_tokens=int(tokens), cost_usd=details.get("cost_usd"),
        latency_ms=_get(obj, "response_time_ms") or _get(obj, "latency_ms"),
        query_preview=str(_get(obj, "query_summary", "") or _get(obj, "query", "") or ""),
        client_id=str(_get(obj, "client_id", "") or ""), user=str(_get(obj, "user_email", "") or ""),
        audit_id=None, metadata=dict(details))


def audit_page(value: Any) -> AuditPage:
    if isinstance(value, AuditPage):
        return value
    entries = [audit_entry(e) for e in (_get(value, "entries", value) or [])]
    return AuditPage(entries=tuple(entries), total=int(_get(value, "total", len(entries)) or 0),
                     limit=int(_get(value, "limit", len(entries)) or 0),
                     offset=int(_get(value, "offset", 0) or 0))


__all__ = ["request_record", "queue_page", "policy_record", "audit_entry", "audit_page"]
