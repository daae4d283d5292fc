"""The journal's recording: every event of a governed call folded into the call's row.

A listener on the logger's events (`Journal.attach`): one statement per event, so the
row says what happened to the call whatever AxonFlow's state (allowed, blocked,
refused, run ungoverned under fail-open, stopped before the LLM call).
"""

from __future__ import annotations

import json
import logging

from .events import (
    ApprovalDecided,
    ApprovalRequested,
    CallFailed,
    CompletionFinished,
    DecisionMade,
    GovernanceEvent,
    GovernanceSkipped,
)
from .journal_store import PROMPT_PREVIEW_CHARS, JournalStore

_log = logging.getLogger("axonflow_notebook.core")


def _provenance(event: GovernanceEvent) -> "str | None":
    """The call's provenance (core/provenance.py) as JSON, from the event that carries it."""
    value = getattr(event, "provenance", None)
    return json.dumps(value, default=str, sort_keys=True) if value else None


def _epoch(text: "str | None", default: float) -> float:
    from .sdk_records import when

    parsed = when(text) if text else None
    return parsed.timestamp() if parsed is not None else default


class JournalRecorder:
    def __init__(self, store: JournalStore) -> None:
        self.store = store

    def record_event(self, event: GovernanceEvent, endpoint: str, *, fail_open: bool = True,
                     prompts: str = "preview") -> None:
        """Fold one event into its call's row (a listener: never raises into the call).

        `prompts`: "full" keeps the whole prompt, else its first PROMPT_PREVIEW_CHARS characters.
        """
        try:
            self._record(event, endpoint, fail_open=fail_open, prompts=prompts)
        except Exception:
            _log.warning("audit journal: could not record %s", type(event).__name__, exc_info=True)

    def _expiry(self, event: DecisionMade) -> float:
        """The pre-check's own `expires_at`; else issue time (no later than AxonFlow's) + TTL."""
        raw = getattr(event, "expires_at", None)
        if raw:
            try:
                from datetime import datetime, timezone

                parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
            except ValueError:
                pass
        return event.at - event.latency_ms / 1000.0 + self.store.context_ttl_seconds

    def _record(self, event: GovernanceEvent, endpoint: str, *, fail_open: bool, prompts: str = "preview") -> None:
        cid, at = event.call_id, event.at
        if isinstance(event, DecisionMade):
            query = getattr(event, "query", "")
            kept = query if prompts == "full" else query[:PROMPT_PREVIEW_CHARS]
            self.store.upsert(cid, endpoint, at, decision=event.status, policies=json.dumps(list(event.policies)),
                         block_reason=event.block_reason, context_id=event.context_id,
                         expires_at=self._expiry(event) if event.context_id else None,
                         prompt=kept if query else None, prompt_chars=len(query) if query else None,
                         policy_version=event.policy_version, provenance=_provenance(event))
        elif isinstance(event, GovernanceSkipped) and event.stage == "pre_check":
            # (an audit-stage skip is settled by the sink)
            mode = "ungoverned (fail-open)" if fail_open else "refused (fail-closed)"
            self.store.upsert(cid, endpoint, at, decision=mode.split()[0], delivery="not_applicable",
                         reason=f"{mode}: AxonFlow {event.reason}", provenance=_provenance(event))
        elif isinstance(event, ApprovalRequested):
            self.store.upsert(cid, endpoint, at, approval_request_id=event.request_id, approval_requested_at=at)
        elif isinstance(event, ApprovalDecided):
            self.store.upsert(cid, endpoint, at, decision=f"needs_approval: {event.status}",
                         reviewer=event.reviewer, review_comment=event.comment,
                         approval_decided_at=_epoch(event.decided_at, at))
        elif isinstance(event, CompletionFinished):
            self.store.upsert(cid, endpoint, at, model=event.model, provider=event.provider,
                         prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens,
                         total_tokens=event.total_tokens, cost_usd=event.cost_usd, latency_ms=event.latency_ms)
        elif isinstance(event, CallFailed):
            before_llm = event.stage in ("pre_check", "approval")
            error = f"{event.error_type}: {event.message}"[:1000]
            policies = json.dumps(list(event.policies))
            self.store.execute(
                "INSERT INTO calls (call_id, created_at, endpoint, error, decision, delivery, reason, policies, "
                "model, provenance) VALUES (?, ?, ?, ?, CASE WHEN ? THEN 'refused' END, 'not_applicable', "
                "CASE WHEN ? THEN 'refused before the LLM call; no AxonFlow context' END, ?, NULLIF(?, ''), ?) "
                "ON CONFLICT(call_id) DO UPDATE SET error = excluded.error, "
                "provenance = COALESCE(provenance, excluded.provenance), "
                "model = COALESCE(model, excluded.model), "
                "decision = CASE WHEN ? AND decision IS NULL THEN 'refused' ELSE decision END, "
                "delivery = CASE WHEN ? THEN 'not_applicable' ELSE COALESCE(delivery, 'not_applicable') END, "
                "reason = CASE WHEN NOT ? OR decision IN ('ungoverned', 'refused') THEN reason "
                "WHEN context_id IS NULL THEN 'refused before the LLM call; no AxonFlow context' "
                "ELSE 'stopped before the LLM call; AxonFlow holds the pre-check decision' END, "
                "policies = COALESCE(policies, excluded.policies)",
                (cid, at, endpoint, error, before_llm, before_llm, policies, getattr(event, "model", ""),
                 _provenance(event), before_llm, before_llm, before_llm))


__all__ = ["JournalRecorder"]
