"""The audit trail: one entry per pre-check decision, completed by the llm-call audit.

A decision row is written when the pre-check answers (so a blocked call is in the trail)
and the same row is completed with model, provider, tokens, latency, response summary
and cost when ``POST /api/audit/llm-call`` arrives — an allowed call is one entry.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Optional

from . import timestamps
from .errors import bad_request

QUERY_PREVIEW_CHARS = 200
RESPONSE_SUMMARY_CHARS = 2000
MAX_SEARCH_LIMIT = 1000
DEFAULT_SEARCH_LIMIT = 100
_MAX_INT = 2**62
_MAX_COUNT = 2**53 - 1  # tokens and latency: the largest integer JSON (and the audit chain) keeps exact


def decision_row(
    context_id: str,
    now: str,
    expires_at: str,
    client_id: str,
    tenant_id: str,
    user_email: str,
    decision: str,
    policies: list[str],
    block_reason: Optional[str],
    query: str,
    preview: str,
) -> tuple:
    """Values for ``Store.insert_decision``; ``preview`` comes from ``query_preview``."""
    return (
        context_id,
        now,
        expires_at,
        client_id,
        tenant_id,
        user_email,
        "llm_chat",
        decision,
        json.dumps(policies) if policies else "[]",
        block_reason,
        preview,
        hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest(),
    )


def query_preview(query: str, evaluation) -> str:
    """The stored preview: the first characters of the query with every PII match masked.

    The trail is read by more people than the prompt's author: the spans of redacting
    policies and of PII and sensitive-data policies (which the profile may only warn
    about) read ``[REDACTED:<policy id>]``, overlapping spans merged, as in the redaction.
    """
    spans = sorted(
        (start, end, m.policy.id)
        for m in evaluation.matches
        if m.action == "redact" or m.policy.category.startswith(("pii", "sensitive"))
        for start, end in m.spans
        if start < QUERY_PREVIEW_CHARS
    )
    if not spans:
        return query[:QUERY_PREVIEW_CHARS]
    out, cursor = [], 0
    for start, end, policy_id in spans:
        if start < cursor:
            cursor = max(cursor, end)
            continue
        out.append(query[cursor:start])
        out.append(f"[REDACTED:{policy_id}]")
        cursor = end
    out.append(query[cursor:QUERY_PREVIEW_CHARS + 64])
    return "".join(out)[:QUERY_PREVIEW_CHARS]


def _non_negative_int(value: Any, field: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_request(f"{field} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise bad_request(f"{field} must be a finite number")
    return max(0, min(int(value), _MAX_COUNT))


def completion_values(body: dict, audit_id: str, now: str) -> tuple:
    """Values for ``Store.complete_call`` from an llm-call audit body (already validated)."""
    usage = body.get("token_usage") or {}
    if not isinstance(usage, dict):
        raise bad_request("token_usage must be an object")
    prompt = _non_negative_int(usage.get("prompt_tokens"), "token_usage.prompt_tokens")
    completion = _non_negative_int(usage.get("completion_tokens"), "token_usage.completion_tokens")
    total = _non_negative_int(usage.get("total_tokens"), "token_usage.total_tokens") or (
        prompt + completion
    )
    latency = _non_negative_int(body.get("latency_ms"), "latency_ms")
    summary = body.get("response_summary")
    if summary is not None and not isinstance(summary, str):
        raise bad_request("response_summary must be a string")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise bad_request("metadata must be an object")
    cost = metadata.get("cost_usd", metadata.get("cost"))  # as budgets/usage.py reads it
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost):
        cost = None
    return (
        audit_id,
        now,
        body["provider"],
        body["model"],
        prompt,
        completion,
        total,
        latency,
        (summary or "")[:RESPONSE_SUMMARY_CHARS],
        float(cost) if cost is not None else None,
        json.dumps(metadata, default=str)[:20000],
    )


def entry_json(row) -> dict:
    """An ``AuditLogEntry`` as the orchestrator sends it (SDK-required keys always set).

    ``policy_details.approval_status`` says how the HITL request raised for this decision
    ended (``pending``, ``approved``, ``rejected``, ``expired``), when there is one;
    ``policy_details.policy_version`` names the policy set that decided (``policy_bundle``).
    """
    details = {"policies": json.loads(row["policies"]), "block_reason": row["block_reason"],
               "policy_version": row["policy_version"], "decision_id": row["id"]}
    if row["approval_status"]:
        details["approval_status"] = row["approval_status"]
    entry = {
        "id": row["id"],
        "request_id": row["id"],
        "timestamp": row["timestamp"],
        "user_email": row["user_email"],
        "client_id": row["client_id"],
        "tenant_id": row["tenant_id"],
        "request_type": row["request_type"],
        "policy_decision": row["policy_decision"],
        "policy_details": details,
        "query": row["query_preview"],
        # The SDK's AuditLogEntry keeps no `query`; its `query_summary` carries the preview.
        "query_summary": row["query_preview"],
        "query_hash": row["query_hash"],
        "provider": row["provider"],
        "model": row["model"],
        "tokens_used": row["tokens_used"],
        "response_time_ms": row["response_time_ms"],
        "audit_id": row["audit_id"],
        "completed_at": row["completed_at"],
    }
    if row["completed_at"]:
        entry["prompt_tokens"] = row["prompt_tokens"]
        entry["completion_tokens"] = row["completion_tokens"]
        entry["response_sample"] = row["response_summary"]
        if row["cost"] is not None:
            entry["cost"] = row["cost"]
        entry["metadata_json"] = json.loads(row["metadata"] or "{}")
    return entry


def _int_field(body: dict, name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"Invalid request body: {name} must be an integer")
    return max(low, min(value, high))


def search_filters(body: dict, tenant_scope: Optional[str]) -> tuple[list[str], list[Any], int, int]:
    """SQL conditions, parameters, limit and offset for ``POST /api/v1/audit/search``."""
    limit = _int_field(body, "limit", DEFAULT_SEARCH_LIMIT, 1, MAX_SEARCH_LIMIT)
    offset = _int_field(body, "offset", 0, 0, _MAX_INT)
    where: list[str] = []
    params: list[Any] = []
    if tenant_scope is not None:
        where.append("tenant_id = ?")
        params.append(tenant_scope)
    for field, column in (("client_id", "client_id"), ("user_email", "user_email")):
        value = body.get(field)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise bad_request(f"Invalid request body: {field} must be a string")
        where.append(f"{column} = ?")
        params.append(value)
    for field, op in (("start_time", ">="), ("end_time", "<=")):
        value = body.get(field)
        if value is None or value == "":
            continue
        try:
            where.append(f"timestamp {op} ?")
            params.append(timestamps.parse(value))
        except (TypeError, ValueError):
            raise bad_request(f"Invalid request body: {field} must be an ISO 8601 time") from None
    for field in ("action", "policy_decision"):
        value = body.get(field)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise bad_request(f"Invalid request body: {field} must be a string")
        where.append("policy_decision = ?")
        params.append(_normalise_verdict(value))
    for field in ("decision_id", "request_id"):
        value = body.get(field)
        if isinstance(value, str) and value:
            where.append("id = ?")
            params.append(value)
    policy = body.get("policy_name")
    if isinstance(policy, str) and policy:
        # policies is a JSON array of ids; match one element exactly.
        where.append("EXISTS (SELECT 1 FROM json_each(audit_entries.policies) WHERE value = ?)")
        params.append(policy)
    return where, params, limit, offset


_VERDICTS = {
    "allow": "allowed", "allowed": "allowed", "deny": "blocked", "denied": "blocked",
    "block": "blocked", "blocked": "blocked", "redact": "redacted", "redacted": "redacted",
    "needs_approval": "needs_approval", "require_approval": "needs_approval",
}


def _normalise_verdict(value: str) -> str:
    return _VERDICTS.get(value.strip().lower(), value)
