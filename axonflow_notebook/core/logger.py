"""AxonFlowLogger: the LiteLLM integration's public class, a LiteLLM `CustomLogger`.

Governance mode: `completion` / `acompletion` (and `govern` / `agovern`, which return a
`GovernedResult` instead of raising). Audit-only mode: `litellm.callbacks = [logger]`.

Importing this module, or building a logger, never imports LiteLLM on the calling
thread: LiteLLM takes 4–5 s to import, and a notebook's kernel loop must not stall for it
(llm.py). The class is a `CustomLogger` subclass from the moment LiteLLM is imported,
which is the only moment anyone can ask: until then its base is a stand-in, swapped for
`CustomLogger` when the import finishes (LiteLLM dispatches to callbacks with
`isinstance(callback, CustomLogger)`, litellm/litellm_core_utils/litellm_logging.py).
"""

from __future__ import annotations

import threading
import uuid
import weakref
from typing import Any, Callable, List, Optional

from .audit import AuditHook, AuditSink
from .callback import CallbackAudits
from .config import AxonFlowLoggerConfig
from .emitter import Emitter, Listener
from .llm import start_litellm_import, when_litellm_ready
from .pipeline import Governor
from .providers import text_of
from .result import GovernedResult
from .runtime import get_runtime, loop_running_here
from .sdk_protocol import AxonFlowClient
from .streaming import GovernedStream, SyncGovernedStream


def _new_call_id() -> str:
    return uuid.uuid4().hex[:16]


class _CustomLoggerStandIn:
    """The base until LiteLLM is imported; then `CustomLogger` (module doc)."""


class AxonFlowLogger(_CustomLoggerStandIn):
    """AxonFlow governance and audit for LiteLLM calls."""

    def __init__(self, config: AxonFlowLoggerConfig, *, _client: Optional[AxonFlowClient] = None) -> None:
        if not isinstance(config, AxonFlowLoggerConfig):
            raise TypeError("config must be an AxonFlowLoggerConfig")
        # CustomLogger's own attributes, with its defaults, in case LiteLLM is not imported yet.
        self.message_logging = True
        self.turn_off_message_logging = False
        super().__init__()
        self._config = config
        self._governor = Governor(config, _client)
        self._listeners: List[Listener] = []
        self._listeners_lock = threading.Lock()
        self._callbacks = CallbackAudits(self._governor, lambda: self._emitter(None))
        _LIVE_LOGGERS.add(self)
        start_litellm_import()  # in the background, while the first pre-check runs

    @classmethod
    def from_client(cls, client: AxonFlowClient, config: AxonFlowLoggerConfig) -> "AxonFlowLogger":
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
    def audit_sink(self) -> AuditSink:
        return self._governor.audit_sink

    @audit_sink.setter
    def audit_sink(self, sink: AuditSink) -> None:
        self._governor.audit_sink = sink

    def add_audit_hook(self, hook: AuditHook) -> Callable[[], None]:
        """Call `hook(payload, outcome)` after every audit attempt; returns a remover."""
        hooks = self._governor.audit_step.hooks
        hooks.append(hook)

        def remove() -> None:
            if hook in hooks:
                hooks.remove(hook)

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

    def sdk_client(self) -> AxonFlowClient:
        """The SDK client for the running event loop (for `GovernanceConsole`)."""
        return self._governor.clients.get()

    # ----- governance mode ----------------------------------------------

    async def acompletion(self, *, user_token: Optional[str] = None, on_event: Optional[Listener] = None,
                          **kwargs: Any) -> Any:
        """Governed `litellm.acompletion`; with `stream=True` returns an async iterator.

        Returns as soon as the LLM has answered; the audit is delivered in the background
        (`aflush()` waits for it; `aclose()` and interpreter exit do too).
        """
        return await self._governor.run(kwargs, user_token, self._emitter(on_event), defer_audit=True)

    def completion(self, *, user_token: Optional[str] = None, on_event: Optional[Listener] = None,
                   **kwargs: Any) -> Any:
        """Governed `litellm.completion`; works in scripts, threads and running loops.

        The pre-check runs in the caller's thread when that is a script's main thread
        with no loop running, and otherwise on the runtime's loop (runtime.py); its
        events fire where it runs. The LLM call is LiteLLM's sync `completion` in the
        caller's thread. The audit (and the completion event) follow in the background
        on the runtime's loop, as with `acompletion`. With `stream=True` the whole call
        runs on the runtime's loop and returns a (sync) iterator of chunks.
        """
        runtime = get_runtime()
        if not kwargs.get("stream"):
            return self._governor.run_sync(kwargs, user_token, self._emitter(on_event))
        response = runtime.run(self._governor.run(kwargs, user_token, self._emitter(on_event), defer_audit=True))
        if isinstance(response, GovernedStream):
            return SyncGovernedStream(response)
        return response

    async def agovern(self, *, user_token: Optional[str] = None, on_event: Optional[Listener] = None,
                      **kwargs: Any) -> GovernedResult:
        """Like `acompletion`, but never raises for governance outcomes or LLM errors.

        The exception goes to `result.error`; streams are consumed (chunks still arrive
        as events). KeyboardInterrupt and cancellation propagate.
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

    def govern(self, *, user_token: Optional[str] = None, on_event: Optional[Listener] = None,
               **kwargs: Any) -> GovernedResult:
        """Sync `agovern` (runs on the runtime's loop)."""
        return get_runtime().run(self.agovern(user_token=user_token, on_event=on_event, **kwargs))

    # ----- batches (core/batch/) -----------------------------------------

    def batch(self, items: Any, *, model: str, concurrency: int = 8, **options: Any) -> Any:
        """A `BatchRun` of `items` (prompts or messages lists), not started: `await run.run()`.

        Options: `user_token`, `on_event`, `rpm`, `tpm`, `budget_usd`, `limits`,
        `completion_tokens_estimate`; every other keyword goes to LiteLLM for each row.
        AxonFlow's own blocking budgets covering the rows are a limit too, always
        (core/batch/axonflow_budget.py).
        """
        from .batch.runner import BatchRun

        return BatchRun(self, items, model=model, concurrency=concurrency, **options)

    async def amap(self, items: Any, *, model: str, concurrency: int = 8, **options: Any) -> Any:
        """Govern every item as one call each, `concurrency` at a time; a `BatchResult` in input order."""
        return await self.batch(items, model=model, concurrency=concurrency, **options).run()

    def map(self, items: Any, *, model: str, concurrency: int = 8, **options: Any) -> Any:
        """Sync `amap`. Ctrl-C raises `BatchInterrupted` (a KeyboardInterrupt) holding the partial result."""
        from .batch.errors import BatchInterrupted

        run = self.batch(items, model=model, concurrency=concurrency, **options)
        try:
            return get_runtime().run_in_caller(run.run())
        except KeyboardInterrupt:
            run.finished.wait(5)
            raise BatchInterrupted(run.result) from None

    def start_map(self, items: Any, *, model: str, concurrency: int = 8, **options: Any) -> Any:
        """`amap` on the core's background loop; returns a cancellable `BatchHandle` at once."""
        from .batch.handle import BatchHandle

        return BatchHandle(self.batch(items, model=model, concurrency=concurrency, **options)).start()

    # ----- lifecycle -----------------------------------------------------

    @property
    def pending_audits(self) -> int:
        """Audits of finished calls (and approval expiries) still being delivered."""
        return len(self._governor.deliveries)

    async def aflush(self, timeout: Optional[float] = None) -> bool:
        """Wait until every finished call's audit has been delivered (or failed).

        False if some were still in flight after `timeout` seconds (default: twice
        `call_timeout_seconds` plus one).
        """
        return await self._governor.deliveries.wait(timeout)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Sync `aflush` for scripts and threads.

        Audits of `acompletion` calls made on the loop running in this very thread (a
        notebook cell's) cannot finish while it blocks; `await logger.aflush()` there.
        """
        return self._governor.deliveries.wait_blocking(timeout)

    async def aclose(self) -> None:
        """Deliver the audits in flight, then close the SDK clients this logger built
        (never an injected one)."""
        await self.aflush()
        clients = self._governor.clients
        if clients.owns_clients:
            await clients.aclose_all()

    def close(self) -> None:
        """Sync `aclose`."""
        self.flush()
        clients = self._governor.clients
        if clients.owns_clients:
            get_runtime().run(clients.aclose_all())
            if not loop_running_here():
                clients.close_idle()  # the main thread's own loop, where sync pre-checks ran

    async def __aenter__(self) -> "AxonFlowLogger":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    def __enter__(self) -> "AxonFlowLogger":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ----- audit-only callback mode (LiteLLM's CustomLogger hooks) -------

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        await self._callbacks.audit(kwargs, response_obj, start_time, end_time, failed=False)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        await self._callbacks.audit(kwargs, response_obj, start_time, end_time, failed=True)

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._callbacks.audit_blocking(self._callbacks.audit(kwargs, response_obj, start_time, end_time, failed=False))

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._callbacks.audit_blocking(self._callbacks.audit(kwargs, response_obj, start_time, end_time, failed=True))


_LIVE_LOGGERS: "weakref.WeakSet[AxonFlowLogger]" = weakref.WeakSet()


def _adopt_custom_logger() -> None:
    """LiteLLM is imported: make AxonFlowLogger the `CustomLogger` it stands for."""
    from litellm.integrations.custom_logger import CustomLogger

    if issubclass(AxonFlowLogger, CustomLogger):
        return
    AxonFlowLogger.__bases__ = (CustomLogger,)
    for logger in list(_LIVE_LOGGERS):
        CustomLogger.__init__(logger)


when_litellm_ready(_adopt_custom_logger)


__all__ = ["AxonFlowLogger", "SyncGovernedStream"]
