"""Terminal IPython: one plain line per core event, and the reviewer queue as text (no HTML, no
ANSI colour codes).

Approval progress lines are meant to be rewritten in place by the caller (`\\r`), so they stay
short and carry the whole picture (status, elapsed, remaining, polls).
"""

from __future__ import annotations

import time
from typing import Any, Optional, Sequence

from ...core.events import (
    ApprovalDecided,
    ApprovalProgress,
    ApprovalRequested,
    AuditRecorded,
    BudgetChecked,
    CallFailed,
    CompletionChunk,
    CompletionFinished,
    DecisionMade,
    GovernanceSkipped,
    RedactionApplied,
)
from ...core.records import ApprovalRequestRecord
from .call_cards.decision import SKIP_REASONS
from .escape import short
from .format import fmt_cost, fmt_ms, fmt_seconds, fmt_time, parse_time
from .tables import text_table

_DECISIONS = {"approved": "allowed", "blocked": "BLOCKED", "needs_approval": "needs approval"}


def _one(text: Any, limit: int = 200) -> str:
    return short(text, limit)


def render_event_text(event: Any) -> Optional[str]:
    """The line for `event`, or None for events a terminal should not print (stream chunks)."""
    if isinstance(event, DecisionMade):
        word = _DECISIONS.get(event.status, event.status)
        if event.status == "approved" and event.requires_redaction:
            word = "allowed (redaction required)"
        elif event.status == "approved" and event.policies:
            word = "allowed with warnings"
        line = f"decision: {word}"
        if event.policies:
            line += f" [{', '.join(_one(p, 80) for p in event.policies)}]"
        if event.block_reason:
            line += f" — {_one(event.block_reason)}"
        line += f" ({fmt_ms(event.latency_ms)}"
        line += f", context {event.context_id})" if event.context_id else ")"
        return line
    if isinstance(event, BudgetChecked):
        from .call_cards.spend import fmt_percent, fmt_usd

        word = {"blocked": "USED UP, call refused", "warning": "WARNING, over its limit"}.get(event.status, "")
        name = _one(event.budget_name or event.budget_id or "budget", 80)
        if not event.limit_usd:
            return f"budget: {word or 'warning'}" + (f" — {_one(event.warning)}" if event.warning else "")
        line = (f"budget {name}: {fmt_usd(event.used_usd)} of {fmt_usd(event.limit_usd)} "
                f"({fmt_percent(event.percentage)}) used before this call")
        line += f", {event.period}" if event.period else ""
        return line + (f" — {word}" if word else "")
    if isinstance(event, RedactionApplied):
        what = "redacted text sent to the model" if event.applied else "redaction required, not applied"
        line = f"redaction: {what}"
        if event.applied and event.redacted_query:
            line += f": {_one(event.redacted_query, 120)}"
        return line + (f" — {_one(event.note)}" if event.note else "")
    if isinstance(event, ApprovalRequested):
        line = f"approval requested: {event.request_id}"
        if event.policy:
            line += f" policy {_one(event.policy, 80)}"
        if event.severity:
            line += f" ({_one(event.severity, 20)})"
        return line + f", waiting up to {fmt_seconds(event.deadline_s)}"
    if isinstance(event, ApprovalProgress):
        return (f"approval {event.request_id}: {event.status} · {fmt_seconds(event.elapsed_s)} "
                f"elapsed · {fmt_seconds(event.remaining_s)} left · {event.polls} polls")
    if isinstance(event, ApprovalDecided):
        status = {"timeout": "timed out"}.get(event.status, event.status)
        line = f"approval {event.request_id}: {status}"
        if event.reviewer:
            line += f" by {_one(event.reviewer, 80)}"
        if event.decided_at:
            line += f" at {fmt_time(event.decided_at)}"
        if event.comment:
            line += f" — {_one(event.comment)}"
        return line
    if isinstance(event, CompletionChunk):
        return None
    if isinstance(event, CompletionFinished):
        sim = " [simulated]" if event.simulated else ""
        return (f"completion: {event.model} via {event.provider}{sim} · {event.prompt_tokens}+"
                f"{event.completion_tokens}={event.total_tokens} tokens · "
                f"{fmt_cost(event.cost_usd)} · {fmt_ms(event.latency_ms)}")
    if isinstance(event, AuditRecorded):
        if not event.delivered:
            return "audit: NOT delivered" + (f" — {_one(event.detail)}" if event.detail else "")
        return f"audit: recorded {event.audit_id or '(no id)'}"
    if isinstance(event, GovernanceSkipped):
        reason = SKIP_REASONS.get(event.reason, event.reason)
        policy = "fail-open" if event.fail_open else "fail-closed: call refused"
        return (f"governance skipped at {event.stage.replace('_', '-')}: {reason} ({policy})"
                + (f" — {_one(event.detail)}" if event.detail else ""))
    if isinstance(event, CallFailed):
        return f"failed at {event.stage}: {event.error_type}: {_one(event.message, 300)}"
    return None


def queue_text(records: Sequence[ApprovalRequestRecord], *, now: Optional[float] = None) -> str:
    """The pending requests as a text table (decide with `%axonflow approve|reject ID`)."""
    if not records:
        return "AxonFlow: no pending approval requests."
    from .queue import batch_of, grouped

    now = time.time() if now is None else now
    rows = []
    for r in grouped(records):  # a batch's held rows together, each saying which row it is
        created, expires = parse_time(r.created_at), parse_time(r.expires_at)
        _, label = batch_of(r)
        rows.append([
            r.request_id,
            r.policy_id or r.policy_name or "—",
            r.severity or "—",
            fmt_seconds(now - created) if created else "—",
            fmt_seconds(expires - now) if expires else "—",
            short(f"[{label}] {r.original_query}" if label else r.original_query, 60),
        ])
    noun = "request" if len(records) == 1 else "requests"
    return (f"AxonFlow: {len(records)} pending approval {noun}:\n"
            + text_table(["id", "policy", "severity", "age", "expires in", "request"], rows))


__all__ = ["render_event_text", "queue_text"]
