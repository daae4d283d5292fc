"""The local audit journal: every governed call, durably, whatever AxonFlow's state.

AxonFlow's own trail only holds what reached it. Under fail-open an outage turns
calls ungoverned, and an audit sent while AxonFlow is down is simply lost. The
journal closes both gaps: every call the logger governs is appended to a SQLite
file in the user's data directory (journal_store.py, journal_recording.py), and
audit records AxonFlow has not acknowledged are retried in the background while
their pre-check context is valid, then flushed, bounded, at interpreter exit
(journal_delivery.py; the runtime's shutdown, step JOURNAL).

It plugs into the logger's public seams only: it wraps `logger.audit_sink` and
subscribes to the logger's events (`Journal.attach(logger)`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from .audit import AuditOutcome, AuditPayload, AuditSink
from .events import GovernanceEvent
from .journal_delivery import JournalDelivery, sdk_verifier
from .journal_recording import JournalRecorder
from .journal_store import CONTEXT_TTL_SECONDS, JournalPath, JournalStore, default_journal_path, delivery_text
from .runtime import ShutdownStep, at_shutdown

if TYPE_CHECKING:
    from .logger import AxonFlowLogger

_log = logging.getLogger("axonflow_notebook.core")


class Journal(JournalStore):
    """A durable journal of governed calls, with background audit delivery."""

    def __init__(
        self,
        path: Optional[JournalPath] = None,
        *,
        context_ttl_seconds: float = CONTEXT_TTL_SECONDS,
        retry_base_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        poll_seconds: float = 0.25,
        flush_at_exit_seconds: float = 5.0,
        verify_timeout_seconds: float = 5.0,
        **chain: Any,  # chain_key, retention_days (journal_store.py)
    ) -> None:
        super().__init__(path, context_ttl_seconds=context_ttl_seconds, retry_base_seconds=retry_base_seconds,
                         retry_max_seconds=retry_max_seconds, **chain)
        self.flush_at_exit_seconds = flush_at_exit_seconds
        self.verify_timeout_seconds = verify_timeout_seconds
        self.recorder = JournalRecorder(self)
        self.delivery = JournalDelivery(self, poll_seconds=poll_seconds)
        _LIVE.add(self)

    def attach(self, logger: "AxonFlowLogger", *, prompts: Optional[str] = None) -> Callable[[], None]:
        """Journal every call of `logger` and deliver its audits; returns a detacher.

        `prompts`: "preview" or "full" (default: the logger's `config.journal_prompts`).
        """
        endpoint = logger.config.endpoint
        prompts = _prompt_mode(prompts if prompts is not None else getattr(logger.config, "journal_prompts", None))
        inner: AuditSink = logger.audit_sink
        if isinstance(inner, JournalSink):
            if inner.journal is self and inner.prompts == prompts:
                return inner.detach  # already attached: calling again is harmless
            if inner.journal is self:
                inner.detach()  # attached with another prompt setting: attach again with this one
                inner = logger.audit_sink
            else:
                inner = inner.inner
        sink = JournalSink(self, inner, endpoint)
        sink.prompts = prompts
        logger.audit_sink = sink
        fail_open = bool(getattr(logger.config, "fail_open", True))
        unsubscribe = logger.subscribe(
            lambda event: self.record_event(event, endpoint, fail_open=fail_open, prompts=prompts))
        deliverers = self.delivery.deliverers
        deliverers[endpoint] = (inner, sdk_verifier(logger, self.verify_timeout_seconds))
        self.delivery.start()

        def detach() -> None:
            unsubscribe()
            if logger.audit_sink is sink:
                logger.audit_sink = inner
            if deliverers.get(endpoint, (None,))[0] is inner:
                deliverers.pop(endpoint, None)

        sink.detach = detach
        return detach

    def record_event(self, event: GovernanceEvent, endpoint: str, *, fail_open: bool = True,
                     prompts: str = "preview") -> None:
        self.recorder.record_event(event, endpoint, fail_open=fail_open, prompts=prompts)

    def flush(self, timeout: float = 5.0) -> int:
        """Deliver every pending record now (bounded by `timeout`); returns how many went."""
        return self.delivery.flush(timeout)

    def close(self) -> None:
        if self.closed:
            return
        self.delivery.stop()
        self.close_store()

    def flush_and_close(self) -> None:
        """The runtime's shutdown step JOURNAL."""
        if self.closed:
            return
        try:
            self.flush(self.flush_at_exit_seconds)
        finally:
            self.close()


class JournalSink:
    """The logger's audit sink, with the journal keeping the record until AxonFlow has it."""

    def __init__(self, journal: Journal, inner: AuditSink, endpoint: str) -> None:
        self.journal = journal
        self.inner = inner
        self.endpoint = endpoint
        self.prompts = "preview"  # what `attach` records of each prompt
        self.detach: Callable[[], None] = lambda: None

    async def deliver(self, payload: AuditPayload) -> AuditOutcome:
        journal = self.journal
        try:
            claimed = journal.stage(payload, self.endpoint)
        except Exception:
            _log.warning("audit journal: could not stage call %s", payload.call_id, exc_info=True)
            return await self.inner.deliver(payload)
        if not payload.context_id:
            return await self.inner.deliver(payload)
        if not claimed:
            return AuditOutcome(delivered=False, detail="audit already in the local journal")
        try:
            outcome = await self.inner.deliver(payload)
        except BaseException:
            journal.settle(payload.call_id, AuditOutcome(delivered=False, detail="interrupted",
                                                         skipped_reason="unreachable"))
            raise
        journal.settle(payload.call_id, outcome)
        if not outcome.delivered and outcome.skipped_reason:
            return dataclasses.replace(outcome, detail=f"{outcome.detail}; kept in the local journal for retry")
        return outcome


_LIVE: "weakref.WeakSet[Journal]" = weakref.WeakSet()


def _flush_all_at_exit() -> None:
    for journal in list(_LIVE):
        journal.flush_and_close()


at_shutdown(ShutdownStep.JOURNAL, _flush_all_at_exit)

_default: Optional[Journal] = None
_default_lock = threading.Lock()


def default_journal(path: Optional[JournalPath] = None, *, retention_days: Optional[float] = None) -> Journal:
    """The process's journal at `path` (default: the user data dir), opened once.

    `retention_days` (None: AXONFLOW_JOURNAL_RETENTION_DAYS, else 183) applies from now on."""
    global _default
    with _default_lock:
        wanted = Path(path) if path is not None else default_journal_path()
        if _default is None or _default.closed or _default.path != wanted:
            _default = Journal(wanted, retention_days=retention_days)
        elif retention_days is not None:
            _default.retention_days = retention_days
        return _default


def attach_journal(logger: "AxonFlowLogger", path: Optional[JournalPath] = None, *,
                   prompts: Optional[str] = None) -> Journal:
    """Opt a script's logger in: `attach_journal(AxonFlowLogger(config))`.

    `prompts="full"` keeps whole prompts (for `what_if` replays); the default is the logger's
    `config.journal_prompts` (AXONFLOW_JOURNAL_PROMPTS), else "preview".
    """
    journal = default_journal(path)
    journal.attach(logger, prompts=prompts)
    return journal


def _prompt_mode(value: Optional[str]) -> str:
    mode = (value or "preview").strip().lower()
    if mode not in ("preview", "full"):
        raise ValueError(f"journal prompts must be 'preview' or 'full', not {value!r}")
    return mode


__all__ = ["Journal", "JournalSink", "attach_journal", "default_journal", "default_journal_path",
           "delivery_text", "CONTEXT_TTL_SECONDS"]
