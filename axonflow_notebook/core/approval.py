"""Holding a call for human approval: create the HITL request, poll it, and never abandon it.

A request must not outlive its waiter. It is created with `expires_in_seconds` equal to
the waiter's deadline (`ceil(approval_max_wait_seconds)`) and a `request_context` naming
the model and the pre-check's context id. When the waiter gives up without a decision
(its deadline, cancellation, KeyboardInterrupt, polls failing, interpreter or kernel
shutdown) the request is expired at once through AxonFlow's HITL expire route
(extra_routes.py), so no reviewer can approve a call nobody waits for any more. The
expiry runs on the runtime's loop as a tracked delivery (pending.py): the caller's
cancellation cannot stop it, and `flush()`, `aclose()` and the exit wait for it. At
exit, waits still open are expired in the runtime's shutdown (step APPROVALS), bounded.

The documented limit: a real AxonFlow's expire route is a sweep that ignores the request
ids, so against it an abandoned request stays pending until its `expires_at` (the
waiter's deadline) passes, when the sweep or AxonFlow itself expires it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import time
from typing import Any, Dict, List, Optional, Sequence

from .breaker import CircuitBreaker
from .call import GovernedCall
from .clients import ClientPool, ensure_sdk
from .config import AxonFlowLoggerConfig
from .errors import ApprovalRejected, ApprovalTimeout
from .events import ApprovalDecided, ApprovalProgress, ApprovalRequested
from .extra_routes import expire_requests
from .guard import GovernanceUnavailable, PlatformRejected, bounded, guarded
from .pending import PendingDeliveries
from .runtime import ShutdownStep, at_shutdown, get_runtime
from .user_label import user_label

_log = logging.getLogger("axonflow_notebook.core")

REQUEST_TYPE = "litellm-completion"
APPROVAL_SENTINEL = "require_approval"
DECIDED = ("approved", "overridden", "rejected", "expired")
SHUTDOWN_EXPIRY_SECONDS = 3.0
EXPIRY_SLACK_SECONDS = 1.0  # AxonFlow's clock and ours may differ by this much at the deadline


class _PollsFailed(Exception):
    def __init__(self, failures: int) -> None:
        self.failures = failures
        super().__init__(f"{failures} consecutive poll failures")


class ApprovalGate:
    """Holds calls that need a reviewer's decision (one per logger)."""

    def __init__(self, config: AxonFlowLoggerConfig, breaker: CircuitBreaker, clients: ClientPool,
                 deliveries: PendingDeliveries) -> None:
        self._config = config
        self._breaker = breaker
        self._clients = clients
        self._deliveries = deliveries

    async def hold(self, call: GovernedCall, query: str, block_reason: Optional[str]) -> None:
        """Return once a reviewer approved; raise ApprovalRejected or ApprovalTimeout otherwise."""
        emit, policies = call.emit, call.policies
        # The clock starts before the request exists, so AxonFlow's expiry for it (created
        # later, with `ceil` of the same wait) never comes before the waiter's deadline.
        deadline = time.monotonic() + self._config.approval_max_wait_seconds
        request_id = await self._create(call, query, block_reason)
        _OPEN_WAITS[request_id] = self
        try:
            try:
                row = await self._poll(call, request_id, deadline)
            except (asyncio.CancelledError, KeyboardInterrupt):  # the latter raised right inside us
                emit(ApprovalDecided(emit.call_id, request_id=request_id, status="cancelled"))
                self._give_up(request_id)
                raise
            except _PollsFailed as exc:
                emit(ApprovalDecided(emit.call_id, request_id=request_id, status="error", comment=str(exc)))
                self._give_up(request_id)
                raise ApprovalRejected(
                    f"approval status unavailable after {exc.failures} consecutive poll failures", policies
                ) from exc.__cause__
            if row is None:
                emit(ApprovalDecided(emit.call_id, request_id=request_id, status="timeout"))
                await self._expire_before_raising(request_id)
                # The words of the reference integration, which users match on:
                # axonflow-litellm 1.1.0, https://pypi.org/project/axonflow-litellm/1.1.0/
                raise ApprovalTimeout(
                    f"Approval request timed out: no decision on {request_id} within "
                    f"{self._config.approval_max_wait_seconds:g}s", policies)
        finally:
            _OPEN_WAITS.pop(request_id, None)
        reviewer = getattr(row, "reviewer_email", None) or getattr(row, "reviewer_id", None)
        comment = getattr(row, "review_comment", None)
        approved = row.status in ("approved", "overridden")
        emit(ApprovalDecided(emit.call_id, request_id=request_id, status="approved" if approved else row.status,
                             reviewer=reviewer, comment=comment, decided_at=getattr(row, "reviewed_at", None)))
        if not approved:
            suffix = f" by {reviewer}" if reviewer else ""
            suffix += f": {comment}" if comment else ""
            raise ApprovalRejected(f"approval request {row.status}{suffix}", policies)

    async def _create(self, call: GovernedCall, query: str, block_reason: Optional[str]) -> str:
        from axonflow.hitl import HITLCreateInput

        config, emit, policies = self._config, call.emit, call.policies
        first_policy = policies[0] if policies else APPROVAL_SENTINEL
        request = HITLCreateInput(
            client_id=config.client_id,
            user_id=user_label(call.user_token),
            original_query=query[:4000],
            request_type=REQUEST_TYPE,
            request_context={**(call.request_context or {}), "model": call.model, "context_id": call.context_id},
            triggered_policy_id=first_policy,
            triggered_policy_name=first_policy,
            trigger_reason=block_reason or APPROVAL_SENTINEL,
            expires_in_seconds=max(1, math.ceil(config.approval_max_wait_seconds)),
        )
        client = self._clients.get()
        try:
            created = await guarded(self._breaker, config.call_timeout_seconds,
                                    lambda: client.create_hitl_request(request), self._clients.gate())
        except (GovernanceUnavailable, PlatformRejected) as exc:
            emit(ApprovalDecided(emit.call_id, request_id="", status="error", comment=str(exc)))
            raise ApprovalRejected(f"approval request could not be created: {exc}", policies) from exc
        emit(ApprovalRequested(
            emit.call_id, request_id=created.request_id, expires_at=getattr(created, "expires_at", None),
            policy=first_policy, severity=getattr(created, "severity", None),
            deadline_s=config.approval_max_wait_seconds,
        ))
        return str(created.request_id)

    async def _poll(self, call: GovernedCall, request_id: str, deadline: float) -> Any:
        """The decided request, or None once the deadline passed without a decision."""
        config, emit = self._config, call.emit
        client = self._clients.get()
        started = time.monotonic()
        polls = failures = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
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
                    raise _PollsFailed(failures) from exc
                continue
            failures = 0
            now = time.monotonic()
            emit(ApprovalProgress(emit.call_id, request_id=request_id, status=row.status, polls=polls,
                                  elapsed_s=now - started, remaining_s=max(0.0, deadline - now)))
            if row.status == "expired" and deadline - now < EXPIRY_SLACK_SECONDS:
                return None  # AxonFlow expired it for the deadline we gave it: our own timeout
            if row.status in DECIDED:
                return row

    # ----- expiry ---------------------------------------------------------

    async def expire(self, request_ids: Sequence[str]) -> int:
        """Expire these requests on AxonFlow now, with the running loop's client."""
        await ensure_sdk()
        client = self._clients.get()
        return await bounded(expire_requests(client, request_ids), self._config.call_timeout_seconds)

    def _expire_soon(self, request_id: str) -> "concurrent.futures.Future[None]":
        """Expire the request in a tracked delivery the caller's cancellation cannot stop."""
        done: "concurrent.futures.Future[None]" = concurrent.futures.Future()

        async def deliver() -> None:
            try:
                await self.expire([request_id])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.warning("could not expire abandoned approval request %s: %s: %s", request_id,
                             type(exc).__name__, str(exc)[:200])
            finally:
                if not done.done():
                    done.set_result(None)

        if self._clients.owns_clients:  # the runtime's loop always runs, and has its own client
            self._deliveries.spawn_on(get_runtime().loop, deliver)
        else:  # an injected client belongs to the caller's loop
            self._deliveries.spawn(deliver)
        return done

    def _give_up(self, request_id: str) -> Optional["concurrent.futures.Future[None]"]:
        """Expire the request unless the exit's shutdown step already did (None then)."""
        if _OPEN_WAITS.pop(request_id, None) is None:
            return None
        return self._expire_soon(request_id)

    async def _expire_before_raising(self, request_id: str) -> None:
        """At the deadline: expire, and wait (bounded) so the request is gone when the caller hears."""
        done = self._give_up(request_id)
        if done is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(done)),
                                   self._config.call_timeout_seconds + 1.0)
        except asyncio.TimeoutError:
            pass


# request id -> the gate whose call still waits for it
_OPEN_WAITS: Dict[str, ApprovalGate] = {}


def open_waits() -> List[str]:
    """Request ids whose waiter is still waiting."""
    return list(_OPEN_WAITS)


def _expire_open_waits() -> None:
    """Shutdown step APPROVALS: the waits still open at exit are expired, bounded."""
    waits = {request_id: _OPEN_WAITS.pop(request_id, None) for request_id in list(_OPEN_WAITS)}
    waits = {request_id: gate for request_id, gate in waits.items() if gate is not None}
    if not waits:
        return
    groups: Dict[int, tuple] = {}
    for request_id, gate in waits.items():
        groups.setdefault(id(gate), (gate, []))[1].append(request_id)

    async def expire_all() -> None:
        results = await asyncio.gather(*(gate.expire(ids) for gate, ids in groups.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                _log.warning("could not expire approval requests at exit: %r", result)

    try:
        get_runtime().run(asyncio.wait_for(expire_all(), SHUTDOWN_EXPIRY_SECONDS))
    except Exception as exc:
        _log.warning("could not expire approval requests at exit: %r", exc)


at_shutdown(ShutdownStep.APPROVALS, _expire_open_waits)


__all__ = ["ApprovalGate", "REQUEST_TYPE", "APPROVAL_SENTINEL", "open_waits"]
