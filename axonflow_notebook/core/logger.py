"""AxonFlowLogger: the seed's public class, a LiteLLM `CustomLogger`.

Governance mode: `completion` / `acompletion` (and `govern` / `agovern`, which
return a `GovernedResult` instead of raising). Audit-only mode:
`litellm.callbacks = [logger]`. Importing this module imports litellm's
`CustomLogger` (slow); the package root resolves it lazily.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from typing import Any, AsyncIterator, Callable, Iterator, List, Optional

from litellm.integrations.custom_logger import CustomLogger

from .audit import AuditHook, AuditPayload
from .bridge import get_bridge, loop_running_here
from .clients import ClientPool
from .config import AxonFlowLoggerConfig
from .emitter import Emitter, Listener
from .events import DecisionMade, GovernanceSkipped
from .guard import GovernanceUnavailable, PlatformRejected, guarded
from .pipeline import CONTEXT_KEY, GOVERNED_KEY, Governor, GovernedStream
from .providers import provider_of, text_of, usage_of
from .query import extract_query
from .result import GovernedResult

_log = logging.getLogger("axonflow_notebook.core")


def _new_call_id() -> str:
    return uuid.uuid4().hex[:16]


class AxonFlowLogger(CustomLogger):
    """AxonFlow governance and audit for LiteLLM calls."""

    def __init__(self, config: AxonFlowLoggerConfig, *, _client: Any = None) -> None:
        super().__init__()
        if not isinstance(config, AxonFlowLoggerConfig):
            raise TypeError("config must be an AxonFlowLoggerConfig")
        self._config = config
        self._clients = ClientPool(config, injected=_client)
        self._governor = Governor(config, self._clients)
        self._listeners: List[Listener] = []
        self._listeners_lock = threading.Lock()
        self._callback_seen: "OrderedDict[str, None]" = OrderedDict()
        self._callback_lock = threading.Lock()

    @classmethod
    def from_client(cls, client: Any, config: AxonFlowLoggerConfig) -> "AxonFlowLogger":
        """Reuse an existing AxonFlow client; the caller owns it (`aclose` leaves it open)."""
        return cls(config, _client=client)

    def __repr__(self) -> str:
        return (f"AxonFlowLogger(endpoint={self._config.endpoint!r}, client_id={self._config.client_id!r}, "
                f"fail_open={self._config.fail_open}, breaker={self.breaker_state})")

    # ----- introspection & seams ----------------------------------------

    @property
    def config(self) -> AxonFlowLoggerConfig:
        return self._config

    @property
    def breaker_state(self) -> str:
        """"closed", "open" or "half_open"."""
        return self._governor.breaker.state.value

    @property
    def audit_sink(self) -> Any:
        return self._governor.audit_sink

    @audit_sink.setter
    def audit_sink(self, sink: Any) -> None:
        self._governor.audit_sink = sink

    def add_audit_hook(self, hook: AuditHook) -> Callable[[], None]:
        """Call `hook(payload, outcome)` after every audit attempt; returns a remover."""
        self._governor.audit_hooks.append(hook)

        def remove() -> None:
            if hook in self._governor.audit_hooks:
                self._governor.audit_hooks.remove(hook)

        return remove

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Receive every event of every call; returns an unsubscribe callable."""
        with self._listeners_lock:
            self._listeners = [*self._listeners, listener]

        def unsubscribe() -> None:
            with self._listeners_lock:
                self._listeners = [item for item in self._listeners if item is not listener]

        return unsubscribe

    def _emitter(self, on_event: Optional[Listener], result: Optional[GovernedResult] = None) -> Emitter:
        listeners = self._listeners if on_event is None else [*self._listeners, on_event]
        return Emitter(_new_call_id(), listeners, result)

    def sdk_client(self) -> Any:
        """The SDK client for the running event loop (for `GovernanceConsole`)."""
        return self._clients.get()

    # ----- governance mode ----------------------------------------------

    async def acompletion(
        self, *, user_token: Optional[str] = None, on_event: Optional[Listener] = None, **kwargs: Any
    ) -> Any:
        """Governed `litellm.acompletion`; with `stream=True` returns an async iterator.

        Returns as soon as the LLM has answered; the audit is delivered in the background
        (`aflush()` waits for it; `aclose()` and interpreter exit do too).
        """
        return await self._governor.run(kwargs, user_token, self._emitter(on_event), defer_audit=True)

    def completion(
        self, *, user_token: Optional[str] = None, on_event: Optional[Listener] = None, **kwargs: Any
    ) -> Any:
        """Governed `litellm.completion`; works in scripts, threads and running loops.

        The pre-check runs in the caller's thread when that is a script's main
        thread with no loop running, and otherwise on the process's sync-bridge
        loop; its events fire where it runs. The LLM call is LiteLLM's sync
        `completion` in the caller's thread. The audit (and the completion event)
        follow in the background on the bridge loop, as with `acompletion`. With
        `stream=True` the whole call runs on the bridge and returns a (sync)
        iterator of chunks.
        """
        bridge = get_bridge()
        if not kwargs.get("stream"):
            return self._governor.run_sync(kwargs, user_token, self._emitter(on_event), bridge)
        response = bridge.run(
            self._governor.run(kwargs, user_token, self._emitter(on_event), defer_audit=True)
        )
        if isinstance(response, GovernedStream):
            return SyncGovernedStream(response)
        return response

    async def agovern(
        self, *, user_token: Optional[str] = None, on_event: Optional[Listener] = None, **kwargs: Any
    ) -> GovernedResult:
        """Like `acompletion`, but never raises for governance outcomes or LLM errors.

        The exception goes to `result.error`; streams are consumed (chunks
        still arrive as events). KeyboardInterrupt and cancellation propagate.
        """
        result = GovernedResult()
        emit = self._emitter(on_event, result)
        try:
            response = await self._governor.run(kwargs, user_token, emit)
            if isinstance(response, GovernedStream):
                async for _ in response:
                    pass
                response = response.response
            result.response = response
            result.text = text_of(response) if response is not None else None
        except Exception as exc:
            result.error = exc
        return result

    def govern(
        self, *, user_token: Optional[str] = None, on_event: Optional[Listener] = None, **kwargs: Any
    ) -> GovernedResult:
        """Sync `agovern` (runs on the sync bridge)."""
        return get_bridge().run(self.agovern(user_token=user_token, on_event=on_event, **kwargs))

    # ----- lifecycle -----------------------------------------------------

    @property
    def pending_audits(self) -> int:
        """Audits of finished calls that are still being delivered."""
        return len(self._governor.pending)

    async def aflush(self, timeout: Optional[float] = None) -> bool:
        """Wait until every finished call's audit has been delivered (or failed).

        False if some were still in flight after `timeout` seconds (default: twice
        `call_timeout_seconds` plus one).
        """
        return await self._governor.pending.wait(timeout)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Sync `aflush` for scripts and threads.

        Audits of `acompletion` calls made on the loop running in this very thread (a
        notebook cell's) cannot finish while it blocks; `await logger.aflush()` there.
        """
        return self._governor.pending.wait_blocking(timeout)

    async def aclose(self) -> None:
        """Deliver the audits in flight, then close the SDK clients this logger built
        (never an injected one)."""
        await self.aflush()
        if self._clients.owns_clients:
            await self._clients.aclose_all()

    def close(self) -> None:
        """Sync `aclose`."""
        self.flush()
        if self._clients.owns_clients:
            get_bridge().run(self._clients.aclose_all())
            if not loop_running_here():
                self._clients.close_idle()  # the main thread's own loop, where sync pre-checks ran

    async def __aenter__(self) -> "AxonFlowLogger":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    def __enter__(self) -> "AxonFlowLogger":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ----- audit-only callback mode -------------------------------------

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        await self._callback_audit(kwargs, response_obj, start_time, end_time, None)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        await self._callback_audit(kwargs, response_obj, start_time, end_time, _error_text(kwargs, response_obj))

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._sync_hook(self._callback_audit(kwargs, response_obj, start_time, end_time, None))

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._sync_hook(
            self._callback_audit(kwargs, response_obj, start_time, end_time, _error_text(kwargs, response_obj))
        )

    def _sync_hook(self, coro: Any) -> None:
        bridge = get_bridge()
        if bridge.in_bridge_thread():
            bridge.loop.create_task(coro)
            return
        try:
            bridge.run(coro)
        except Exception:
            _log.warning("AxonFlow audit-only hook failed", exc_info=True)

    def _first_time(self, kwargs: Any) -> bool:
        """LiteLLM may call both the sync and async hook for one call: audit once."""
        call_id = kwargs.get("litellm_call_id") if isinstance(kwargs, dict) else None
        if not call_id:
            return True
        with self._callback_lock:
            if call_id in self._callback_seen:
                return False
            self._callback_seen[call_id] = None
            while len(self._callback_seen) > 4096:
                self._callback_seen.popitem(last=False)
        return True

    async def _callback_audit(
        self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any, error: Optional[str]
    ) -> None:
        """Audit a plain LiteLLM call: pre-check (never blocking) then audit."""
        try:
            if not isinstance(kwargs, dict) or _is_governed(kwargs) or not self._first_time(kwargs):
                return
            emit = self._emitter(None)
            model = str(kwargs.get("model", "unknown"))
            query = extract_query(kwargs.get("messages"))
            client = self._clients.get()
            config = self._config
            try:
                pre = await guarded(
                    self._governor.breaker, config.call_timeout_seconds,
                    lambda: client.pre_check(user_token=config.default_user_token, query=query,
                                             context=config.pre_check_context() or None),
                    self._clients.gate(),
                )
            except (GovernanceUnavailable, PlatformRejected) as exc:
                _log.warning("AxonFlow audit-only pre-check failed: %s", exc)
                pre = None
                if isinstance(exc, GovernanceUnavailable) and emit.active:
                    emit(GovernanceSkipped(emit.call_id, reason=exc.reason, stage="pre_check", detail=exc.detail))
            if pre is not None:
                if not pre.approved:
                    _log.warning("AxonFlow policy would deny this call (audit-only mode, not blocking): %s",
                                 pre.block_reason)
                if emit.active:
                    emit(DecisionMade(emit.call_id,
                                      status="approved" if pre.approved else (
                                          "needs_approval" if pre.block_reason == "require_approval" else "blocked"),
                                      policies=tuple(pre.policies or []), block_reason=pre.block_reason,
                                      context_id=pre.context_id, latency_ms=0.0,
                                      requires_redaction=bool(getattr(pre, "requires_redaction", False)),
                                      backend=config.endpoint))
            response = None if isinstance(response_obj, BaseException) else response_obj
            prompt, completion, total = usage_of(response)
            payload = AuditPayload(
                call_id=emit.call_id, context_id=pre.context_id if pre is not None else None,
                model=model, provider=provider_of(model), response_summary=text_of(response)[:2000],
                prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
                latency_ms=_elapsed_ms(start_time, end_time), error=error,
                metadata={"mode": "audit-only"},
            )
            await self._governor.deliver_audit(payload, emit)
        except Exception:
            _log.warning("AxonFlow audit-only hook failed", exc_info=True)


class SyncGovernedStream:
    """Sync iterator over a `GovernedStream`, pulled through the sync bridge."""

    def __init__(self, stream: GovernedStream) -> None:
        self._stream = stream

    @property
    def response(self) -> Any:
        return self._stream.response

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        found, chunk = get_bridge().run(_next_chunk(self._stream))
        if not found:
            raise StopIteration
        return chunk

    def close(self) -> None:
        get_bridge().run(self._stream.aclose())

    def __enter__(self) -> "SyncGovernedStream":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


async def _next_chunk(stream: AsyncIterator[Any]) -> tuple:
    try:
        return True, await stream.__anext__()
    except StopAsyncIteration:
        return False, None


def _is_governed(kwargs: dict) -> bool:
    params = kwargs.get("litellm_params") or {}
    for metadata in (params.get("metadata"), kwargs.get("metadata")):
        if isinstance(metadata, dict) and (metadata.get(GOVERNED_KEY) or metadata.get(CONTEXT_KEY)):
            return True
    return False


def _error_text(kwargs: Any, response_obj: Any) -> str:
    exc = kwargs.get("exception") if isinstance(kwargs, dict) else None
    if exc is None and isinstance(response_obj, BaseException):
        exc = response_obj
    if exc is None:
        return "LLM call failed"
    return f"{type(exc).__name__}: {exc}"[:2000]


def _elapsed_ms(start_time: Any, end_time: Any) -> int:
    try:
        return int((end_time - start_time).total_seconds() * 1000)
    except Exception:
        return 0


__all__ = ["AxonFlowLogger", "SyncGovernedStream"]
