"""The policy lab's read routes: test a pattern, simulate the policies, explain a decision.

Shapes follow the SDK (``test_pattern``, ``simulate_policies``, ``explain_decision`` in
``axonflow/client.py``) and AxonFlow's published specs, all on the agent's one URL:

- ``POST /api/v1/static-policies/test`` (agent-api.yaml ``TestPatternResponse``): ``valid``,
  ``error``, and per input ``matched`` with the matched substrings, as the SDK's ``matches``
  (``input``, ``matched``, ``groups``) and the spec's ``results`` (``input``, ``matched``,
  ``matches``), plus our ``spans``. An invalid pattern is ``200`` with ``valid: false``.
- ``POST /api/v1/policies/simulate`` (orchestrator-api.yaml): what the pre-check would decide,
  with no audit record; beside the spec's fields, ``decision``, ``policy_bundle`` and every
  match with its spans, action and priority.
- ``GET /api/v1/decisions/{id}/explain`` (orchestrator-api.yaml ``DecisionExplanation``), by
  context id or audit id; see ``explain.py`` for what it adds.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import re2
from starlette.routing import Route

from .. import explain, timestamps
from ..errors import MIDDLEWARE, ApiError, bad_request
from ..plumbing import identity, json_response, request_json
from ..policy.schema import re2_options
from .audit_trail import READ_SCOPE, _scope

MAX_INPUTS = 100
MAX_GROUPS = 50
_SEVERITY_RISK = {"low": 0.25, "medium": 0.5, "high": 0.75, "critical": 1.0}


def _pattern_error(pattern: str):
    try:
        return re2.compile(pattern, options=re2_options()), None
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        return None, f"invalid RE2 pattern: {reason}"


async def test_pattern(request):
    body = await request_json(request)
    pattern = body.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ApiError(400, "pattern is required", MIDDLEWARE)
    inputs = body.get("inputs")
    if inputs is None and isinstance(body.get("input"), str):
        inputs = [body["input"]]  # the spec's single-input form
    inputs = inputs or []
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise ApiError(400, "inputs must be an array of strings", MIDDLEWARE)
    if len(inputs) > MAX_INPUTS:
        raise ApiError(400, f"at most {MAX_INPUTS} inputs per request", MIDDLEWARE)
    compiled, error = _pattern_error(pattern)
    answer = {"valid": compiled is not None, "pattern": pattern, "inputs": inputs, "matches": [], "results": []}
    if compiled is None:
        answer["error"] = error
        return json_response(answer)
    for text in inputs:
        found = [m for _, m in zip(range(MAX_GROUPS), compiled.finditer(text)) if m.end() > m.start()]
        groups = [m.group(0) for m in found]
        spans = [list(m.span()) for m in found]
        answer["matches"].append({"input": text, "matched": bool(found), "groups": groups, "spans": spans})
        answer["results"].append({"input": text, "matched": bool(found), "matches": groups})
    return json_response(answer)


def simulation(engine, query: str) -> dict:
    """What the pre-check would answer for ``query`` under ``engine``, with every match."""
    started = time.perf_counter()
    ev = engine.evaluate(query)
    elapsed = int((time.perf_counter() - started) * 1000)
    enabled = [p for p in engine.policies() if p.enabled]
    position = {p.id: i for i, p in enumerate(enabled)}
    matches = [
        {"policy_id": m.policy.id, "policy_name": m.policy.name, "category": m.policy.category,
         "severity": m.policy.severity, "action": m.action, "priority": m.policy.priority,
         "position": position.get(m.policy.id), "spans": [list(s) for s in m.spans],
         "matched_text": [query[s:e] for s, e in m.spans]}
        for m in ev.matches
    ]
    actions = list(dict.fromkeys(m.action for m in ev.matches))
    return {
        "allowed": ev.approved,
        "applied_policies": ev.policy_ids,
        "risk_score": max((_SEVERITY_RISK.get(m.policy.severity, 0.0) for m in ev.matches), default=0.0),
        "required_actions": actions,
        "processing_time_ms": elapsed,
        "total_policies": len(enabled),
        "dry_run": True,
        "simulated_at": timestamps.now(),
        "tier": "local",
        "decision": ev.decision,
        "block_reason": ev.block_reason,
        "requires_redaction": ev.requires_redaction,
        "redacted_query": ev.redacted_query,
        "stopped_by": ev.blocked_by.id if ev.blocked_by is not None else None,
        "policy_bundle": engine.version,
        "matches": matches,
    }


async def simulate(request):
    body = await request_json(request)
    query = body.get("query")
    if not isinstance(query, str) or not query:
        raise bad_request("query field is required")
    for field in ("user", "client", "context"):
        if body.get(field) is not None and not isinstance(body[field], dict):
            raise bad_request(f"{field} must be an object")
    engine = request.app.state.agent.engine
    return json_response(simulation(engine, query))


def _decision_row(store, decision_id: str, tenant):
    where = ["(id = ? OR audit_id = ?)"]
    params = [decision_id, decision_id]
    if tenant is not None:
        where.append("tenant_id = ?")
        params.append(tenant)
    rows, _ = store.search_audit(where, params, 1, 0, timestamps.now())
    return rows[0] if rows else None


def _hits(store, row) -> int:
    """How often this client's decisions hit the first matched policy in the last 24 hours."""
    ids = json.loads(row["policies"] or "[]")
    if not ids:
        return 0
    since = (datetime.now(timezone.utc) - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    _, total = store.search_audit(
        ["client_id = ?", "timestamp >= ?", "EXISTS (SELECT 1 FROM json_each(audit_entries.policies) WHERE value = ?)"],
        [row["client_id"], since, ids[0]], 1, 0,
    )
    return total


async def explain_decision(request):
    state = request.app.state.agent
    decision_id = request.path_params["decision_id"]
    row = _decision_row(state.store, decision_id, _scope(identity(request)))
    if row is None:
        raise ApiError(404, f"decision not found: {decision_id[:100]}")
    version = row["policy_version"]
    store = state.store
    with store._lock:
        policy_set = store.chain.policy_set(version) if version else None
        loads = store.chain.policy_loads(version) if version else []
    body = explain.explanation(row, policy_set, loads, current_version=state.engine.version, hits=_hits(store, row))
    return json_response(body, headers=READ_SCOPE)


ROUTES = [
    Route("/api/v1/static-policies/test", test_pattern, methods=["POST"]),
    Route("/api/v1/policies/simulate", simulate, methods=["POST"]),
    Route("/api/v1/decisions/{decision_id}/explain", explain_decision, methods=["GET"]),
]
