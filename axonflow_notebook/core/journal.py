"""The local audit journal: every governed call, durably, whatever AxonFlow's state.

AxonFlow's own trail only holds what reached it. Under fail-open an outage
turns calls ungoverned, and an audit sent while AxonFlow is down is simply
lost. The journal closes both gaps: every call the logger governs (allowed,
blocked, refused, or run ungoverned under fail-open) is appended to a SQLite
file (WAL) in the user's data directory, and audit records AxonFlow has not
acknowledged are retried in the background while their pre-check context is
valid, then flushed (bounded) at interpreter exit. Past expiry a record is
marked undelivered with the reason.

It plugs into the logger's public seams only: it wraps `logger.audit_sink`
and subscribes to the logger's events (`Journal.attach(logger)`).

Delivery states: `delivered`, `pending` (retrying), `undelivered` (with a
reason), `not_applicable` (no context: nothing AxonFlow could accept).

Never twice: a record is claimed (`pending` → `sending`) atomically before it
is sent, and a retry after an ambiguous failure (a timeout or broken
connection, where AxonFlow may have recorded it anyway) first asks AxonFlow's
audit search whether the context already carries the LLM call.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from .audit import AuditOutcome, AuditPayload, AuditSink
from .events import (
    ApprovalDecided,
    CallFailed,
    CompletionFinished,
    DecisionMade,
    GovernanceEvent,
    GovernanceSkipped,
)

_log = logging.getLogger("axonflow_notebook.core")

CONTEXT_TTL_SECONDS = 300.0  # AxonFlow expires a pre-check context 5 min after it is issued
STALE_CLAIM_SECONDS = 120.0  # a `sending` claim older than this died with its process

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    endpoint TEXT NOT NULL,
    decision TEXT,
    policies TEXT,
    block_reason TEXT,
    model TEXT,
    provider TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    cost_usd REAL,
    latency_ms REAL,
    context_id TEXT,
    expires_at REAL,
    audit_id TEXT,
    delivery TEXT,
    reason TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    claimed_at REAL,
    ambiguous INTEGER NOT NULL DEFAULT 0,
    payload TEXT
);
CREATE INDEX IF NOT EXISTS calls_delivery ON calls (delivery, next_attempt_at);
"""

Verifier = Callable[[str], Any]  # async (context_id) -> True / False / None (unknown)


def default_journal_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("axonflow-notebook")) / "journal.sqlite3"


def delivery_text(row: Dict[str, Any]) -> str:
    """`delivered`, `pending`, `undelivered: <reason>`, `not_applicable`."""
    state = row.get("delivery") or "pending"
    if state == "sending":
        state = "pending"
    if state == "undelivered" and row.get("reason"):
        return f"undelivered: {row['reason']}"
    return state


class Journal:
    """A durable journal of governed calls, with background audit delivery."""

    def __init__(
        self,
        path: Optional[Any] = None,
        *,
        context_ttl_seconds: float = CONTEXT_TTL_SECONDS,
        retry_base_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        poll_seconds: float = 0.25,
        flush_at_exit_seconds: float = 5.0,
        verify_timeout_seconds: float = 5.0,
    ) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.context_ttl_seconds = context_ttl_seconds
        self.retry_base_seconds = retry_base_seconds
        self.retry_max_seconds = retry_max_seconds
        self.poll_seconds = poll_seconds
        self.flush_at_exit_seconds = flush_at_exit_seconds
        self.verify_timeout_seconds = verify_timeout_seconds
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                     timeout=10.0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._release_stale_claims()
        self._deliverers: Dict[str, tuple] = {}  # endpoint -> (sink, verifier)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._wake: Optional[asyncio.Event] = None
        self._closed = False
        atexit.register(self._at_exit)

    # ----- plugging into a logger ---------------------------------------

    def attach(self, logger: Any) -> Callable[[], None]:
        """Journal every call of `logger` and deliver its audits; returns a detacher."""
        endpoint = logger.config.endpoint
        inner: AuditSink = logger.audit_sink
        if isinstance(inner, JournalSink):
            if inner.journal is self:
                return inner.detach  # already attached: calling again is harmless
            inner = inner.inner
        sink = JournalSink(self, inner, endpoint)
        logger.audit_sink = sink
        fail_open = bool(getattr(logger.config, "fail_open", True))
        unsubscribe = logger.subscribe(lambda event: self.record_event(event, endpoint, fail_open))
        self._deliverers[endpoint] = (inner, _sdk_verifier(logger, self.verify_timeout_seconds))
        self._ensure_worker()

        def detach() -> None:
            unsubscribe()
            if logger.audit_sink is sink:
                logger.audit_sink = inner
            if self._deliverers.get(endpoint, (None,))[0] is inner:
                self._deliverers.pop(endpoint, None)

        sink.detach = detach
        return detach

    # ----- recording ----------------------------------------------------

    def _execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    def _fetch(self, sql: str, params: tuple = ()) -> List[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _upsert(self, call_id: str, endpoint: str, at: float, **values: Any) -> None:
        """One statement per event: create the call's row or fold `values` into it."""
        cols = ", ".join(values)
        sets = ", ".join(f"{c} = excluded.{c}" for c in values)
        self._execute(
            f"INSERT INTO calls (call_id, created_at, endpoint, {cols}) VALUES (?, ?, ?{', ?' * len(values)}) "
            f"ON CONFLICT(call_id) DO UPDATE SET {sets}", (call_id, at, endpoint, *values.values()))

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
        return event.at - event.latency_ms / 1000.0 + self.context_ttl_seconds

    def record_event(self, event: GovernanceEvent, endpoint: str, fail_open: bool = True) -> None:
        """Fold one event into its call's row (a listener: never raises into the call)."""
        try:
            self._record(event, endpoint, fail_open)
        except Exception:
            _log.warning("audit journal: could not record %s", type(event).__name__, exc_info=True)

    def _record(self, event: GovernanceEvent, endpoint: str, fail_open: bool) -> None:
        cid, at = event.call_id, event.at
        if isinstance(event, DecisionMade):
            self._upsert(cid, endpoint, at, decision=event.status, policies=json.dumps(list(event.policies)),
                         block_reason=event.block_reason, context_id=event.context_id,
                         expires_at=self._expiry(event) if event.context_id else None)
        elif isinstance(event, GovernanceSkipped) and event.stage == "pre_check":
            # (an audit-stage skip is settled by the sink)
            mode = "ungoverned (fail-open)" if fail_open else "refused (fail-closed)"
            self._upsert(cid, endpoint, at, decision=mode.split()[0], delivery="not_applicable",
                         reason=f"{mode}: AxonFlow {event.reason}")
        elif isinstance(event, ApprovalDecided):
            self._upsert(cid, endpoint, at, decision=f"needs_approval: {event.status}")
        elif isinstance(event, CompletionFinished):
            self._upsert(cid, endpoint, at, model=event.model, provider=event.provider,
                         prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens,
                         total_tokens=event.total_tokens, cost_usd=event.cost_usd, latency_ms=event.latency_ms)
        elif isinstance(event, CallFailed):
            before_llm = event.stage in ("pre_check", "approval")
            error = f"{event.error_type}: {event.message}"[:1000]
            policies = json.dumps(list(event.policies))
            self._execute(
                "INSERT INTO calls (call_id, created_at, endpoint, error, decision, delivery, reason, policies, "
                "model) VALUES (?, ?, ?, ?, CASE WHEN ? THEN 'refused' END, 'not_applicable', "
                "CASE WHEN ? THEN 'refused before the LLM call; no AxonFlow context' END, ?, NULLIF(?, '')) "
                "ON CONFLICT(call_id) DO UPDATE SET error = excluded.error, "
                "model = COALESCE(model, excluded.model), "
                "decision = CASE WHEN ? AND decision IS NULL THEN 'refused' ELSE decision END, "
                "delivery = CASE WHEN ? THEN 'not_applicable' ELSE COALESCE(delivery, 'not_applicable') END, "
                "reason = CASE WHEN NOT ? OR decision IN ('ungoverned', 'refused') THEN reason "
                "WHEN context_id IS NULL THEN 'refused before the LLM call; no AxonFlow context' "
                "ELSE 'stopped before the LLM call; AxonFlow holds the pre-check decision' END, "
                "policies = COALESCE(policies, excluded.policies)",
                (cid, at, endpoint, error, before_llm, before_llm, policies, getattr(event, "model", ""),
                 before_llm, before_llm, before_llm))

    # ----- delivery state -----------------------------------------------

    def stage(self, payload: AuditPayload, endpoint: str) -> bool:
        """Keep the audit record before it is sent, so a crash cannot lose it.

        A record with a context is claimed for this first send at once (`sending`);
        True when the caller should send it.
        """
        now = time.time()
        blob = json.dumps(dataclasses.asdict(payload), default=str)
        if not payload.context_id:
            self._execute(
                "INSERT INTO calls (call_id, created_at, endpoint, payload, model, provider, delivery, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, 'not_applicable', ?) ON CONFLICT(call_id) DO UPDATE SET "
                "payload = excluded.payload, model = COALESCE(model, excluded.model), "
                "provider = COALESCE(provider, excluded.provider), delivery = 'not_applicable', "
                "reason = COALESCE(reason, excluded.reason)",
                (payload.call_id, now, endpoint, blob, payload.model, payload.provider,
                 "no AxonFlow context to audit against"))
            return False
        cursor = self._execute(
            "INSERT INTO calls (call_id, created_at, endpoint, payload, context_id, model, provider, delivery, "
            "expires_at, attempts, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'sending', ?, 1, ?) "
            "ON CONFLICT(call_id) DO UPDATE SET payload = excluded.payload, context_id = excluded.context_id, "
            "model = COALESCE(model, excluded.model), provider = COALESCE(provider, excluded.provider), "
            "delivery = 'sending', reason = NULL, expires_at = COALESCE(expires_at, excluded.expires_at), "
            "attempts = attempts + 1, claimed_at = excluded.claimed_at WHERE delivery IS NULL",
            (payload.call_id, now, endpoint, blob, payload.context_id, payload.model, payload.provider,
             now + self.context_ttl_seconds, now))
        return cursor.rowcount == 1

    def claim(self, call_id: str) -> bool:
        """pending → sending, atomically (also across processes sharing the file)."""
        cursor = self._execute(
            "UPDATE calls SET delivery = 'sending', claimed_at = ?, attempts = attempts + 1 "
            "WHERE call_id = ? AND delivery = 'pending'", (time.time(), call_id))
        return cursor.rowcount == 1

    def settle(self, call_id: str, outcome: AuditOutcome) -> None:
        if outcome.delivered:
            self._execute("UPDATE calls SET delivery = 'delivered', audit_id = ?, reason = NULL, "
                          "ambiguous = 0 WHERE call_id = ?", (outcome.audit_id, call_id))
        elif outcome.skipped_reason:  # AxonFlow unavailable: retry while the context lives
            rows = self._fetch("SELECT attempts FROM calls WHERE call_id = ?", (call_id,))
            attempts = rows[0]["attempts"] if rows else 1
            delay = min(self.retry_max_seconds, self.retry_base_seconds * 2 ** max(0, attempts - 1))
            self._execute(
                "UPDATE calls SET delivery = 'pending', reason = ?, next_attempt_at = ?, "
                "ambiguous = MAX(ambiguous, ?) WHERE call_id = ?",
                (f"{outcome.skipped_reason}: {outcome.detail}"[:500], time.time() + delay,
                 outcome.skipped_reason != "breaker_open", call_id))
            self._wake_worker()
        else:  # AxonFlow answered and refused it (e.g. invalid or expired context)
            self._execute("UPDATE calls SET delivery = 'undelivered', reason = ? WHERE call_id = ?",
                          ((outcome.detail or "AxonFlow did not accept the audit")[:500], call_id))

    def expire(self, now: Optional[float] = None) -> int:
        """Pending records whose context expired can never be delivered: say so."""
        cursor = self._execute(
            "UPDATE calls SET delivery = 'undelivered', reason = 'context expired before AxonFlow '"
            " || 'acknowledged the audit' || COALESCE(' (last error: ' || reason || ')', '') "
            "WHERE delivery = 'pending' AND expires_at <= ?", (time.time() if now is None else now,))
        return cursor.rowcount

    def _release_stale_claims(self) -> None:
        self._execute(
            "UPDATE calls SET delivery = 'pending', ambiguous = 1 WHERE delivery = 'sending' AND "
            "claimed_at < ?", (time.time() - STALE_CLAIM_SECONDS,))

    # ----- reading --------------------------------------------------------

    def records(self, limit: int = 50) -> List[Dict[str, Any]]:
        """Newest first."""
        rows = self._fetch("SELECT * FROM calls ORDER BY rowid DESC LIMIT ?", (limit,))
        return [dict(row) for row in rows]

    def count(self, delivery: Optional[str] = None) -> int:
        if delivery is None:
            return self._fetch("SELECT COUNT(*) FROM calls")[0][0]
        return self._fetch("SELECT COUNT(*) FROM calls WHERE delivery = ?", (delivery,))[0][0]

    # ----- background delivery -------------------------------------------

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            ready = threading.Event()
            self._thread = threading.Thread(target=self._work, args=(ready,), name="axonflow-journal",
                                            daemon=True)
            self._thread.start()
        ready.wait(5)

    def _work(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._wake = asyncio.Event()
        ready.set()
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    def _wake_worker(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass

    async def _serve(self) -> None:
        while not self._closed:
            try:
                await self.drain()
            except Exception:
                _log.warning("audit journal: delivery pass failed", exc_info=True)
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def drain(self, *, force: bool = False) -> int:
        """One delivery pass over due pending records; returns how many were delivered."""
        self._release_stale_claims()
        self.expire()
        endpoints = list(self._deliverers)
        if not endpoints:
            return 0
        marks = ",".join("?" * len(endpoints))
        due = "" if force else " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
        params = (*endpoints,) if force else (*endpoints, time.time())
        rows = self._fetch(
            f"SELECT call_id, endpoint, context_id, payload, ambiguous FROM calls WHERE delivery = 'pending' "
            f"AND payload IS NOT NULL AND endpoint IN ({marks}){due} ORDER BY rowid", params)
        delivered = 0
        for row in rows:
            if self._closed and not force:
                break
            delivered += await self._redeliver(dict(row))
        return delivered

    async def _redeliver(self, row: Dict[str, Any]) -> int:
        found = self._deliverers.get(row["endpoint"])
        if found is None or not self.claim(row["call_id"]):
            return 0
        sink, verify = found
        if row["ambiguous"]:
            try:
                recorded, why = await verify(row["context_id"]), ""
            except Exception as exc:
                recorded, why = None, f": {type(exc).__name__}: {str(exc)[:200]}"
            if recorded is None:  # cannot tell: sending could record it twice, so wait
                self.settle(row["call_id"], AuditOutcome(
                    False, detail=f"could not check whether AxonFlow already holds it{why}",
                    skipped_reason="unreachable"))
                return 0
            if recorded:
                self.settle(row["call_id"], AuditOutcome(True, detail="already recorded by AxonFlow"))
                return 1
        payload = AuditPayload(**json.loads(row["payload"]))
        try:
            outcome = await sink.deliver(payload)
        except Exception as exc:
            outcome = AuditOutcome(False, detail=f"audit sink failed: {type(exc).__name__}",
                                   skipped_reason="unreachable")
        self.settle(row["call_id"], outcome)
        return int(outcome.delivered)

    def flush(self, timeout: float = 5.0) -> int:
        """Deliver every pending record now (bounded by `timeout`); returns how many went."""
        if self._loop is None or self._loop.is_closed() or not self._deliverers:
            self.expire()
            return 0
        future = asyncio.run_coroutine_threadsafe(self.drain(force=True), self._loop)
        try:
            return future.result(timeout)
        except Exception:
            future.cancel()
            return 0
        finally:
            self.expire()

    def _at_exit(self) -> None:
        if self._closed:
            return
        try:
            self.flush(self.flush_at_exit_seconds)
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake_worker()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            self._conn.close()
        atexit.unregister(self._at_exit)


class JournalSink:
    """The logger's audit sink, with the journal keeping the record until AxonFlow has it."""

    def __init__(self, journal: Journal, inner: AuditSink, endpoint: str) -> None:
        self.journal = journal
        self.inner = inner
        self.endpoint = endpoint
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
            return AuditOutcome(False, detail="audit already in the local journal")
        try:
            outcome = await self.inner.deliver(payload)
        except BaseException:
            journal.settle(payload.call_id, AuditOutcome(False, detail="interrupted",
                                                         skipped_reason="unreachable"))
            raise
        journal.settle(payload.call_id, outcome)
        if not outcome.delivered and outcome.skipped_reason:
            return dataclasses.replace(outcome, detail=f"{outcome.detail}; kept in the local journal for retry")
        return outcome


def _sdk_verifier(logger: Any, timeout: float) -> Verifier:
    """Does AxonFlow's trail already show an LLM call on this context? (None: cannot tell)."""

    async def verify(context_id: str) -> Optional[bool]:
        from axonflow.types import AuditSearchRequest

        client = logger.sdk_client()
        page = await asyncio.wait_for(
            client.search_audit_logs(AuditSearchRequest(decision_id=context_id, limit=5)), timeout)
        for entry in getattr(page, "entries", None) or []:
            if context_id in (getattr(entry, "id", None), getattr(entry, "request_id", None)):
                return bool(getattr(entry, "model", None))
        return False

    return verify


_default: Optional[Journal] = None
_default_lock = threading.Lock()


def default_journal(path: Optional[Any] = None) -> Journal:
    """The process's journal at `path` (default: the user data dir), opened once."""
    global _default
    with _default_lock:
        wanted = Path(path) if path is not None else default_journal_path()
        if _default is None or _default._closed or _default.path != wanted:
            _default = Journal(wanted)
        return _default


def attach_journal(logger: Any, path: Optional[Any] = None) -> Journal:
    """Opt a script's logger in: `attach_journal(AxonFlowLogger(config))`."""
    journal = default_journal(path)
    journal.attach(logger)
    return journal


__all__ = ["Journal", "JournalSink", "attach_journal", "default_journal", "default_journal_path",
           "delivery_text", "CONTEXT_TTL_SECONDS"]
