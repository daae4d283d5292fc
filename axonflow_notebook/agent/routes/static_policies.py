"""``GET /api/v1/static-policies`` and ``/{id}``: the effective policy set as AxonFlow's
``StaticPolicy`` JSON, in the middleware error envelope that AxonFlow's static-policy API uses."""

from __future__ import annotations

from starlette.routing import Route

from ..errors import MIDDLEWARE, ApiError
from ..plumbing import json_response


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


def _filtered(policies: list[dict], params) -> list[dict]:
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
    return policies


async def static_policies(request):
    state = request.app.state.agent
    engine = state.engine  # one read: a reload mid-request does not mix sets
    params = request.query_params
    policies = _filtered([state.lab.policy_json(p) for p in engine.policies()], params)
    offset, size = _page_params(params)
    total = len(policies)
    return json_response({
        "policies": policies[offset: offset + size],
        "pagination": {
            "page": offset // size + 1,
            "page_size": size,
            "total": total,
            "total_pages": (total + size - 1) // size,
        },
    })


async def static_policy(request):
    wanted = request.path_params["policy_id"]
    state = request.app.state.agent
    for policy in state.engine.policies():
        if wanted in (policy.uuid, policy.id):
            return json_response(state.lab.policy_json(policy))
    raise ApiError(404, f"Policy not found: {wanted[:100]}", MIDDLEWARE)


ROUTES = [
    Route("/api/v1/static-policies", static_policies, methods=["GET"]),
    Route("/api/v1/static-policies/{policy_id}", static_policy, methods=["GET"]),
]
