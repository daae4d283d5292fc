"""The governed call flow: pre-check → approval → LiteLLM → audit, for one call.

`Governor` holds what a logger's calls share (config, breaker, SDK clients, the
approval gate, the audit step, the deliveries in flight) and drives one call:

- `run`: the async API; returns LiteLLM's response, or a `GovernedStream` for
  `stream=True`. With `defer_audit=True` (completion/acompletion) the audit is
  delivered after the call returns (pending.py).
- `run_sync`: the sync API; the pre-check through `Runtime.run_in_caller`, LiteLLM's
  own sync `completion` in the caller's thread, the audit on the runtime's loop.
- `audit_only`: audit-only callback mode, through the same pre-check and audit steps,
  never blocking.

Every stage reports through the call's `Emitter`; fail-open/closed is decided here,
from the guard's verdicts. LiteLLM and the SDK are imported off the caller's loop
(llm.py, background_import.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional

from .approval import APPROVAL_SENTINEL, ApprovalGate
from .audit import AuditOutcome, AuditSink
from .audit_sink import AuditStep, AxonFlowAuditSink, audit_payload
from .breaker import CircuitBreaker
from .budget_precheck import PreCheckCapture, budget_refusal, refuse_over_budget, report_budget
from .call import CONTEXT_KEY, GOVERNED_KEY, CallPacing, GovernedCall
from .call_origin import PreCheckContexts
from .clients import ClientPool, ensure_sdk
from .config import AxonFlowLoggerConfig
from .emitter import Emitter
from .errors import PolicyDeniedError
from .events import CompletionFinished, DecisionMade, GovernanceSkipped, RateLimit, RedactionApplied
from .guard import GovernanceUnavailable, PlatformRejected, guarded
from .llm import ensure_litellm, litellm_module, settle_logging_worker, start_litellm_import
from .pending import PendingDeliveries
from .provenance import capture as capture_provenance
from .providers import cost_of, provider_of, text_of, usage_of
from .query import extract_query, redact_messages
from .runtime import get_runtime
from .sdk_protocol import AxonFlowClient
from .streaming import GovernedStream
from .user_label import user_label

_log = logging.getLogger("axonflow_notebook.core")

CANCELLED_IN_LLM = "cancelled while the model was answering"


class Governor:
    def __init__(self, config: AxonFlowLoggerConfig, injected_client: Optional[AxonFlowClient] = None) -> None:
        self.config = config
        self.deliveries = PendingDeliveries(timeout=2 * config.call_timeout_seconds + 1.0)
        self.clients = ClientPool(config, injected_client, deliveries=self.deliveries)
        self.breaker = CircuitBreaker(config.breaker_failure_threshold, config.breaker_recovery_seconds)
        self.approvals = ApprovalGate(config, self.breaker, self.clients, self.deliveries)
        self.audit_step = AuditStep(AxonFlowAuditSink(config, self.breaker, self.clients))
        self._contexts = PreCheckContexts(config.pre_check_context())  # + where the call comes from

    @property
    def audit_sink(self) -> AuditSink:
        return self.audit_step.sink

    @audit_sink.setter
    def audit_sink(self, sink: AuditSink) -> None:
        self.audit_step.sink = sink

    def _new_call(self, kwargs: Dict[str, Any], user_token: Optional[str], emit: Emitter, *,
                  defer_audit: bool, request_context: Optional[Dict[str, Any]] = None,
                  pacing: Optional[CallPacing] = None) -> GovernedCall:
        token = user_token or self.config.default_user_token
        provenance = capture_provenance(client_id=self.config.client_id, user=user_label(token))
        return GovernedCall(emit, model=str(kwargs.get("model", "unknown")), messages=kwargs.get("messages") or [],
                            user_token=token, defer_audit=defer_audit, request_context=request_context,
                            pacing=pacing, provenance=provenance)

    # ----- the async API ----------------------------------------------------

    async def run(self, kwargs: Dict[str, Any], user_token: Optional[str], emit: Emitter, *,
                  defer_audit: bool = False, request_context: Optional[Dict[str, Any]] = None,
                  pacing: Optional[CallPacing] = None) -> Any:
        """`request_context` and `pacing`: a batch row's tags and flow control (core/batch/)."""
        start_litellm_import()  # alongside the pre-check; awaited before the LLM call
        call = self._new_call(kwargs, user_token, emit, defer_audit=defer_audit,
                              request_context=request_context, pacing=pacing)
        try:
            await self._admit(call, kwargs)
            call.stage = "llm"
            return await self._call_llm(call, kwargs)
        except BaseException as exc:
            call.report_failure(exc)
            raise

    # ----- the sync API -------------------------------------------------------

    def run_sync(self, kwargs: Dict[str, Any], user_token: Optional[str], emit: Emitter) -> Any:
        """`run` for the sync API: the LLM call in the caller's thread, the audit on the runtime loop."""
        start_litellm_import()
        runtime = get_runtime()
        # The audit is handed to the runtime loop explicitly below, so `finish` runs it inline there.
        call = self._new_call(kwargs, user_token, emit, defer_audit=False)
        try:
            runtime.run_in_caller(self._admit(call, kwargs))
            call.stage = "llm"
            litellm = litellm_module()
            started = self._mark_governed(call, kwargs)
            settle_logging_worker()
            try:
                response = litellm.completion(**kwargs)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                self.deliveries.spawn_on(runtime.loop, lambda: self.audit(call, None, started, error=error),
                                         post=runtime.post)
                raise
            call.stage = "audit"
            self.deliveries.spawn_on(runtime.loop, lambda: self.finish(call, response, started), post=runtime.post)
            return response
        except BaseException as exc:
            call.report_failure(exc)
            raise

    # ----- audit-only callback mode -------------------------------------------

    async def audit_only(self, kwargs: Dict[str, Any], response: Any, emit: Emitter, *, error: Optional[str],
                         latency_ms: float) -> AuditOutcome:
        """Audit a plain LiteLLM call: the same pre-check (never blocking), then the same audit."""
        call = self._new_call(kwargs, None, emit, defer_audit=False)
        verdict = await self._pre_check(call, extract_query(call.messages), enforcing=False)
        if verdict is not None and not verdict.approved:
            _log.warning("AxonFlow policy would deny this call (audit-only mode, not blocking): %s",
                         verdict.block_reason)
        call.stage = "audit"
        # LiteLLM hands callbacks the model without its provider prefix, and the provider apart.
        params = kwargs.get("litellm_params") or {}
        provider = kwargs.get("custom_llm_provider") or params.get("custom_llm_provider")
        payload = audit_payload(call, response, latency_ms=latency_ms, error=error, metadata={"mode": "audit-only"},
                                provider=str(provider) if provider else None)
        return await self.audit_step.deliver(payload, emit)

    # ----- pre-check and approval ------------------------------------------

    async def _pre_check(self, call: GovernedCall, query: str, *, enforcing: bool) -> Any:
        """AxonFlow's verdict on the call, or None when governance could not answer.

        `enforcing`: a refused or unavailable pre-check raises as the config says
        (governance mode); otherwise it is logged and the call goes on (callback mode).
        """
        await ensure_sdk()
        emit, config = call.emit, self.config
        client = self.clients.get()
        context = self._contexts.for_call(call.user_token)
        capture = PreCheckCapture(client) if emit.active else None  # budget_info, for the listeners

        def ask() -> Awaitable[Any]:
            answer = client.pre_check(user_token=call.user_token, query=query, context=context)
            return capture.run(answer) if capture is not None else answer

        started = time.perf_counter()
        try:
            verdict = await guarded(self.breaker, config.call_timeout_seconds, ask, self.clients.gate())
        except PlatformRejected as exc:
            refusal = budget_refusal(exc)  # a 402: a decision, so fail_open does not apply
            if refusal is not None and enforcing:
                raise refuse_over_budget(call, refusal, latency_ms=(time.perf_counter() - started) * 1000.0,
                                         backend=config.endpoint) from None
            if enforcing:
                raise PolicyDeniedError(f"AxonFlow rejected the request: {exc}") from exc
            _log.warning("AxonFlow audit-only pre-check failed: %s", exc)
            return None
        except GovernanceUnavailable as exc:
            fail_open = config.fail_open or not enforcing
            if emit.active:
                emit(GovernanceSkipped(emit.call_id, reason=exc.reason, stage="pre_check",  # type: ignore[arg-type]
                                       detail=exc.detail, fail_open=fail_open, provenance=call.provenance))
            if fail_open:
                _log.warning("AxonFlow pre-check skipped (%s); proceeding ungoverned%s", exc.reason,
                             " (fail_open)" if enforcing else " (audit-only mode)")
                return None
            raise PolicyDeniedError(
                f"AxonFlow unavailable ({exc.reason}): {exc.detail}; the call was refused (fail_open=False)"
            ) from exc

        call.policies = list(verdict.policies or [])
        call.context_id = verdict.context_id
        bundle = getattr(verdict, "policy_bundle", None)
        call.policy_version = bundle if isinstance(bundle, str) and bundle else None
        if emit.active:
            needs_approval = not verdict.approved and verdict.block_reason == APPROVAL_SENTINEL
            emit(DecisionMade(
                emit.call_id,
                status="approved" if verdict.approved else ("needs_approval" if needs_approval else "blocked"),
                policies=tuple(call.policies),
                block_reason=verdict.block_reason,
                context_id=verdict.context_id,
                latency_ms=(time.perf_counter() - started) * 1000.0,
                requires_redaction=bool(getattr(verdict, "requires_redaction", False)),
                backend=config.endpoint,
                expires_at=getattr(verdict, "expires_at", None),
                query=query,
                rate_limit=_rate_limit(verdict),
                policy_version=call.policy_version,
                provenance=call.provenance_record(),
            ))
            if capture is not None:
                report_budget(emit, capture, verdict)
        return verdict

    async def _admit(self, call: GovernedCall, kwargs: Dict[str, Any]) -> None:
        """Pre-check, then deny, hold for approval or redact as AxonFlow says."""
        query = extract_query(call.messages)
        verdict = await self._pre_check(call, query, enforcing=True)
        if verdict is None:
            return
        if not verdict.approved:
            block_reason = verdict.block_reason
            if block_reason != APPROVAL_SENTINEL:
                raise PolicyDeniedError(block_reason or "denied by policy", call.policies)
            if not self.config.enable_hitl_polling:
                raise PolicyDeniedError(APPROVAL_SENTINEL, call.policies)
            call.stage = "approval"
            if call.pacing is None:
                await self.approvals.hold(call, query, block_reason)
            else:
                async with call.pacing.held():
                    await self.approvals.hold(call, query, block_reason)
        if getattr(verdict, "requires_redaction", False):
            self._apply_redaction(call, kwargs, verdict)

    def _apply_redaction(self, call: GovernedCall, kwargs: Dict[str, Any], verdict: Any) -> None:
        approved_data = getattr(verdict, "approved_data", None) or {}
        redacted = approved_data.get("redacted_query") if isinstance(approved_data, dict) else None
        applied = isinstance(redacted, str) and bool(redacted)
        if applied:
            kwargs["messages"] = call.messages = redact_messages(call.messages, redacted)
        if call.emit.active:
            call.emit(RedactionApplied(
                call.emit.call_id,
                applied=applied,
                policies=tuple(call.policies),
                redacted_query=redacted if applied else None,
                note="" if applied else "redaction required but AxonFlow supplied no redacted text; "
                "the original message was sent",
            ))

    # ----- LLM and audit ----------------------------------------------------

    def _mark_governed(self, call: GovernedCall, kwargs: Dict[str, Any]) -> float:
        """Tag the LiteLLM call (callback mode must not audit it twice); returns its start time."""
        metadata = dict(kwargs.get("metadata") or {})
        metadata[GOVERNED_KEY] = True
        if call.context_id:
            metadata[CONTEXT_KEY] = call.context_id
        kwargs["metadata"] = metadata
        call.simulated = kwargs.get("mock_response") is not None
        return time.perf_counter()

    async def _call_llm(self, call: GovernedCall, kwargs: Dict[str, Any]) -> Any:
        litellm = await ensure_litellm()
        if call.pacing is not None:
            await call.pacing.before_llm()
        started = self._mark_governed(call, kwargs)
        settle_logging_worker()
        try:
            response = await litellm.acompletion(**kwargs)
        except asyncio.CancelledError:
            # The model may have been reached: AxonFlow hears that the call was given up, in a
            # tracked delivery the cancellation cannot stop (pending.py).
            self.deliveries.spawn(lambda: self.audit(call, None, started, error=CANCELLED_IN_LLM))
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            await self._audit_step(call, lambda: self.audit(call, None, started, error=error))
            raise
        if kwargs.get("stream"):
            return GovernedStream(self.finish, call, response, started)
        call.stage = "audit"
        await self.finish(call, response, started)
        return response

    async def finish(self, call: GovernedCall, response: Any, started: float, error: Optional[str] = None) -> None:
        """Report the completion and audit it."""
        emit = call.emit
        latency_ms = (time.perf_counter() - started) * 1000.0
        cost = cost_of(response, call.model) if response is not None else None
        if emit.active:
            prompt, completion, total = usage_of(response)
            emit(CompletionFinished(
                emit.call_id, model=call.model, provider=provider_of(call.model),
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
                cost_usd=cost, latency_ms=latency_ms, simulated=call.simulated, text=text_of(response),
            ))
        await self._audit_step(
            call, lambda: self.audit(call, response, started, error=error, cost=cost, latency_ms=latency_ms)
        )

    async def _audit_step(self, call: GovernedCall, deliver: Callable[[], Awaitable[Any]]) -> None:
        if call.defer_audit:
            self.deliveries.spawn(deliver)
        else:
            await deliver()

    async def audit(self, call: GovernedCall, response: Any, started: float, *, error: Optional[str] = None,
                    cost: Optional[float] = None, latency_ms: Optional[float] = None) -> AuditOutcome:
        if latency_ms is None:
            latency_ms = (time.perf_counter() - started) * 1000.0
        payload = audit_payload(call, response, latency_ms=latency_ms, error=error, cost=cost)
        return await self.audit_step.deliver(payload, call.emit)


def _rate_limit(verdict: Any) -> Optional[RateLimit]:
    """AxonFlow's `rate_limit` of a pre-check answer (the SDK's `rate_limit_info`), if any."""
    info = getattr(verdict, "rate_limit_info", None)
    if info is None:
        return None
    try:
        return RateLimit(int(info.limit), int(info.remaining), info.reset_at.timestamp())
    except (AttributeError, TypeError, ValueError):
        return None


__all__ = ["Governor", "GOVERNED_KEY", "CONTEXT_KEY"]
