"""The Starlette application: AxonFlow's agent routes over the engine, store and auth.

Handlers stay lean because pre-check is on every governed call's critical path: one JSON
parse, one policy evaluation, one INSERT, one JSON answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import uuid
from typing import Any, Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import audit, hitl, timestamps
from .auth import Identity
from .errors import MIDDLEWARE, ApiError, bad_request, method_not_allowed, not_found_route

MAX_BODY_BYTES = 8 * 1024 * 1024
CONTEXT_TTL_SECONDS = 300
AGENT_VERSION = "9.5.0"
PRE_CHECK_PATH = "/api/policy/pre-check"
# Bodies past this size are evaluated on a worker thread, so one huge or hostile prompt
# slows its own answer instead of stalling every other request on the event loop.
INLINE_BODY_BYTES = 64 * 1024
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


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


class AgentState:
    """What every handler needs: the policy engine, the store and the access rule."""

    def __init__(self, engine, store, auth) -> None:
        self.engine = engine
        self.store = store
        self.auth = auth


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _too_large() -> ApiError:
    return ApiError(413, f"Request body too large (max {MAX_BODY_BYTES} bytes)")


def _check_length(declared: Optional[str]) -> None:
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        raise bad_request("Invalid Content-Length") from None
    if size > MAX_BODY_BYTES:
        raise _too_large()


def parse_json_object(raw: bytes, allow_empty: bool = False) -> dict:
    """A request body as a JSON object; 400 for anything else."""
    if not raw.strip():
        if allow_empty:
            return {}
        raise bad_request("Invalid request body")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request("Invalid request body") from None
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object")
    # JSON may escape lone surrogates, which no UTF-8 consumer (regex engine, SQLite) takes.
    if _SURROGATE_ESCAPE.search(raw):
        try:
            lone = _has_lone_surrogate(body)
        except RecursionError:
            raise bad_request("Invalid request body: nested too deeply") from None
        if lone:
            raise bad_request("Invalid request body: string contains a lone UTF-16 surrogate")
    return body


async def read_json(request: Request, allow_empty: bool = False) -> dict:
    """The request body as a JSON object; 413 past the cap, 400 for anything not an object."""
    _check_length(request.headers.get("content-length"))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return parse_json_object(b"".join(chunks), allow_empty)


def _identify(state: AgentState, request: Request) -> Identity:
    return state.auth.identify(request.headers.get("authorization", ""))


def _required_text(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise bad_request(f"{field} field is required")
    return value


def _user_email(identity: Identity) -> str:
    if identity.authenticated:
        return f"{identity.client_id}@axonflow.local"
    return "local-dev@axonflow.local"


# -- health and gateway mode -----------------------------------------------------------


async def health(request: Request) -> Response:
    return JSONResponse(
        {
            "status": "healthy",
            "service": "axonflow-agent",
            "tier": "community",
            "mode": "local" if not request.app.state.agent.auth.enforced else "authenticated",
            "timestamp": timestamps.now(),
            "version": AGENT_VERSION,
            "capabilities": [],
            "sdk_compatibility": {"min_sdk_version": {}, "recommended_sdk_version": {}},
        }
    )


def pre_check_answer(state: AgentState, authorization: str, raw: bytes) -> dict:
    """Decide one pre-check, record it, and return the wire answer (reference §2.4)."""
    identity = state.auth.identify(authorization)
    body = parse_json_object(raw)
    query = _required_text(body, "query")
    body_client = _required_text(body, "client_id")
    client_id = identity.client_id or body_client
    ev = state.engine.evaluate(query)
    epoch = time.time()
    context_id = _context_ids.new()
    expires_at = timestamps.format_epoch(epoch + CONTEXT_TTL_SECONDS)
    policies = list(ev.policy_ids)
    answer: dict[str, Any] = {
        "context_id": context_id,
        "approved": ev.approved,
        "policies": policies or None,
        "expires_at": expires_at,
    }
    block_reason = ev.block_reason
    if block_reason:
        answer["block_reason"] = block_reason
    redacted = ev.requires_redaction
    if redacted:
        answer["requires_redaction"] = True
        answer["approved_data"] = {"redacted_query": ev.redacted_query}
    state.store.insert_decision(
        audit.decision_row(
            context_id,
            timestamps.format_epoch(epoch),
            expires_at,
            client_id,
            client_id,
            _user_email(identity),
            ev.decision,
            policies,
            block_reason,
            query,
            audit.query_preview(query, ev),
        )
    )
    return answer


async def answer_pre_check(state: AgentState, authorization: str, raw: bytes) -> dict:
    if len(raw) <= INLINE_BODY_BYTES:
        return pre_check_answer(state, authorization, raw)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, pre_check_answer, state, authorization, raw)


async def pre_check(request: Request) -> Response:
    """The same route through Starlette, for the app without its ``FastPreCheck`` wrapper."""
    state: AgentState = request.app.state.agent
    _check_length(request.headers.get("content-length"))
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    return JSONResponse(await answer_pre_check(state, request.headers.get("authorization", ""), raw))


class FastPreCheck:
    """ASGI wrapper that answers ``POST /api/policy/pre-check`` without Starlette's
    request/response/routing layers — it is the one route on every governed call's
    critical path. Everything else (including other methods on that path) goes to the app.
    """

    def __init__(self, app: Starlette, state: AgentState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != PRE_CHECK_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        authorization = b""
        declared = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                declared = value
        try:
            _check_length(declared.decode("latin-1") if declared is not None else None)
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _too_large()
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            status = 200
            payload = await answer_pre_check(self.state, authorization.decode("latin-1"), b"".join(chunks))
        except ApiError as exc:
            status, payload = exc.status, exc.body()
        except Exception:  # never a traceback on the wire; same body as the app's 500
            status, payload = 500, {"success": False, "error": "internal error"}
        body = _ENCODER.encode(payload).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def audit_llm_call(request: Request) -> Response:
    state: AgentState = request.app.state.agent
    identity = _identify(state, request)
    body = await read_json(request)
    context_id = _required_text(body, "context_id")
    _required_text(body, "provider")
    _required_text(body, "model")
    body_client = body.get("client_id")
    if body_client is not None and not isinstance(body_client, str):
        raise bad_request("client_id must be a string")
    owner: Optional[str] = None
    if identity.authenticated:
        if body_client and body_client != identity.client_id:
            raise ApiError(
                403, "client_id mismatch: body client_id does not match authenticated identity"
            )
        owner = identity.client_id
    audit_id = str(uuid.uuid4())
    now = timestamps.now()
    values = audit.completion_values(body, audit_id, now)
    if not state.store.complete_call(context_id, now, values, owner):
        raise bad_request("Invalid or expired context")
    return JSONResponse({"success": True, "audit_id": audit_id})


# -- audit read API --------------------------------------------------------------------


def _audit_page(state: AgentState, identity: Identity, body: dict) -> Response:
    # Under an auth file a client reads its own tenant's rows; reviewers read the trail
    # of every client (they decide for all of them). Local mode has one tenant: everyone.
    scope = identity.client_id if identity.authenticated and not identity.reviewer else None
    where, params, limit, offset = audit.search_filters(body, scope)
    rows, total = state.store.search_audit(where, params, limit, offset)
    return JSONResponse(
        {
            "entries": [audit.entry_json(row) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
        },
        headers={"X-Axonflow-Read-Scope": "tenant"},
    )


async def audit_search(request: Request) -> Response:
    state: AgentState = request.app.state.agent
    identity = _identify(state, request)
    body = await read_json(request, allow_empty=True)
    return _audit_page(state, identity, body)


async def audit_by_tenant(request: Request) -> Response:
    state: AgentState = request.app.state.agent
    identity = _identify(state, request)
    params = request.query_params
    body: dict[str, Any] = {"tenant_id": request.path_params["tenant_id"]}
    for name in ("limit", "offset"):
        raw = params.get(name)
        if raw:
            try:
                body[name] = int(raw)
            except ValueError:
                raise bad_request(f"Invalid request: {name} must be an integer") from None
    tenant = request.path_params["tenant_id"]
    scope = identity.client_id if identity.authenticated and not identity.reviewer else None
    if scope is not None and scope != tenant:
        raise ApiError(403, "Tenant mismatch")
    where, values, limit, offset = audit.search_filters(body, tenant)
    rows, total = state.store.search_audit(where, values, limit, offset)
    return JSONResponse(
        {"entries": [audit.entry_json(r) for r in rows], "total": total, "limit": limit, "offset": offset},
        headers={"X-Axonflow-Read-Scope": "tenant"},
    )


# -- HITL ------------------------------------------------------------------------------


async def hitl_status(request: Request) -> Response:
    _identify(request.app.state.agent, request)
    return JSONResponse(hitl.status_payload())


async def hitl_create(request: Request) -> Response:
    state: AgentState = request.app.state.agent
    identity = _identify(state, request)
    body = await read_json(request)
    body_client = body.get("client_id")
    owner = identity.client_id or (body_client if isinstance(body_client, str) else "") or "community"
    request_id, row = hitl.create_row(body, owner, owner)
    state.store.insert_hitl(row)
    stored = state.store.get_hitl(request_id, timestamps.now())
    return JSONResponse({"success": True, "data": hitl.row_json(stored)}, status_code=201)


async def hitl_list(request: Request) -> Response:
    state: AgentState = request.app.state.agent
    _identify(state, request)
    statuses, severities, limit, offset = hitl.parse_list_query(request.query_params)
    rows, total = state.store.list_hitl(statuses, severities, limit, offset, timestamps.now())
    return JSONResponse(
        {
            "success": True,
            "data": [hitl.row_json(r) for r in rows],
            "meta": {"total": total, "limit": limit, "offset": offset},
        }
    )


async def hitl_get(request: Request) -> Response:
    state: AgentState = request.app.state.agent
    _identify(state, request)
    request_id = hitl.parse_request_id(request.path_params["request_id"])
    row = state.store.get_hitl(request_id, timestamps.now())
    if row is None:
        raise ApiError(404, f"approval request not found: {request_id}")
    return JSONResponse({"success": True, "data": hitl.row_json(row)})


async def _hitl_decide(request: Request, status: str, verb: str) -> Response:
    state: AgentState = request.app.state.agent
    identity = _identify(state, request)
    if identity.authenticated and not identity.reviewer:
        raise ApiError(403, f"client '{identity.client_id}' is not a reviewer; it may not {verb} requests")
    request_id = hitl.parse_request_id(request.path_params["request_id"])
    body = await read_json(request, allow_empty=True)
    reviewer_id, reviewer_email, role, comment = hitl.review_input(body)
    now = timestamps.now()
    row = state.store.get_hitl(request_id, now)
    if row is None:
        raise ApiError(404, f"approval request not found: {request_id}")
    if identity.authenticated:
        if row["created_by"] == identity.client_id:
            raise ApiError(
                403,
                "separation of duties: a client may not approve or reject a request it created",
            )
        # The reviewer is who authenticated, never who the body claims to be.
        reviewer_id = identity.client_id
        reviewer_email = f"{identity.client_id}@axonflow.local"
        role = "reviewer"
    elif not reviewer_id:
        raise bad_request("reviewer_id is required")
    decided, row = state.store.decide_hitl(
        request_id, status, reviewer_id, reviewer_email, role, comment, now
    )
    if row is None:
        raise ApiError(404, f"approval request not found: {request_id}")
    if not decided:
        if row["status"] == "expired" and status == "approved":
            raise ApiError(409, "request has expired")
        raise ApiError(409, f"cannot {verb} request with status: {row['status']}")
    return JSONResponse({"success": True, "data": {"status": status}})


async def hitl_approve(request: Request) -> Response:
    return await _hitl_decide(request, "approved", "approve")


async def hitl_reject(request: Request) -> Response:
    return await _hitl_decide(request, "rejected", "reject")


# -- static policies -------------------------------------------------------------------


def _page_params(params) -> tuple[int, int]:
    """(offset, page_size) from either page/page_size or the SDK's limit/offset."""

    def number(name: str, default: int) -> int:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ApiError(400, f"Invalid {name}: {raw[:40]}", MIDDLEWARE) from None

    if "limit" in params or "offset" in params:
        size = number("limit", 20)
        size = 20 if size <= 0 else min(size, 1000)
        return max(0, min(number("offset", 0), 2**62)), size
    size = number("page_size", 20)
    size = 20 if size <= 0 else min(size, 100)
    page = max(1, min(number("page", 1), 2**40))
    return (page - 1) * size, size


async def static_policies(request: Request) -> Response:
    state: AgentState = request.app.state.agent
    try:
        _identify(state, request)
    except ApiError as exc:
        exc.envelope = MIDDLEWARE
        raise
    params = request.query_params
    policies = [p.to_static_policy() for p in state.engine.policies()]
    for field in ("category", "tier", "severity"):
        wanted = params.get(field)
        if wanted:
            policies = [p for p in policies if p.get(field) == wanted]
    enabled = params.get("enabled")
    if enabled in ("true", "false"):
        policies = [p for p in policies if bool(p.get("enabled")) == (enabled == "true")]
    search = (params.get("search") or "").lower()
    if search:
        policies = [
            p for p in policies
            if search in str(p.get("name", "")).lower()
            or search in str(p.get("description", "")).lower()
            or search in str(p.get("policy_id", "")).lower()
        ]
    offset, size = _page_params(params)
    total = len(policies)
    return JSONResponse(
        {
            "policies": policies[offset: offset + size],
            "pagination": {
                "page": offset // size + 1,
                "page_size": size,
                "total": total,
                "total_pages": (total + size - 1) // size,
            },
        }
    )


async def static_policy(request: Request) -> Response:
    state: AgentState = request.app.state.agent
    try:
        _identify(state, request)
    except ApiError as exc:
        exc.envelope = MIDDLEWARE
        raise
    wanted = request.path_params["policy_id"]
    for policy in state.engine.policies():
        data = policy.to_static_policy()
        if wanted in (data.get("id"), data.get("policy_id")):
            return JSONResponse(data)
    raise ApiError(404, f"Policy not found: {wanted[:100]}", MIDDLEWARE)


# -- errors ----------------------------------------------------------------------------


async def _api_error(request: Request, exc: ApiError) -> Response:
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        err = not_found_route(request.url.path[:200])
    elif exc.status_code == 405:
        err = method_not_allowed(request.method, request.url.path[:200])
    else:
        err = ApiError(exc.status_code, str(exc.detail))
    return JSONResponse(err.body(), status_code=err.status, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"success": False, "error": "internal error"}, status_code=500)


def build_app(engine, store, auth) -> FastPreCheck:
    """The agent as an ASGI app; ``engine``, ``store`` and ``auth`` are already loaded."""
    routes = [
        Route("/health", health, methods=["GET"]),
        Route(PRE_CHECK_PATH, pre_check, methods=["POST"]),
        Route("/api/audit/llm-call", audit_llm_call, methods=["POST"]),
        Route("/api/v1/audit/search", audit_search, methods=["POST"]),
        Route("/api/v1/audit/tenant/{tenant_id}", audit_by_tenant, methods=["GET"]),
        Route("/api/v1/hitl/status", hitl_status, methods=["GET"]),
        Route("/api/v1/hitl/queue", hitl_list, methods=["GET"]),
        Route("/api/v1/hitl/queue", hitl_create, methods=["POST"]),
        Route("/api/v1/hitl/queue/{request_id}", hitl_get, methods=["GET"]),
        Route("/api/v1/hitl/queue/{request_id}/approve", hitl_approve, methods=["POST"]),
        Route("/api/v1/hitl/queue/{request_id}/reject", hitl_reject, methods=["POST"]),
        Route("/api/v1/static-policies", static_policies, methods=["GET"]),
        Route("/api/v1/static-policies/{policy_id}", static_policy, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    state = AgentState(engine, store, auth)
    app.state.agent = state
    return FastPreCheck(app, state)
