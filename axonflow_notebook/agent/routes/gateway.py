"""Gateway mode: ``POST /api/policy/pre-check`` and ``POST /api/audit/llm-call``.

Pre-check is on every governed call's critical path: one JSON parse, one policy
evaluation, one budget check in memory, one queued INSERT, one JSON answer. Each accepted
llm-call audit is also recorded as usage (``budgets/enforcement.py``). Request and response shapes follow
AxonFlow's ``PreCheckRequest`` / ``PreCheckResponse`` and ``AuditLLMCallRequest``
(https://github.com/getaxonflow/axonflow/blob/main/docs/api/agent-api.yaml).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from typing import Any, Optional

from starlette.routing import Route

from .. import audit, explain, timestamps
from ..auth import Identity
from ..budgets import attribution, enforcement
from ..errors import ApiError, bad_request
from ..plumbing import identity, json_response, parse_json_object, read_body, request_json, required_text

CONTEXT_TTL_SECONDS = 300
PRE_CHECK_PATH = "/api/policy/pre-check"
# Bodies past this size are evaluated on a worker thread, so one huge or hostile prompt
# slows its own answer instead of stalling every other request on the event loop.
INLINE_BODY_BYTES = 64 * 1024


class _ContextIds:
    """Random (version 4) UUID strings from a pooled ``os.urandom`` read: one syscall per
    256 ids instead of one per pre-check. Thread-safe (big bodies run on worker threads)."""

    _SIZE = 16 * 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._offset = 0

    def new(self) -> str:
        with self._lock:
            if self._offset >= len(self._pool):
                self._pool, self._offset = os.urandom(self._SIZE), 0
            raw = self._pool[self._offset: self._offset + 16]
            self._offset += 16
        h = raw.hex()
        variant = "89ab"[raw[8] & 0x03]
        return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


_context_ids = _ContextIds()


def _user_email(caller: Identity) -> str:
    if caller.authenticated:
        return f"{caller.client_id}@axonflow.local"
    return "local-dev@axonflow.local"


def _check_optional_types(body: dict) -> None:
    """400 for optional fields of the wrong type (``PreCheckRequest``); null reads as absent."""
    sources = body.get("data_sources")
    if sources is not None and (not isinstance(sources, list) or not all(isinstance(s, str) for s in sources)):
        raise bad_request("data_sources must be an array of strings")
    context = body.get("context")
    if context is not None and not isinstance(context, dict):
        raise bad_request("context must be an object")
    token = body.get("user_token")
    if token is not None and not isinstance(token, str):
        raise bad_request("user_token must be a string")


def pre_check_answer(state, caller: Identity, raw: bytes) -> tuple[dict, tuple]:
    """Decide one pre-check, record it, and return the wire answer and its extra headers."""
    body = parse_json_object(raw)
    query = required_text(body, "query")
    body_client = required_text(body, "client_id")
    _check_optional_types(body)
    client_id = caller.client_id or body_client
    user_email = _user_email(caller)
    who, named = attribution.of_pre_check(body, client_id, user_email)
    engine = state.engine  # one read: the version reported is the one that decided
    ev = engine.evaluate(query)
    epoch = time.time()
    context_id = _context_ids.new()
    # Budgets are checked when no static policy blocked the call (budgets/enforcement.py).
    standing = state.budgets.check(who) if ev.blocked_by is None else None
    if standing is not None and standing.blocked:
        _refuse_over_budget(state, engine, context_id, epoch, client_id, user_email, query, ev, standing)
    if named:
        state.budgets.remember(context_id, who)
    expires_at = timestamps.format_epoch(epoch + CONTEXT_TTL_SECONDS)
    policies = list(ev.policy_ids)
    answer: dict[str, Any] = {
        "context_id": context_id,
        "approved": ev.approved,
        "policies": policies,  # always an array: the spec's PreCheckResponse has no null here
        "expires_at": expires_at,
        "decision_id": context_id,
        "policy_bundle": engine.version,
    }
    block_reason = ev.block_reason
    if block_reason:
        answer["block_reason"] = block_reason
    if ev.requires_redaction:
        answer["requires_redaction"] = True
        answer["approved_data"] = {"redacted_query": ev.redacted_query}
    if standing is not None:
        answer["budget_info"] = standing.info()
    state.store.insert_decision(
        audit.decision_row(
            context_id,
            timestamps.format_epoch(epoch),
            expires_at,
            client_id,
            client_id,
            user_email,
            ev.decision,
            policies,
            block_reason,
            query,
            audit.query_preview(query, ev),
        )
        + (engine.version, explain.details(ev, query, state.lab.full_prompts))
    )
    return answer, enforcement.warning_headers(standing)


def _refuse_over_budget(state, engine, context_id, epoch, client_id, user_email, query, ev, standing) -> None:
    """Record the refusal in the trail and raise the 402. The entry expires at once, so no
    llm-call audit can complete it (AxonFlow never stores a 402's context)."""
    now = timestamps.format_epoch(epoch)
    refusal = enforcement.BudgetExceeded(context_id, standing, now)
    state.store.insert_decision(audit.decision_row(
        context_id, now, now, client_id, client_id, user_email, "blocked",
        [enforcement.BUDGET_POLICY], refusal.message, query, audit.query_preview(query, ev),
    ) + (engine.version, explain.details(ev, query, state.lab.full_prompts)))
    raise refusal


async def answer_pre_check(state, caller: Identity, raw: bytes) -> tuple[dict, tuple]:
    if len(raw) <= INLINE_BODY_BYTES:
        return pre_check_answer(state, caller, raw)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, pre_check_answer, state, caller, raw)


async def pre_check(request):
    """The route through Starlette; the app's fast path (app.py) answers the same way."""
    raw = await read_body(request.receive, request.headers.get("content-length"))
    if raw is None:
        raise bad_request("Invalid request body: the client closed the connection")
    answer, headers = await answer_pre_check(request.app.state.agent, identity(request), raw)
    return json_response(answer, headers={k.decode("latin-1"): v.decode("latin-1") for k, v in headers})


async def audit_llm_call(request):
    state = request.app.state.agent
    caller = identity(request)
    body = await request_json(request)
    context_id = required_text(body, "context_id")
    body_client = required_text(body, "client_id")
    required_text(body, "provider")
    required_text(body, "model")
    if "token_usage" not in body or body["token_usage"] is None:
        raise bad_request("token_usage field is required")
    owner: Optional[str] = None
    if caller.authenticated:
        if body_client != caller.client_id:
            raise ApiError(
                403, "client_id mismatch: body client_id does not match authenticated identity"
            )
        owner = caller.client_id
    audit_id = str(uuid.uuid4())
    now = timestamps.now()
    values = audit.completion_values(body, audit_id, now)
    if not state.store.complete_call(context_id, now, values, owner):
        raise bad_request("Invalid or expired context")
    await enforcement.record_usage(
        state.budgets, body, context_id=context_id, audit_id=audit_id, now=now,
        client_id=caller.client_id or body_client, user=_user_email(caller),
    )
    return json_response({"success": True, "audit_id": audit_id})


ROUTES = [
    Route(PRE_CHECK_PATH, pre_check, methods=["POST"]),
    Route("/api/audit/llm-call", audit_llm_call, methods=["POST"]),
]
