"""Scriptable fake AxonFlow SDK client for unit tests of the pipeline branches."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, List, Optional


@dataclass
class PreCheck:
    context_id: Optional[str] = "ctx-1"
    approved: bool = True
    policies: List[str] = field(default_factory=list)
    block_reason: Optional[str] = None
    requires_redaction: bool = False
    approved_data: dict = field(default_factory=dict)
    expires_at: str = "2030-01-01T00:00:00Z"


@dataclass
class HitlRow:
    request_id: str
    status: str = "pending"
    reviewer_email: Optional[str] = None
    reviewer_id: Optional[str] = None
    review_comment: Optional[str] = None
    reviewed_at: Optional[str] = None
    expires_at: str = "2030-01-01T00:00:00Z"
    severity: str = "high"


@dataclass
class Audit:
    audit_id: str
    success: bool = True


class FakeAxonFlow:
    """Scriptable stand-in for the SDK client (unit tests of the branches)."""

    def __init__(self) -> None:
        self.pre = PreCheck()
        self.pre_error: Optional[BaseException] = None
        self.pre_delay = 0.0
        self.audit_error: Optional[BaseException] = None
        self.create_error: Optional[BaseException] = None
        self.poll_statuses: List[Any] = []  # str status, HitlRow or exception per poll
        self.pre_checks: List[dict] = []
        self.audits: List[dict] = []
        self.created: List[Any] = []
        self.polls = 0
        self.expired: List[str] = []
        self.closed = False

    async def pre_check(self, user_token, query, data_sources=None, context=None, **kw):
        self.pre_checks.append({"user_token": user_token, "query": query, "context": context})
        if self.pre_delay:
            await asyncio.sleep(self.pre_delay)
        if self.pre_error is not None:
            raise self.pre_error
        return self.pre

    async def audit_llm_call(self, **kwargs):
        if self.audit_error is not None:
            raise self.audit_error
        self.audits.append(kwargs)
        return Audit(audit_id=f"audit-{len(self.audits)}")

    async def create_hitl_request(self, request):
        if self.create_error is not None:
            raise self.create_error
        self.created.append(request)
        return HitlRow(request_id=f"req-{len(self.created)}")

    async def get_hitl_request(self, request_id):
        self.polls += 1
        item = self.poll_statuses.pop(0) if self.poll_statuses else "pending"
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, HitlRow):
            return item
        return HitlRow(request_id=request_id, status=item, reviewer_email="rev@example.com" if item != "pending" else None)

    async def _request(self, method, path, *, json_data=None, extra_headers=None, path_id=None):
        """The SDK's own request machinery; the core sends the HITL expire route through it."""
        if (method, path) != ("POST", "/api/v1/hitl/expire"):
            raise AssertionError(f"unexpected request {method} {path}")
        self.expired.extend((json_data or {}).get("request_ids", []))
        return {"success": True, "data": {"expired_count": len((json_data or {}).get("request_ids", []))}}

    async def close(self):
        self.closed = True


