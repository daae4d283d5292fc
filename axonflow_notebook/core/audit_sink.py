"""The audit step: AxonFlow's `audit_llm_call` behind the `AuditSink` seam, and its reporting.

`AxonFlowAuditSink` is the default sink (guarded, never raising). `AuditStep` hands one
payload to whatever sink is plugged in (the local journal wraps it: journal.py), then
tells every audit hook and the call's listeners how it went.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from .audit import AuditHook, AuditOutcome, AuditPayload, AuditSink, summary_with_error
from .breaker import CircuitBreaker
from .call import GovernedCall
from .clients import ClientPool
from .config import AxonFlowLoggerConfig
from .emitter import Emitter
from .events import AuditRecorded, GovernanceSkipped
from .guard import GovernanceUnavailable, PlatformRejected, guarded
from .providers import provider_of, text_of, usage_of

_log = logging.getLogger("axonflow_notebook.core")


class AxonFlowAuditSink:
    """Default sink: `audit_llm_call` on AxonFlow, guarded, never raising."""

    def __init__(self, config: AxonFlowLoggerConfig, breaker: CircuitBreaker, clients: ClientPool) -> None:
        self._config = config
        self._breaker = breaker
        self._clients = clients

    async def deliver(self, payload: AuditPayload) -> AuditOutcome:
        if not payload.context_id:
            return AuditOutcome(delivered=False, detail="pre-check did not run; no context id to audit against")
        from axonflow import TokenUsage

        client = self._clients.get()
        metadata = {"call_id": payload.call_id, **payload.metadata}
        if payload.cost_usd is not None:
            metadata["cost_usd"] = payload.cost_usd
        usage = TokenUsage(prompt_tokens=payload.prompt_tokens, completion_tokens=payload.completion_tokens,
                           total_tokens=payload.total_tokens)
        try:
            result = await guarded(
                self._breaker,
                self._config.call_timeout_seconds,
                lambda: client.audit_llm_call(
                    context_id=payload.context_id,
                    response_summary=summary_with_error(payload.response_summary, payload.error),
                    provider=payload.provider,
                    model=payload.model,
                    token_usage=usage,
                    latency_ms=payload.latency_ms,
                    metadata=metadata,
                ),
                self._clients.gate(),
            )
        except GovernanceUnavailable as exc:
            return AuditOutcome(delivered=False, detail=exc.detail, skipped_reason=exc.reason)
        except PlatformRejected as exc:
            return AuditOutcome(delivered=False, detail=f"AxonFlow rejected the audit: {exc}")
        return AuditOutcome(delivered=True, audit_id=getattr(result, "audit_id", None))


def audit_payload(call: GovernedCall, response: Any, *, latency_ms: float, error: Optional[str] = None,
                  cost: Optional[float] = None, metadata: Optional[Dict[str, Any]] = None,
                  provider: Optional[str] = None) -> AuditPayload:
    prompt, completion, total = usage_of(response)
    extra = dict(metadata or {})
    if call.request_context:  # a batch row's batch id and index (core/batch/runner.py)
        extra.update(call.request_context)
    if call.simulated:
        extra["simulated"] = True
    provenance = call.provenance_record()
    if provenance is not None:
        extra["provenance"] = provenance  # which notebook, cell and policy version (provenance.py)
    return AuditPayload(
        call_id=call.emit.call_id, context_id=call.context_id, model=call.model,
        provider=provider or provider_of(call.model), response_summary=text_of(response)[:2000],
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
        latency_ms=int(latency_ms), cost_usd=cost, error=error[:2000] if error else None, metadata=extra,
    )


class AuditStep:
    """The plugged-in sink and the audit hooks; `deliver` never raises for a sink's failure."""

    def __init__(self, sink: AuditSink) -> None:
        self.sink = sink
        self.hooks: List[AuditHook] = []

    async def deliver(self, payload: AuditPayload, emit: Emitter) -> AuditOutcome:
        try:
            outcome = await self.sink.deliver(payload)
        except Exception as exc:  # a custom sink must not break the response either
            _log.warning("audit sink failed: %s", type(exc).__name__, exc_info=True)
            outcome = AuditOutcome(delivered=False, detail=f"audit sink failed: {type(exc).__name__}")
        for hook in self.hooks:
            try:
                hook(payload, outcome)
            except Exception:
                _log.warning("audit hook %r failed", hook, exc_info=True)
        if not outcome.delivered:
            _log.warning("audit not recorded for call %s: %s", payload.call_id, outcome.detail)
        if emit.active:
            if outcome.skipped_reason:
                emit(GovernanceSkipped(emit.call_id, reason=outcome.skipped_reason,  # type: ignore[arg-type]
                                       stage="audit", detail=outcome.detail))
            emit(AuditRecorded(emit.call_id, audit_id=outcome.audit_id, context_id=payload.context_id,
                               delivered=outcome.delivered, detail=outcome.detail))
        return outcome


__all__ = ["AxonFlowAuditSink", "AuditStep", "audit_payload"]
