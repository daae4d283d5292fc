"""The SDK's models (or AxonFlow's raw JSON) turned into the project's records, once.

Every converter takes an SDK pydantic model or a plain mapping, reads each field
by name with a default, and ignores fields it does not know: an older or newer
AxonFlow that leaves a field out or adds one still converts. Enums become plain
words (`require_approval`, never `PolicyAction.REQUIRE_APPROVAL`); timestamps
become timezone-aware datetimes.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import enum
import json
from typing import Any, Iterable, Mapping, Optional, Tuple

from .records import ApprovalRequestRecord, AuditEntry, AuditPage, PolicyChange, PolicyRecord

_MISSING = object()
_ABC_MAPPING = collections.abc.Mapping  # isinstance through typing.Mapping costs several times more


def field(source: Any, name: str, default: Any = None) -> Any:
    """`source[name]` or `source.name`; `default` when absent or None."""
    if type(source) is dict or isinstance(source, _ABC_MAPPING):  # raw JSON, mostly: 20 lookups an entry
        value = source.get(name, _MISSING)
    else:
        value = getattr(source, name, _MISSING)
    return default if value is _MISSING or value is None else value


def word(value: Any) -> str:
    """An enum or string as the plain lower-case word it stands for."""
    if isinstance(value, enum.Enum):
        value = value.value
    return str(value).strip().lower() if value is not None else ""


def when(value: Any) -> Optional[dt.datetime]:
    """A timestamp (datetime, RFC 3339 text or epoch seconds) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed.replace(tzinfo=dt.timezone.utc) if parsed.tzinfo is None else parsed.astimezone(dt.timezone.utc)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _optional_int(value: Any) -> Optional[int]:
    return None if value is None else _int(value)


def _float(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _strings(values: Any) -> Tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        return (values,) if values else ()
    if isinstance(values, Iterable):
        return tuple(str(v) for v in values if v not in (None, ""))
    return (str(values),)


def _mapping(value: Any) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, _ABC_MAPPING):
        return dict(value)
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def policy_record(policy: Any) -> PolicyRecord:
    """A static policy. Its id is the `policy_id` users see (`sys_pii_ssn`), else the UUID."""
    return PolicyRecord(
        id=str(field(policy, "policy_id") or field(policy, "id", "")),
        name=str(field(policy, "name", "")),
        category=word(field(policy, "category", "")),
        action=word(field(policy, "action", "")),
        severity=word(field(policy, "severity", "")),
        priority=_int(field(policy, "priority"), 0),
        enabled=bool(field(policy, "enabled", True)),
        pattern=str(field(policy, "pattern", "")),
        description=str(field(policy, "description", "")),
        tier=word(field(policy, "tier", "")),
        source=str(field(policy, "source", "")),
    )


def approval_record(request: Any) -> ApprovalRequestRecord:
    return ApprovalRequestRecord(
        request_id=str(field(request, "request_id", "")),
        status=word(field(request, "status", "")),
        original_query=str(field(request, "original_query", "")),
        policy_id=str(field(request, "triggered_policy_id", "")),
        policy_name=str(field(request, "triggered_policy_name", "")),
        trigger_reason=str(field(request, "trigger_reason", "")),
        severity=word(field(request, "severity", "")),
        client_id=str(field(request, "client_id", "")),
        user_id=field(request, "user_id"),
        created_at=when(field(request, "created_at")),
        expires_at=when(field(request, "expires_at")),
        reviewer_id=field(request, "reviewer_id"),
        reviewer_email=field(request, "reviewer_email"),
        review_comment=field(request, "review_comment"),
        reviewed_at=when(field(request, "reviewed_at")),
        request_type=str(field(request, "request_type", "")),
        context=_mapping(field(request, "request_context")),
    )


_APPROVAL_OUTCOMES = ("pending", "approved", "rejected", "expired", "overridden")


def audit_entry(entry: Any) -> AuditEntry:
    """One audit-search entry; a held call's decision says how its approval ended."""
    details = _mapping(field(entry, "policy_details"))
    decision = word(field(entry, "policy_decision") or field(entry, "decision", ""))
    approval = word(details.get("approval_status"))
    if approval in _APPROVAL_OUTCOMES and approval != "pending":
        decision = approval
    metadata = _mapping(field(entry, "metadata_json") or field(entry, "metadata"))
    cost = _float(field(entry, "cost"))
    if cost is None:
        cost = _float(metadata.get("cost_usd"))
    policies = _strings(details.get("policies")) or _strings(field(entry, "policy_violations"))
    return AuditEntry(
        id=str(field(entry, "id", "")),
        timestamp=when(field(entry, "timestamp")),
        decision=decision,
        policies=policies,
        block_reason=details.get("block_reason"),
        model=str(field(entry, "model", "")),
        provider=str(field(entry, "provider", "")),
        prompt_tokens=_int(field(entry, "prompt_tokens")),
        completion_tokens=_int(field(entry, "completion_tokens")),
        total_tokens=_int(field(entry, "total_tokens") or field(entry, "tokens_used")),
        cost_usd=cost,
        latency_ms=_optional_int(field(entry, "response_time_ms") or field(entry, "latency_ms")),
        query_preview=str(field(entry, "query") or field(entry, "query_summary", "")),
        client_id=str(field(entry, "client_id", "")),
        user=str(field(entry, "user_email") or field(entry, "user", "")),
        audit_id=field(entry, "audit_id"),
        metadata=metadata,
        policy_version=details.get("policy_version") if isinstance(details.get("policy_version"), str) else None,
    )


def audit_page(body: Any, limit: int, offset: int) -> AuditPage:
    """AxonFlow's audit-search answer: `{entries, total, limit, offset}` or a bare array."""
    raw = body if isinstance(body, list) else field(body, "entries", [])
    entries = tuple(audit_entry(e) for e in raw if isinstance(e, _ABC_MAPPING) or hasattr(e, "id"))
    if isinstance(body, list):
        return AuditPage(entries, len(entries), limit, offset)
    return AuditPage(entries, _int(field(body, "total"), len(entries)), _int(field(body, "limit"), limit),
                     _int(field(body, "offset"), offset))


def policy_change(data: Any) -> PolicyChange:
    return PolicyChange(
        version=str(field(data, "version", "")),
        loaded_at=when(field(data, "loaded_at")),
        source=str(field(data, "source", "")),
        added=_strings(field(data, "added")),
        changed=_strings(field(data, "changed")),
        removed=_strings(field(data, "removed")),
    )


__all__ = ["policy_record", "approval_record", "audit_entry", "audit_page", "policy_change", "field", "word", "when"]
