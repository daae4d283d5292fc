"""AxonFlow's audit trail, complete: every page of the audit search, and how each approval went.

The search pages newest first by offset (at most 1000 entries a page: the SDK's
`AuditSearchRequest`). The period's end is pinned before the first page, and entries are kept
by id, so entries recorded while paging can shift later pages without any entry being missed
or counted twice. Approvals: the HITL queue (every status) gives who decided a held call and
how long it waited, joined on the pre-check's context id (`request_context.context_id`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Mapping, Optional

from ..core.records import AuditEntry
from .periods import UTC, Period

PAGE = 1000  # AxonFlow's largest audit-search page
_HELD = ("approved", "rejected", "expired", "needs_approval")


async def fetch_entries(console: Any, period: Period) -> List[AuditEntry]:
    """Every entry of the period, oldest first."""
    filters: Dict[str, Any] = {"end_time": period.until or dt.datetime.now(UTC)}
    if period.since is not None:
        filters["start_time"] = period.since
    seen: Dict[str, AuditEntry] = {}
    offset = 0
    while True:
        page = await console.search_audit(limit=PAGE, offset=offset, **filters)
        for entry in page.entries:
            seen.setdefault(entry.id, entry)
        offset += len(page.entries)
        if len(page.entries) < PAGE or offset >= page.total:
            break
    entries = [e for e in seen.values() if period.contains(e.timestamp) or e.timestamp is None]
    entries.sort(key=lambda e: e.timestamp or dt.datetime.min.replace(tzinfo=UTC))
    return entries


async def fetch_approvals(console: Any, entries: List[AuditEntry]) -> Dict[str, Mapping[str, Any]]:
    """context id -> {reviewer, comment, seconds} for the held calls among `entries`."""
    wanted = {e.id for e in entries if e.decision in _HELD}
    if not wanted:
        return {}
    found: Dict[str, Mapping[str, Any]] = {}
    offset = 0
    while True:
        try:
            items, total = await console.list_queue(status=None, limit=100, offset=offset)
        except Exception:  # an AxonFlow whose queue this client may not read: no approval details
            return found
        for item in items:
            context_id = (item.context or {}).get("context_id")
            if context_id in wanted:
                found[context_id] = _approval(item)
        offset += len(items)
        if not items or offset >= total:
            return found


def _approval(item: Any) -> Mapping[str, Any]:
    seconds: Optional[float] = None
    if item.created_at is not None and item.reviewed_at is not None:
        seconds = (item.reviewed_at - item.created_at).total_seconds()
    reviewer = item.reviewer_email or item.reviewer_id
    return {"reviewer": reviewer, "comment": item.review_comment, "seconds": seconds, "status": item.status}


__all__ = ["fetch_entries", "fetch_approvals", "PAGE"]
