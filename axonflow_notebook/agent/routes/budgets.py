"""Budgets: ``/api/v1/budgets`` (create, list, get, update, delete, status, alerts, check).

The SDK sends these to its orchestrator URL, which for the embedded agent is the agent's own
URL (``_orchestrator_request`` uses the client's one ``endpoint``). Shapes are the SDK's
``Budget``, ``BudgetsResponse``, ``BudgetStatus``, ``BudgetAlertsResponse`` and
``BudgetDecision`` (axonflow/types.py), which follow AxonFlow's Cost Controls API
(https://github.com/getaxonflow/axonflow/blob/main/docs/api/orchestrator-api.yaml).
Creating, changing and deleting a budget takes a reviewer (every caller of a local agent is
one; with ``--auth``, the clients marked ``reviewer``). Budgets declared in the policy file
are read-only here (409): the file is where they change.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from .. import timestamps
from ..budgets import attribution
from ..budgets.ledger import BudgetConflict, UnknownBudget, file_owned
from ..budgets.spec import SCOPES, BudgetError, apply_update, parse_budget
from ..errors import ApiError, bad_request
from ..plumbing import identity, json_response, request_json


def _ledger(request):
    return request.app.state.agent.budgets


def int_param(request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter within [low, high]; 400 naming it otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise bad_request(f"{name} must be a whole number from {low} to {high}")
    return value


def _require_reviewer(request) -> None:
    if not identity(request).reviewer:
        raise ApiError(403, "only a reviewer may create, change or delete budgets "
                            "(this client is not marked reviewer in the auth file)")


def _budget(request):
    budget_id = request.path_params["budget_id"]
    try:
        return _ledger(request).get(budget_id)
    except UnknownBudget:
        raise ApiError(404, f"budget not found: {budget_id[:200]}") from None


async def create_budget(request):
    _require_reviewer(request)
    body = await request_json(request)
    try:
        budget = parse_budget(body, now=timestamps.now())
    except BudgetError as exc:
        raise bad_request(str(exc)) from None
    try:
        _ledger(request).create(budget)
    except BudgetConflict as exc:
        raise ApiError(409, str(exc)) from None
    return json_response(budget.to_json(), 201)


async def list_budgets(request):
    scope = request.query_params.get("scope") or None
    if scope is not None and scope not in SCOPES:
        raise bad_request(f"scope must be one of {', '.join(SCOPES)}")
    limit = int_param(request, "limit", 50, 1, 1000)
    offset = int_param(request, "offset", 0, 0, 2**31)
    found = [b for b in _ledger(request).budgets() if scope is None or b.scope == scope]
    page = found[offset: offset + limit]
    return json_response({
        "budgets": [b.to_json() for b in page], "total": len(found), "count": len(page),
        "limit": limit, "offset": offset,
    })


async def get_budget(request):
    return json_response(_budget(request).to_json())


async def update_budget(request):
    _require_reviewer(request)
    budget = _budget(request)
    body = await request_json(request)
    ledger = _ledger(request)
    if budget.from_file:
        raise ApiError(409, file_owned(budget))
    try:
        changed = apply_update(budget, body, timestamps.now())
    except BudgetError as exc:
        raise bad_request(str(exc)) from None
    try:
        ledger.replace(changed)
    except UnknownBudget:  # deleted meanwhile
        raise ApiError(404, f"budget not found: {budget.id}") from None
    return json_response(changed.to_json())


async def delete_budget(request):
    _require_reviewer(request)
    budget = _budget(request)
    try:
        _ledger(request).delete(budget.id)
    except BudgetConflict as exc:
        raise ApiError(409, str(exc)) from None
    except UnknownBudget:
        raise ApiError(404, f"budget not found: {budget.id}") from None
    return Response(status_code=204)


async def budget_status(request):
    budget = _budget(request)
    return json_response(_ledger(request).standing(budget.id).status())


async def budget_alerts(request):
    budget = _budget(request)
    limit = int_param(request, "limit", 50, 1, 1000)
    alerts = _ledger(request).alerts(budget.id, limit)
    return json_response({"alerts": alerts, "count": len(alerts)})


async def check_budget(request):
    """``BudgetCheckRequest`` -> ``BudgetDecision``: would a call so attributed go through?

    Answers like AxonFlow's ``CheckBudget`` (the budget that blocks, else an exceeded one,
    with its use), plus ``budgets``: every enabled budget that covers the call.
    """
    body = await request_json(request, allow_empty=True)
    unknown = sorted(set(body) - {name for name, _ in attribution.CHECK_FIELDS} - {"tenant_id"})
    if unknown:
        raise bad_request(f"unknown field(s): {', '.join(unknown)} (known: org_id, team_id, agent_id, "
                          "workflow_id, user_id)")
    covering = _ledger(request).covering(attribution.of_check_request(body))
    decision: dict = {"allowed": True, "budgets": [s.budget.to_json() for s in covering]}
    top = covering[0] if covering else None
    if top is not None and top.exceeded:
        info = top.info()
        decision.update({
            "allowed": not top.blocked,
            "action": top.budget.on_exceed,
            "message": top.message,
            **{key: info[key] for key in ("budget_id", "budget_name", "used_usd", "limit_usd", "percentage")},
        })
    return json_response(decision)


ROUTES = [
    Route("/api/v1/budgets/check", check_budget, methods=["POST"]),
    Route("/api/v1/budgets", create_budget, methods=["POST"]),
    Route("/api/v1/budgets", list_budgets, methods=["GET"]),
    Route("/api/v1/budgets/{budget_id}", get_budget, methods=["GET"]),
    Route("/api/v1/budgets/{budget_id}", update_budget, methods=["PUT"]),
    Route("/api/v1/budgets/{budget_id}", delete_budget, methods=["DELETE"]),
    Route("/api/v1/budgets/{budget_id}/status", budget_status, methods=["GET"]),
    Route("/api/v1/budgets/{budget_id}/alerts", budget_alerts, methods=["GET"]),
]
