"""The HITL approval queue: ``/api/v1/hitl/*`` as an AxonFlow stack with HITL enabled serves it.

A request past its ``expires_at`` is expired before any read or decision, so it is never
listed as pending and approving it is a 409 "request has expired". ``POST
/api/v1/hitl/expire`` is AxonFlow's sweep; its optional ``{"request_ids": [...]}`` body (our
extension) also expires those pending requests at once, for a waiter that gave up.
"""

from __future__ import annotations

from starlette.routing import Route

from .. import hitl, timestamps
from ..errors import ApiError, bad_request
from ..plumbing import identity, json_response, request_json


async def hitl_status(request):
    return json_response(hitl.status_payload())


async def hitl_create(request):
    state = request.app.state.agent
    caller = identity(request)
    body = await request_json(request)
    body_client = body.get("client_id")
    owner = caller.client_id or (body_client if isinstance(body_client, str) else "") or "community"
    request_id, row = hitl.create_row(body, owner, owner)
    state.store.insert_hitl(row)
    stored = state.store.get_hitl(request_id, timestamps.now())
    return json_response({"success": True, "data": hitl.row_json(stored)}, status=201)


async def hitl_list(request):
    state = request.app.state.agent
    statuses, severities, limit, offset = hitl.parse_list_query(request.query_params)
    rows, total = state.store.list_hitl(statuses, severities, limit, offset, timestamps.now())
    return json_response({
        "success": True,
        "data": [hitl.row_json(r) for r in rows],
        "meta": {"total": total, "limit": limit, "offset": offset},
    })


async def hitl_get(request):
    state = request.app.state.agent
    request_id = hitl.parse_request_id(request.path_params["request_id"])
    row = state.store.get_hitl(request_id, timestamps.now())
    if row is None:
        raise ApiError(404, f"approval request not found: {request_id}")
    return json_response({"success": True, "data": hitl.row_json(row)})


async def _decide(request, status: str, verb: str):
    state = request.app.state.agent
    caller = identity(request)
    if caller.authenticated and not caller.reviewer:
        raise ApiError(403, f"client '{caller.client_id}' is not a reviewer; it may not {verb} requests")
    request_id = hitl.parse_request_id(request.path_params["request_id"])
    body = await request_json(request, allow_empty=True)
    reviewer_id, reviewer_email, role, comment = hitl.review_input(body)
    now = timestamps.now()
    row = state.store.get_hitl(request_id, now)
    if row is None:
        raise ApiError(404, f"approval request not found: {request_id}")
    if caller.authenticated:
        if row["created_by"] == caller.client_id:
            raise ApiError(
                403,
                "separation of duties: a client may not approve or reject a request it created",
            )
        # The reviewer is who authenticated, never who the body claims to be.
        reviewer_id = caller.client_id
        reviewer_email = f"{caller.client_id}@axonflow.local"
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
    return json_response({"success": True, "data": {"status": status}})


async def hitl_approve(request):
    return await _decide(request, "approved", "approve")


async def hitl_reject(request):
    return await _decide(request, "rejected", "reject")


async def hitl_expire(request):
    state = request.app.state.agent
    caller = identity(request)
    request_ids = hitl.parse_expire_body(await request_json(request, allow_empty=True))
    if request_ids and caller.authenticated and not caller.reviewer:
        # A client may give up its own requests; expiring another client's is a reviewer's call.
        creators = state.store.hitl_creators(request_ids)
        foreign = sorted(i for i, creator in creators.items() if creator != caller.client_id)
        if foreign:
            raise ApiError(
                403, f"client '{caller.client_id}' may only expire requests it created (not {foreign[0]})"
            )
    count = state.store.expire_hitl(request_ids, timestamps.now())
    return json_response({"success": True, "data": {"expired_count": count}})


ROUTES = [
    Route("/api/v1/hitl/status", hitl_status, methods=["GET"]),
    Route("/api/v1/hitl/expire", hitl_expire, methods=["POST"]),
    Route("/api/v1/hitl/queue", hitl_list, methods=["GET"]),
    Route("/api/v1/hitl/queue", hitl_create, methods=["POST"]),
    Route("/api/v1/hitl/queue/{request_id}", hitl_get, methods=["GET"]),
    Route("/api/v1/hitl/queue/{request_id}/approve", hitl_approve, methods=["POST"]),
    Route("/api/v1/hitl/queue/{request_id}/reject", hitl_reject, methods=["POST"]),
]
