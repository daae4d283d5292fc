"""The audit read API: ``POST /api/v1/audit/search`` and ``GET /api/v1/audit/tenant/{id}``.

Shapes follow AxonFlow's orchestrator spec, which the agent proxies
(https://github.com/getaxonflow/axonflow/blob/main/docs/api/orchestrator-api.yaml):
search answers an ``AuditSearchResponse`` (``entries``, ``total``, ``limit``, ``offset``)
and needs a body; the tenant route answers the bare array of ``AuditLogEntry`` it documents.
"""

from __future__ import annotations

from typing import Any, Optional

from starlette.routing import Route

from .. import audit, timestamps
from ..auth import Identity
from ..errors import ApiError, bad_request
from ..plumbing import identity, json_response, request_json

READ_SCOPE = {"X-Axonflow-Read-Scope": "tenant"}
TENANT_DEFAULT_LIMIT = 50


def _scope(caller: Identity) -> Optional[str]:
    # Under an auth file a client reads its own tenant's rows; reviewers read the trail of
    # every client (they decide for all of them). A local agent has one user: everything.
    return caller.client_id if caller.authenticated and not caller.reviewer else None


def _entries(state, body: dict, tenant: Optional[str]) -> tuple[list[dict], int, int, int]:
    where, params, limit, offset = audit.search_filters(body, tenant)
    rows, total = state.store.search_audit(where, params, limit, offset, timestamps.now())
    return [audit.entry_json(row) for row in rows], total, limit, offset


async def audit_search(request):
    body = await request_json(request)  # the spec requires a body; `{}` searches everything
    entries, total, limit, offset = _entries(request.app.state.agent, body, _scope(identity(request)))
    return json_response(
        {"entries": entries, "total": total, "limit": limit, "offset": offset}, headers=READ_SCOPE
    )


def _query_int(params, name: str) -> Optional[int]:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"Invalid request: {name} must be an integer") from None


async def audit_by_tenant(request):
    tenant = request.path_params["tenant_id"]
    scope = _scope(identity(request))
    if scope is not None and scope != tenant:
        raise ApiError(403, "Tenant mismatch")
    params = request.query_params
    limit = _query_int(params, "limit")
    if limit is None:
        limit = _query_int(params, "page_size")  # the spec's deprecated alias of limit
    body: dict[str, Any] = {"limit": TENANT_DEFAULT_LIMIT if limit is None else limit}
    offset = _query_int(params, "offset")
    if offset is not None:
        body["offset"] = offset
    entries, _, _, _ = _entries(request.app.state.agent, body, tenant)
    return json_response(entries, headers=READ_SCOPE)


ROUTES = [
    Route("/api/v1/audit/search", audit_search, methods=["POST"]),
    Route("/api/v1/audit/tenant/{tenant_id}", audit_by_tenant, methods=["GET"]),
]
