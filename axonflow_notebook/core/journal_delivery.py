"""The journal's delivery: audit records AxonFlow has not acknowledged, retried on the runtime's loop.

A task on the runtime's loop (runtime.py) makes a delivery pass over the due records
every `poll_seconds` (a cheap indexed read when nothing waits), while each record's
pre-check context is valid; past expiry a record is marked undelivered with the reason.
`flush` runs one forced pass (the runtime's shutdown does, step JOURNAL).

Never twice: a record is claimed (`pending` → `sending`) atomically before it is sent,
and a retry after an ambiguous failure (a timeout or broken connection, where AxonFlow
may have recorded it anyway) first asks AxonFlow's audit search whether the context
already carries the LLM call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional, Tuple

from .audit import AuditOutcome, AuditPayload, AuditSink
from .guard import bounded
from .journal_store import JournalStore
from .runtime import get_runtime

if TYPE_CHECKING:
    from .logger import AxonFlowLogger

_log = logging.getLogger("axonflow_notebook.core")

Verifier = Callable[[str], Awaitable[Optional[bool]]]  # context id -> recorded? (None: cannot tell)


class JournalDelivery:
    def __init__(self, store: JournalStore, *, poll_seconds: float) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.deliverers: Dict[str, Tuple[AuditSink, Verifier]] = {}  # endpoint -> (sink, verifier)
        self._serving: Optional["concurrent.futures.Future[None]"] = None
        self._wake: Optional[asyncio.Event] = None
        self._stopping = False

    def start(self) -> None:
        """Start the delivery task on the runtime's loop (once)."""
        if self._serving is None and not self._stopping:
            self._serving = get_runtime().submit(self._serve())

    def wake(self) -> None:
        wake = self._wake
        if wake is not None:
            try:
                get_runtime().loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass

    async def _serve(self) -> None:
        self._wake = asyncio.Event()
        while not self._stopping:
            try:
                self.store.prune_if_due()  # retention (journal_store.py), off every call's path
            except Exception:
                _log.warning("audit journal: pruning failed", exc_info=True)
            try:
                if self.store.has_undelivered():
                    await self.drain()
            except Exception:
                _log.warning("audit journal: delivery pass failed", exc_info=True)
            try:
                await bounded(self._wake.wait(), self.poll_seconds)  # no task per wait (guard.py)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def drain(self, *, force: bool = False) -> int:
        """One delivery pass over due pending records; returns how many were delivered."""
        store = self.store
        store.release_stale_claims()
        store.expire()
        endpoints = list(self.deliverers)
        if not endpoints:
            return 0
        delivered = 0
        for row in store.due(endpoints, force=force):
            if self._stopping and not force:
                break
            delivered += await self._redeliver(row)
        return delivered

    async def _redeliver(self, row: Dict[str, Any]) -> int:
        store = self.store
        found = self.deliverers.get(row["endpoint"])
        if found is None or not store.claim(row["call_id"]):
            return 0
        sink, verify = found
        if row["ambiguous"]:
            try:
                recorded, why = await verify(row["context_id"]), ""
            except Exception as exc:
                recorded, why = None, f": {type(exc).__name__}: {str(exc)[:200]}"
            if recorded is None:  # cannot tell: sending could record it twice, so wait
                store.settle(row["call_id"], AuditOutcome(
                    delivered=False, detail=f"could not check whether AxonFlow already holds it{why}",
                    skipped_reason="unreachable"))
                return 0
            if recorded:
                store.settle(row["call_id"], AuditOutcome(delivered=True, detail="already recorded by AxonFlow"))
                return 1
        payload = AuditPayload(**json.loads(row["payload"]))
        try:
            outcome = await sink.deliver(payload)
        except Exception as exc:
            outcome = AuditOutcome(delivered=False, detail=f"audit sink failed: {type(exc).__name__}",
                                   skipped_reason="unreachable")
        store.settle(row["call_id"], outcome)
        return int(outcome.delivered)

    def flush(self, timeout: float = 5.0) -> int:
        """Deliver every pending record now (bounded by `timeout`); returns how many went."""
        runtime = get_runtime()
        if not self.deliverers or runtime.in_loop_thread():
            self.store.expire()
            return 0
        future = runtime.submit(self.drain(force=True))
        try:
            return future.result(timeout)
        except Exception:
            future.cancel()
            return 0
        finally:
            self.store.expire()

    def stop(self, timeout: float = 5.0) -> None:
        """End the delivery task (it finishes the record in hand first)."""
        self._stopping = True
        serving, self._serving = self._serving, None
        if serving is None:
            return
        self.wake()
        if get_runtime().in_loop_thread():
            return
        try:
            serving.result(timeout)
        except Exception:
            serving.cancel()


def sdk_verifier(logger: "AxonFlowLogger", timeout: float) -> Verifier:
    """Does AxonFlow's trail already show an LLM call on this context? (None: cannot tell)."""

    async def verify(context_id: str) -> Optional[bool]:
        from axonflow.types import AuditSearchRequest

        client: Any = logger.sdk_client()
        page = await asyncio.wait_for(
            client.search_audit_logs(AuditSearchRequest(decision_id=context_id, limit=5)), timeout)
        for entry in getattr(page, "entries", None) or []:
            if context_id in (getattr(entry, "id", None), getattr(entry, "request_id", None)):
                return bool(getattr(entry, "model", None))
        return False

    return verify


__all__ = ["JournalDelivery", "sdk_verifier", "Verifier"]
