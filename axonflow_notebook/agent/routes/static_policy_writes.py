"""AxonFlow's static-policy API for custom policies, applied live like a policy reload.

``POST /api/v1/static-policies`` (201), ``PUT`` / ``DELETE`` (204) / ``PATCH {"enabled"}``
on ``/api/v1/static-policies/{id}`` (a UUID or the policy id) and ``GET
/api/v1/static-policies/effective`` answer with the SDK's ``StaticPolicy`` shapes and
AxonFlow's middleware error envelope (agent-api.yaml, "Static Policies"). System policies
cannot be created, changed, toggled or deleted (403), as in AxonFlow.

Each change edits the ``policies:`` list of the policy file in force and puts the result in
force through ``AgentState.reload_policies`` (same validation, one line per problem, same
engine swap: calls in flight finish on the set they started with). The reload is refused
and retried if another reload came first, so no change is lost. Changes live in the agent
(like ``PUT /api/v1/local/policies``): the policy file on disk is not rewritten.

A created policy's id is the ``policy_id:<id>`` tag when the request carries one (the SDK's
create request has no id field), else the name turned into an id ("Block Employee IDs" ->
``block-employee-ids``). An id already in use is a 409.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Optional

from pydantic import ValidationError
from starlette.routing import Route

from .. import timestamps
from ..errors import MIDDLEWARE, ApiError
from ..lab import prompt_gil_handoff
from ..plumbing import identity, json_response, request_json
from ..policy import PolicyFileError
from ..policy.custom import _field_messages
from ..policy.schema import PolicyEntry
from ..state import PolicySetChanged

SOURCE = "static-policy API"
ID_TAG = "policy_id:"
_FIELDS = ("name", "description", "category", "pattern", "action", "severity", "priority", "enabled", "validator")
_RETRIES = 5
# "Legacy category names are still accepted and automatically mapped" (agent-api.yaml).
_LEGACY_CATEGORIES = {"sql_injection": "security-sqli", "dangerous_queries": "security-sqli",
                      "admin_access": "security-admin", "pii_detection": "pii-global"}


def _error(status: int, message: str) -> ApiError:
    return ApiError(status, message, MIDDLEWARE)


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", name.strip()).strip("-._").lower()
    return slug[:128] or "policy"


def _find(state, wanted: str):
    for policy in state.engine.policies():
        if wanted in (policy.uuid, policy.id):
            return policy
    raise _error(404, f"Policy not found: {wanted[:100]}")


def _fields(body: dict) -> dict:
    """The policy-file fields of a request; AxonFlow's legacy category names are mapped."""
    entry = {k: body[k] for k in _FIELDS if body.get(k) is not None}
    if isinstance(entry.get("category"), str):
        entry["category"] = _LEGACY_CATEGORIES.get(entry["category"], entry["category"])
    return entry


def _tags(body: dict) -> list[str]:
    tags = body.get("tags")
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _error(400, "tags must be an array of strings")
    return tags


def _validated(entry: dict, label: str) -> None:
    """One line per problem, as a policy file reports them, led by the policy."""
    try:
        PolicyEntry.model_validate(entry)
    except ValidationError as exc:
        raise _error(400, "\n".join(f"{label}: {m}" for m in _field_messages(exc))) from None


async def _apply(state, edit) -> Any:
    """Run ``edit(entries) -> result`` on the custom policies in force and put them in force.

    Edits through this API run one at a time; a reload from elsewhere between reading the
    set and applying the edit makes the edit start again from the set then in force.
    """
    loop = asyncio.get_running_loop()
    async with state.lab.edit_lock():
        with prompt_gil_handoff():
            for _ in range(_RETRIES):
                version = state.engine.version
                entries = state.lab.custom_entries()
                result = edit(entries)
                text = await loop.run_in_executor(None, state.lab.text_with, entries)  # YAML writing is slow
                try:
                    await state.reload_policies(text, SOURCE, False, expect_version=version)
                    return result
                except PolicySetChanged:
                    continue  # another reload came first: edit the set now in force
                except PolicyFileError as exc:
                    raise _error(400, str(exc)) from None
    raise _error(409, "the policy set kept changing while this change was applied; try again")


def _caller_scope(request) -> tuple[str, str]:
    caller = identity(request)
    owner = caller.client_id or "default"
    return owner, owner


async def create_policy(request):
    state = request.app.state.agent
    body = await request_json(request)
    tier = body.get("tier", "tenant")
    if tier == "system":
        raise _error(403, "Cannot create system-tier policies via API")
    if tier == "organization":
        raise _error(403, "Organization tier requires Enterprise license")
    if tier != "tenant":
        raise _error(400, "Invalid policy tier: must be tenant")
    tags = _tags(body)
    tagged = [t[len(ID_TAG):] for t in tags if t.startswith(ID_TAG)]
    name = body.get("name")
    policy_id = tagged[0] if tagged else (_slug(name) if isinstance(name, str) else "")
    entry = _fields(body)
    entry["id"] = policy_id
    for required in ("name", "pattern", "category", "action"):
        if required not in entry:
            raise _error(400, f"{required} is required")
    label = f"policy {policy_id!r}"
    _validated(entry, label)

    def add(entries: list[dict]) -> None:
        for policy in state.engine.policies():
            if policy.id == policy_id:
                kind = "a system policy" if policy.tier == "system" else "a custom policy"
                raise _error(409, f"{label}: the id is already used by {kind} ({policy.name!r}); "
                                  f"update it with PUT /api/v1/static-policies/{policy.uuid}, or choose another id")
        entries.append(entry)

    await _apply(state, add)
    state.lab.meta[policy_id]["tags"] = [t for t in tags if not t.startswith(ID_TAG)]
    return json_response(state.lab.policy_json(_find(state, policy_id)), status=201)


def _custom(state, wanted: str, verb: str):
    policy = _find(state, wanted)
    if policy.tier == "system":
        raise _error(403, f"System policies cannot be {verb} (policy {policy.id!r})")
    return policy


def _replace(policy_id: str, change: dict, label: str):
    def edit(entries: list[dict]) -> None:
        for i, entry in enumerate(entries):
            if entry["id"] == policy_id:
                updated = {**entry, **change}
                _validated(updated, label)
                entries[i] = updated
                return
        raise _error(404, f"Policy not found: {policy_id}")
    return edit


async def update_policy(request):
    state = request.app.state.agent
    policy = _custom(state, request.path_params["policy_id"], "modified")
    body = await request_json(request)
    change = _fields(body)
    tags = _tags(body) if body.get("tags") is not None else None
    await _apply(state, _replace(policy.id, change, f"policy {policy.id!r}"))
    if tags is not None:
        state.lab.meta[policy.id]["tags"] = tags
    return json_response(state.lab.policy_json(_find(state, policy.id)))


async def toggle_policy(request):
    state = request.app.state.agent
    policy = _custom(state, request.path_params["policy_id"], "disabled or enabled via this endpoint")
    body = await request_json(request)
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise _error(400, "enabled is required: true or false")
    await _apply(state, _replace(policy.id, {"enabled": enabled}, f"policy {policy.id!r}"))
    return json_response(state.lab.policy_json(_find(state, policy.id)))


async def delete_policy(request):
    state = request.app.state.agent
    policy = _custom(state, request.path_params["policy_id"], "deleted")

    def remove(entries: list[dict]) -> None:
        kept = [e for e in entries if e["id"] != policy.id]
        if len(kept) == len(entries):
            raise _error(404, f"Policy not found: {policy.id}")
        entries[:] = kept

    await _apply(state, remove)
    from starlette.responses import Response

    return Response(status_code=204)


def _flag(params, name: str) -> bool:
    return (params.get(name) or "").lower() == "true"


async def effective_policies(request):
    state = request.app.state.agent
    engine = state.engine  # one read: a reload mid-request does not mix sets
    params = request.query_params
    category: Optional[str] = params.get("category")
    include_disabled = _flag(params, "include_disabled")
    policies = [
        state.lab.policy_json(p) for p in engine.policies()
        if (include_disabled or p.enabled) and (not category or p.category == category)
    ]
    tenant, org = _caller_scope(request)
    return json_response({"static": policies, "dynamic": [], "tenant_id": tenant, "organization_id": org,
                          "computed_at": timestamps.now(), "policy_bundle": engine.version})


ROUTES = [
    Route("/api/v1/static-policies", create_policy, methods=["POST"]),
    Route("/api/v1/static-policies/effective", effective_policies, methods=["GET"]),
    Route("/api/v1/static-policies/{policy_id}", update_policy, methods=["PUT"]),
    Route("/api/v1/static-policies/{policy_id}", toggle_policy, methods=["PATCH"]),
    Route("/api/v1/static-policies/{policy_id}", delete_policy, methods=["DELETE"]),
]
