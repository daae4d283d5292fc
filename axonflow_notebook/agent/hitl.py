"""The HITL approval queue: validation of create/review input and the row's JSON.

Behaves like an AxonFlow stack with HITL enabled (reference §4), plus one rule of our own:
under an auth file a client may never decide a request it created.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, Optional

from . import timestamps
from .errors import bad_request

SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("pending", "approved", "rejected", "expired", "overridden")
DEFAULT_EXPIRY_SECONDS = 24 * 3600
MAX_EXPIRY_SECONDS = 7 * 24 * 3600
DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 100
ORG_ID = "local"
_MAX_TEXT = 1_000_000
_REQUIRED = (
    "client_id", "original_query", "request_type",
    "triggered_policy_id", "triggered_policy_name", "trigger_reason",
)
_OPTIONAL_TEXT = (
    "user_id", "eu_ai_act_article", "compliance_framework", "risk_classification", "notify_url",
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def status_payload() -> dict:
    return {
        "enabled": True,
        "mode": "enterprise",
        "features": {
            "queue": True, "approve_reject": True, "override": False, "expiration": True,
            "audit_history": False, "pending_summary": False, "notify_url": False,
            "idempotency_key": False,
        },
    }


def _text(body: dict, field: str, required: bool) -> Optional[str]:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise bad_request(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise bad_request(f"invalid JSON: {field} must be a string")
    if len(value) > _MAX_TEXT:
        raise bad_request(f"{field} is too long (max {_MAX_TEXT} characters)")
    return value


def create_row(body: dict, tenant_id: str, created_by: str) -> tuple[str, tuple]:
    """Validate a create body; return the new request id and the values to insert."""
    values = {field: _text(body, field, True) for field in _REQUIRED}
    optional = {field: _text(body, field, False) for field in _OPTIONAL_TEXT}
    severity = body.get("severity") or "high"
    if severity not in SEVERITIES:
        raise bad_request(f"invalid severity: {severity}")
    notify_url = optional["notify_url"]
    if notify_url and not notify_url.startswith(("https://", "http://")):
        raise bad_request("notify_url must be an https:// or http:// URL")
    context = body.get("request_context")
    if context is not None and not isinstance(context, dict):
        raise bad_request("invalid JSON: request_context must be an object")
    expiry = body.get("expires_in_seconds")
    if expiry is None:
        expiry = 0
    if isinstance(expiry, bool) or not isinstance(expiry, (int, float)) or expiry != expiry:
        raise bad_request("invalid JSON: expires_in_seconds must be an integer")
    seconds = DEFAULT_EXPIRY_SECONDS if expiry <= 0 else min(float(expiry), MAX_EXPIRY_SECONDS)
    # The pre-check context this request holds, which links it to its audit entry.
    context_id = context.get("context_id") if context else None
    epoch = time.time()
    now = timestamps.format_epoch(epoch)
    request_id = str(uuid.uuid4())
    row = (
        request_id,
        ORG_ID,
        tenant_id,
        values["client_id"],
        created_by,
        optional["user_id"],
        values["original_query"],
        values["request_type"],
        json.dumps(context) if context else None,
        values["triggered_policy_id"],
        values["triggered_policy_name"],
        values["trigger_reason"],
        severity,
        optional["eu_ai_act_article"],
        optional["compliance_framework"],
        optional["risk_classification"],
        "pending",
        notify_url,
        timestamps.format_epoch(epoch + seconds),
        now,
        now,
        context_id if isinstance(context_id, str) and context_id else None,
    )
    return request_id, row


def row_json(row) -> dict:
    """An ``HITLApprovalRequest``: the 14 SDK-required keys always, optional ones when set."""
    data: dict[str, Any] = {
        "id": row["id"],
        "request_id": row["request_id"],
        "org_id": row["org_id"],
        "tenant_id": row["tenant_id"],
        "client_id": row["client_id"],
        "original_query": row["original_query"],
        "request_type": row["request_type"],
        "triggered_policy_id": row["triggered_policy_id"],
        "triggered_policy_name": row["triggered_policy_name"],
        "trigger_reason": row["trigger_reason"],
        "severity": row["severity"],
        "status": row["status"],
        "expires_at": row["expires_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if row["request_context"]:
        data["request_context"] = json.loads(row["request_context"])
    for key in (
        "user_id", "eu_ai_act_article", "compliance_framework", "risk_classification",
        "reviewer_id", "reviewer_email", "reviewer_role", "review_comment", "reviewed_at",
        "notify_url",
    ):
        if row[key]:
            data[key] = row[key]
    return data


def parse_request_id(raw: str) -> str:
    if not _UUID.match(raw):
        raise bad_request("invalid request ID")
    return raw.lower()


MAX_EXPIRE_IDS = 1000


def parse_expire_body(body: dict) -> list[str]:
    """The optional ``request_ids`` of ``POST /api/v1/hitl/expire`` (our extension)."""
    unknown = sorted(set(body) - {"request_ids"})
    if unknown:
        raise bad_request(f"unknown field(s): {', '.join(unknown)} (only request_ids is accepted)")
    ids = body.get("request_ids")
    if ids is None:
        return []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise bad_request("request_ids must be a list of request ID strings")
    if len(ids) > MAX_EXPIRE_IDS:
        raise bad_request(f"request_ids: at most {MAX_EXPIRE_IDS} per call")
    return sorted({parse_request_id(i) for i in ids})


def parse_list_query(params) -> tuple[list[str], list[str], int, int]:
    """status / severity comma lists, limit (≤0 or >100 → 50) and offset (<0 → 0)."""
    statuses = [s.strip() for s in params.get("status", "").split(",") if s.strip()]
    severities = [s.strip() for s in params.get("severity", "").split(",") if s.strip()]
    for value in statuses:
        if value not in STATUSES:
            raise bad_request(f"invalid status: {value}")
    for value in severities:
        if value not in SEVERITIES:
            raise bad_request(f"invalid severity: {value}")
    limit = _int_param(params.get("limit"), DEFAULT_LIST_LIMIT)
    if limit <= 0 or limit > MAX_LIST_LIMIT:
        limit = DEFAULT_LIST_LIMIT
    offset = max(0, _int_param(params.get("offset"), 0))
    return statuses, severities, limit, min(offset, 2**62)


def _int_param(raw: Optional[str], default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"invalid integer: {raw[:40]}") from None


def review_input(body: dict) -> tuple[str, str, Optional[str], Optional[str]]:
    """reviewer_id, reviewer_email, reviewer_role, comment from a review body."""
    reviewer_id = _text(body, "reviewer_id", False)
    reviewer_email = _text(body, "reviewer_email", False)
    role = _text(body, "reviewer_role", False)
    comment = _text(body, "comment", False)
    return reviewer_id or "", reviewer_email or "", role, comment
