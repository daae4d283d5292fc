"""The governed pipeline: pre-check → HITL → LiteLLM → audit, for one call.

`Governor` holds what calls share (config, breaker, SDK clients, audit sink);
`Governor.run` drives one call and returns the LiteLLM response, or a
`GovernedStream` for `stream=True`. Every stage reports through the call's
`Emitter`. Fail-open/closed is decided here, from the guard's verdicts.
`Governor.run_sync` is the sync API's variant (LiteLLM's sync call in the
caller's thread). For `completion`/`acompletion` the audit is delivered after
the call returns, tracked by `Governor.pending` (see pending.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

from .audit import AuditHook, AuditOutcome, AuditPayload, AuditSink, summary_with_error
from .breaker import CircuitBreaker
from .clients import ClientPool
from .config import AxonFlowLoggerConfig
from .emitter import Emitter
from .errors import ApprovalRejected, ApprovalTimeout, PolicyDeniedError
from .events import (
    ApprovalDecided,
    ApprovalProgress,
    ApprovalRequested,
    AuditRecorded,
    CallFailed,
    CompletionChunk,
    CompletionFinished,
    DecisionMade,
    GovernanceSkipped,
    RedactionApplied,
)
from .guard import GovernanceUnavailable, PlatformRejected, bounded, guarded
from .pending import PendingAudits
from .providers import cost_of, provider_of, text_of, usage_of
from .query import extract_query, redact_messages

_log = logging.getLogger("axonflow_notebook.core")

GOVERNED_KEY = "_axonflow_governed"
CONTEXT_KEY = "_axonflow_context_id"
REQUEST_TYPE = "litellm-completion"
APPROVAL_SENTINEL = "require_approval"


class AxonFlowAuditSink:
    """Default sink: `audit_llm_call` on AxonFlow, guarded, never raising."""

    def __init__(self, governor: "Governor") -> None:
        self._governor = governor

    async def deliver(self, payload: AuditPayload) -> AuditOutcome:
        if not payload.context_id:
            return AuditOutcome(False, detail="pre-check did not run; no context id to audit against")
        from axonflow import TokenUsage

        gov = self._governor
        client = gov.clients.get()
        metadata = {"call_id": payload.call_id, **payload.metadata}
        if payload.cost_usd is not None:
            metadata["cost_usd"] = payload.cost_usd
        try:
            result = await guarded(
                gov.breaker,
                gov.config.call_timeout_seconds,
                lambda: client.audit_llm_call(
                    context_id=payload.context_id,
                    response_summary=summary_with_error(payload.response_summary, payload.error),
                    provider=payload.provider,
                    model=payload.model,
                    token_usage=TokenUsage(
                        prompt_tokens=payload.prompt_tokens,
                        completion_tokens=payload.completion_tokens,
                        total_tokens=payload.total_tokens,
                    ),
                    latency_ms=payload.latency_ms,
                    metadata=metadata,
                ),
                gov.clients.gate(),
            )
        except GovernanceUnavailable as exc:
            return AuditOutcome(False, detail=exc.detail, skipped_reason=exc.reason)
        except PlatformRejected as exc:
            return AuditOutcome(False, detail=f"AxonFlow rejected the audit: {exc}")
        return AuditOutcome(True, audit_id=getattr(result, "audit_id", None))


class CallState:
    """Mutable facts of one call, shared by its stages."""

    __slots__ = ("emit", "stage", "policies", "context_id", "model", "messages", "simulated", "user_token",
                 "defer_audit")

    def __init__(self, emit: Emitter, model: str, messages: Any, user_token: str, defer_audit: bool = False) -> None:
        self.emit = emit
        self.stage = "pre_check"
        self.policies: List[str] = []
        self.context_id: Optional[str] = None
        self.model = model
        self.messages = messages
        self.simulated = False
        self.user_token = user_token
        # True: the caller gets the answer at once and the audit is delivered in a task of
        # its own (completion/acompletion); False: the call ends with the audit recorded
        # (govern/agovern, whose result carries the audit id).
        self.defer_audit = defer_audit


def user_label(token: Optional[str]) -> Optional[str]:
    """Who asked, for the HITL row a reviewer reads: never the credential itself.

    The reference integration sends the raw user token as `user_id`, which stores a bearer
    token in the approval queue and shows it to every reviewer. We send the JWT's `sub` claim
    (read, not verified) when there is one, else a short fingerprint of the token.
    """
    if not token or token == "anonymous":
        return None
    parts = token.split(".")
    if len(parts) == 3:
        try:
            import base64
            import json

            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            subject = claims.get("sub") if isinstance(claims, dict) else None
            if isinstance(subject, str) and subject.strip() and subject != token:
                return subject.strip()[:255]
        except Exception:
            pass
    import hashlib

    return "user-" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class Governor:
    def __init__(self, config: AxonFlowLoggerConfig, clients: ClientPool) -> None:
        self.config = config
        self.clients = clients
        self.breaker = CircuitBreaker(config.breaker_failure_threshold, config.breaker_recovery_seconds)
        self.audit_sink: AuditSink = AxonFlowAuditSink(self)
        self.audit_hooks: List[AuditHook] = []
        self.pending = PendingAudits(timeout=2 * config.call_timeout_seconds + 1.0)
        clients.before_close = self.pending.wait_here
        self._context = config.pre_check_context() or None

    # ----- one call ------------------------------------------------------

    def _new_call(
        self, kwargs: Dict[str, Any], user_token: Optional[str], emit: Emitter, defer_audit: bool
    ) -> CallState:
        model = str(kwargs.get("model", "unknown"))
        return CallState(emit, model, kwargs.get("messages") or [], user_token or self.config.default_user_token,
                         defer_audit)

    @staticmethod
    def _report_failure(state: CallState, exc: BaseException) -> None:
        emit = state.emit
        if emit.active:
            emit(CallFailed(emit.call_id, stage=state.stage, error_type=type(exc).__name__,
                            message=str(exc)[:500], policies=tuple(state.policies), model=state.model))

    async def run(
        self, kwargs: Dict[str, Any], user_token: Optional[str], emit: Emitter, *, defer_audit: bool = False
    ) -> Any:
        state = self._new_call(kwargs, user_token, emit, defer_audit)
        try:
            await self._admit(state, kwargs)
            state.stage = "llm"
            return await self._call_llm(state, kwargs)
        except BaseException as exc:
            self._report_failure(state, exc)
            raise

    async def _admit(self, state: CallState, kwargs: Dict[str, Any]) -> None:
        emit, config = state.emit, self.config
        query = extract_query(state.messages)
        client = self.clients.get()
        started = time.perf_counter()
        try:
            pre = await guarded(
                self.breaker,
                config.call_timeout_seconds,
                lambda: client.pre_check(user_token=state.user_token, query=query, context=self._context),
                self.clients.gate(),
            )
        except PlatformRejected as exc:
            raise PolicyDeniedError(f"AxonFlow rejected the request: {exc}") from exc
        except GovernanceUnavailable as exc:
            if emit.active:
                emit(GovernanceSkipped(emit.call_id, reason=exc.reason, stage="pre_check",
                                       detail=exc.detail, fail_open=config.fail_open))
            if config.fail_open:
                _log.warning("AxonFlow pre-check skipped (%s); proceeding ungoverned (fail_open)", exc.reason)
                return
            raise PolicyDeniedError(
                f"AxonFlow unavailable ({exc.reason}): {exc.detail}; the call was refused (fail_open=False)"
            ) from exc

        state.policies = list(pre.policies or [])
        state.context_id = pre.context_id
        block_reason = pre.block_reason
        needs_approval = not pre.approved and block_reason == APPROVAL_SENTINEL
        if emit.active:
            emit(DecisionMade(
                emit.call_id,
                status="approved" if pre.approved else ("needs_approval" if needs_approval else "blocked"),
                policies=tuple(state.policies),
                block_reason=block_reason,
                context_id=pre.context_id,
                latency_ms=(time.perf_counter() - started) * 1000.0,
                requires_redaction=bool(getattr(pre, "requires_redaction", False)),
                backend=config.endpoint,
                expires_at=getattr(pre, "expires_at", None),
            ))
        if not pre.approved:
            if not needs_approval:
                raise PolicyDeniedError(block_reason or "denied by policy", state.policies)
            if not config.enable_hitl_polling:
                raise PolicyDeniedError(APPROVAL_SENTINEL, state.policies)
            state.stage = "approval"
            await self._await_approval(state, query, block_reason)

        if getattr(pre, "requires_redaction", False):
            self._apply_redaction(state, kwargs, pre)

    def _apply_redaction(self, state: CallState, kwargs: Dict[str, Any], pre: Any) -> None:
        approved_data = getattr(pre, "approved_data", None) or {}
        redacted = approved_data.get("redacted_query") if isinstance(approved_data, dict) else None
        applied = isinstance(redacted, str) and bool(redacted)
        if applied:
            kwargs["messages"] = state.messages = redact_messages(state.messages, redacted)
        if state.emit.active:
            state.emit(RedactionApplied(
                state.emit.call_id,
                applied=applied,
                policies=tuple(state.policies),
                redacted_query=redacted if applied else None,
                note="" if applied else "redaction required but AxonFlow supplied no redacted text; "
                "the original message was sent",
            ))

    # ----- HITL ----------------------------------------------------------

    async def _await_approval(self, state: CallState, query: str, block_reason: Optional[str]) -> None:
        from axonflow.hitl import HITLCreateInput

        config, emit, policies = self.config, state.emit, state.policies
        first_policy = policies[0] if policies else APPROVAL_SENTINEL
        client = self.clients.get()
        token = state.user_token
        request = HITLCreateInput(
            client_id=config.client_id,
            user_id=user_label(token),
            original_query=query[:4000],
            request_type=REQUEST_TYPE,
            request_context={"model": state.model},
            triggered_policy_id=first_policy,
            triggered_policy_name=first_policy,
            trigger_reason=block_reason or APPROVAL_SENTINEL,
        )
        try:
            created = await guarded(
                self.breaker, config.call_timeout_seconds, lambda: client.create_hitl_request(request),
                self.clients.gate(),
            )
        except (GovernanceUnavailable, PlatformRejected) as exc:
            emit(ApprovalDecided(emit.call_id, request_id="", status="error", comment=str(exc)))
            raise ApprovalRejected(f"approval request could not be created: {exc}", policies) from exc

        request_id = created.request_id
        max_wait = config.approval_max_wait_seconds
        emit(ApprovalRequested(
            emit.call_id, request_id=request_id, expires_at=getattr(created, "expires_at", None),
            policy=first_policy, severity=getattr(created, "severity", None), deadline_s=max_wait,
        ))
        started = time.monotonic()
        deadline = started + max_wait
        polls = failures = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                await asyncio.sleep(min(config.approval_poll_interval_seconds, remaining))
                polls += 1
                try:
                    row = await bounded(client.get_hitl_request(request_id), config.call_timeout_seconds)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    _log.warning("approval poll %d for %s failed: %s", polls, request_id, type(exc).__name__)
                    if failures >= config.breaker_failure_threshold:
                        emit(ApprovalDecided(emit.call_id, request_id=request_id, status="error",
                                             comment=f"{failures} consecutive poll failures"))
                        raise ApprovalRejected(
                            f"approval status unavailable after {failures} consecutive poll failures", policies
                        ) from exc
                    continue
                failures = 0
                now = time.monotonic()
                emit(ApprovalProgress(emit.call_id, request_id=request_id, status=row.status, polls=polls,
                                      elapsed_s=now - started, remaining_s=max(0.0, deadline - now)))
                if row.status in ("approved", "overridden", "rejected", "expired"):
                    reviewer = getattr(row, "reviewer_email", None) or getattr(row, "reviewer_id", None)
                    comment = getattr(row, "review_comment", None)
                    approved = row.status in ("approved", "overridden")
                    emit(ApprovalDecided(emit.call_id, request_id=request_id,
                                         status="approved" if approved else row.status,
                                         reviewer=reviewer, comment=comment,
                                         decided_at=getattr(row, "reviewed_at", None)))
                    if approved:
                        return
                    suffix = f" by {reviewer}" if reviewer else ""
                    suffix += f": {comment}" if comment else ""
                    raise ApprovalRejected(f"approval request {row.status}{suffix}", policies)
        except (asyncio.CancelledError, KeyboardInterrupt):  # the latter raised right inside us
            emit(ApprovalDecided(emit.call_id, request_id=request_id, status="cancelled"))
            raise
        emit(ApprovalDecided(emit.call_id, request_id=request_id, status="timeout"))
        raise ApprovalTimeout(f"no approval decision within {max_wait:g}s", policies)

    # ----- LLM + audit ---------------------------------------------------

    def run_sync(self, kwargs: Dict[str, Any], user_token: Optional[str], emit: Emitter, bridge: Any) -> Any:
        """`run` for the sync API: the LLM call in the caller's thread, the audit on the bridge.

        The pre-check (and any approval wait) runs through `bridge.run_in_caller`: in a
        script's main thread on a loop of its own, elsewhere on the bridge loop. The LLM call
        is LiteLLM's own sync `completion`, exactly as an ungoverned caller would make it;
        the completion event and the audit follow on the bridge loop.
        """
        import litellm

        # The audit is handed to the bridge loop explicitly below, so `finish` runs it inline there.
        state = self._new_call(kwargs, user_token, emit, defer_audit=False)
        try:
            bridge.run_in_caller(self._admit(state, kwargs))
            state.stage = "llm"
            started = self._mark_governed(state, kwargs)
            try:
                response = litellm.completion(**kwargs)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                self.pending.spawn_on(bridge.loop, lambda: self.audit(state, None, started, error=error), bridge.post)
                raise
            state.stage = "audit"
            self.pending.spawn_on(bridge.loop, lambda: self.finish(state, response, started), bridge.post)
            return response
        except BaseException as exc:
            self._report_failure(state, exc)
            raise

    def _mark_governed(self, state: CallState, kwargs: Dict[str, Any]) -> float:
        """Tag the LiteLLM call (callback mode must not audit it twice); returns its start time."""
        metadata = dict(kwargs.get("metadata") or {})
        metadata[GOVERNED_KEY] = True
        if state.context_id:
            metadata[CONTEXT_KEY] = state.context_id
        kwargs["metadata"] = metadata
        state.simulated = kwargs.get("mock_response") is not None
        return time.perf_counter()

    async def _call_llm(self, state: CallState, kwargs: Dict[str, Any]) -> Any:
        import litellm

        started = self._mark_governed(state, kwargs)
        try:
            response = await litellm.acompletion(**kwargs)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            await self._audit_step(state, lambda: self.audit(state, None, started, error=error))
            raise
        if kwargs.get("stream"):
            return GovernedStream(self, state, response, started)
        state.stage = "audit"
        await self.finish(state, response, started)
        return response

    async def finish(self, state: CallState, response: Any, started: float, error: Optional[str] = None) -> None:
        """Report the completion and audit it."""
        emit = state.emit
        latency_ms = (time.perf_counter() - started) * 1000.0
        prompt, completion, total = usage_of(response)
        cost = cost_of(response, state.model) if response is not None else None
        if emit.active:
            emit(CompletionFinished(
                emit.call_id, model=state.model, provider=provider_of(state.model),
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
                cost_usd=cost, latency_ms=latency_ms, simulated=state.simulated, text=text_of(response),
            ))
        await self._audit_step(
            state, lambda: self.audit(state, response, started, error=error, cost=cost, latency_ms=latency_ms)
        )

    async def _audit_step(self, state: CallState, deliver: Callable[[], Awaitable[Any]]) -> None:
        if state.defer_audit:
            self.pending.spawn(deliver)
        else:
            await deliver()

    async def audit(
        self, state: CallState, response: Any, started: float, *, error: Optional[str] = None,
        cost: Optional[float] = None, latency_ms: Optional[float] = None,
    ) -> AuditOutcome:
        if latency_ms is None:
            latency_ms = (time.perf_counter() - started) * 1000.0
        prompt, completion, total = usage_of(response)
        payload = AuditPayload(
            call_id=state.emit.call_id, context_id=state.context_id, model=state.model,
            provider=provider_of(state.model), response_summary=text_of(response)[:2000],
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
            latency_ms=int(latency_ms), cost_usd=cost, error=error[:2000] if error else None,
            metadata={"simulated": True} if state.simulated else {},
        )
        return await self.deliver_audit(payload, state.emit)

    async def deliver_audit(self, payload: AuditPayload, emit: Emitter) -> AuditOutcome:
        try:
            outcome = await self.audit_sink.deliver(payload)
        except Exception as exc:  # a custom sink must not break the response either
            _log.warning("audit sink failed: %s", type(exc).__name__, exc_info=True)
            outcome = AuditOutcome(False, detail=f"audit sink failed: {type(exc).__name__}")
        for hook in self.audit_hooks:
            try:
                hook(payload, outcome)
            except Exception:
                _log.warning("audit hook %r failed", hook, exc_info=True)
        if not outcome.delivered:
            _log.warning("audit not recorded for call %s: %s", payload.call_id, outcome.detail)
        if emit.active:
            if outcome.skipped_reason:
                emit(GovernanceSkipped(emit.call_id, reason=outcome.skipped_reason, stage="audit",
                                       detail=outcome.detail))
            emit(AuditRecorded(emit.call_id, audit_id=outcome.audit_id, context_id=payload.context_id,
                               delivered=outcome.delivered, detail=outcome.detail))
        return outcome


class GovernedStream:
    """Async iterator over LiteLLM chunks that audits once the stream ends.

    `response` holds the aggregated ModelResponse after the end.
    """

    def __init__(self, governor: Governor, state: CallState, inner: Any, started: float) -> None:
        self._governor = governor
        self._state = state
        self._inner = inner
        self._started = started
        self._chunks: List[Any] = []
        self._done = False
        self.response: Any = None

    def __aiter__(self) -> "GovernedStream":
        return self

    async def __anext__(self) -> Any:
        if self._done:
            raise StopAsyncIteration
        try:
            chunk = await self._inner.__anext__()
        except StopAsyncIteration:
            await self._end(None)
            raise
        except Exception as exc:
            await self._end(f"{type(exc).__name__}: {exc}")
            raise
        self._chunks.append(chunk)
        emit = self._state.emit
        if emit.active:
            try:
                delta = chunk.choices[0].delta.content
            except (AttributeError, IndexError):
                delta = None
            if delta:
                emit(CompletionChunk(emit.call_id, delta=delta))
        return chunk

    async def aclose(self) -> None:
        """Stop early: the partial answer is still audited."""
        if not self._done:
            await self._end("stream closed by the caller before the end")
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            try:
                await close()
            except Exception:
                pass

    async def _end(self, error: Optional[str]) -> None:
        if self._done:
            return
        self._done = True
        self._state.stage = "audit"
        self.response = _build_response(self._chunks, self._state.messages)
        if error and self._state.emit.active:
            emit = self._state.emit
            emit(CallFailed(emit.call_id, stage="llm", error_type="StreamError", message=error[:500],
                            policies=tuple(self._state.policies)))
        await self._governor.finish(self._state, self.response, self._started, error=error)


def _build_response(chunks: List[Any], messages: Any) -> Any:
    if not chunks:
        return None
    try:
        import litellm

        return litellm.stream_chunk_builder(chunks, messages=messages)
    except Exception:
        _log.debug("stream_chunk_builder failed", exc_info=True)
        return None


__all__ = ["Governor", "GovernedStream", "AxonFlowAuditSink", "GOVERNED_KEY", "CONTEXT_KEY"]
