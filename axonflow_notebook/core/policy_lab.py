"""The policy lab's requests: test a prompt against the policies, explain a decision.

Sent through the SDK client's own request machinery (`_orchestrator_request`, as the SDK's
`simulate_policies` and `explain_decision` do, axonflow/client.py), read as raw JSON and
converted once (explanations.py). Against an AxonFlow that reports matches without spans (the
published simulation answer names the policies only), each matched policy's pattern is run
through AxonFlow's pattern test (`POST /api/v1/static-policies/test`) to find where it matched.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

from .explanations import decision_explanation, prompt_test
from .extra_routes import RouteUnavailable, _status_and_body
from .records import DecisionExplanationRecord, MatchedPolicy, PromptTestRecord
from .sdk_protocol import AxonFlowClient

SIMULATE_PATH = "/api/v1/policies/simulate"
EXPLAIN_PATH = "/api/v1/decisions/{id}/explain"
EFFECTIVE_PATH = "/api/v1/static-policies/effective?include_disabled=true"
PATTERN_TEST_PATH = "/api/v1/static-policies/test"
_UNOFFERED = (403, 404, 405, 501)


class DecisionNotFound(LookupError):
    """AxonFlow has no decision of that id that this client may read."""


async def _orchestrator(client: AxonFlowClient, method: str, path: str,
                        json_data: Optional[Dict[str, Any]] = None) -> Any:
    send = getattr(client, "_orchestrator_request", None)
    if send is not None:
        return await send(method, path, json_data=json_data)
    return await client._request(method, path, json_data=json_data)


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__


async def simulate_prompt(client: AxonFlowClient, endpoint: str, prompt: str) -> PromptTestRecord:
    """What the pre-check would decide for `prompt`: AxonFlow's simulation, nothing recorded."""
    from axonflow.exceptions import AxonFlowError

    try:
        body = await _orchestrator(client, "POST", SIMULATE_PATH, {"query": prompt, "request_type": "chat"})
    except AxonFlowError as exc:
        status, _ = _status_and_body(exc)
        if status in _UNOFFERED:
            raise RouteUnavailable(
                f"the AxonFlow at {endpoint} does not offer policy simulation (POST {SIMULATE_PATH} answered "
                f"{status}; AxonFlow offers it from its Evaluation tier): {_first_line(exc)}") from None
        raise
    data = body.get("data", body) if isinstance(body, Mapping) else {}
    record = prompt_test(prompt, data, endpoint)
    if record.matches and not any(m.spans for m in record.matches):
        record = await _with_spans(client, record)
    return record


async def _with_spans(client: AxonFlowClient, record: PromptTestRecord) -> PromptTestRecord:
    """Fill in where each policy matched, from its pattern (best effort: unchanged on failure)."""
    try:
        body = await client._request("GET", EFFECTIVE_PATH)
        known = {str(p.get("policy_id") or p.get("id")): p for p in (body or {}).get("static", [])
                 if isinstance(p, Mapping)}
        matches: List[MatchedPolicy] = []
        for match in record.matches:
            policy = known.get(match.policy_id)
            if policy is None or not policy.get("pattern"):
                matches.append(match)
                continue
            answer = await client._request("POST", PATTERN_TEST_PATH,
                                           json_data={"pattern": policy["pattern"], "inputs": [record.prompt]})
            spans = _pattern_spans(record.prompt, (answer or {}).get("matches") or [])
            matches.append(dataclasses.replace(
                match, name=str(policy.get("name") or match.name), action=str(policy.get("action") or match.action),
                priority=policy.get("priority", match.priority), category=str(policy.get("category") or ""),
                severity=str(policy.get("severity") or ""), spans=spans,
                matched_text=tuple(record.prompt[s:e] for s, e in spans)))
        return dataclasses.replace(record, matches=tuple(matches))
    except Exception:
        return record


def _pattern_spans(prompt: str, results: List[Any]) -> Tuple[Tuple[int, int], ...]:
    """Spans of a pattern test's first result: its `spans`, else its matched texts found in order."""
    if not results or not isinstance(results[0], Mapping):
        return ()
    first = results[0]
    if first.get("spans"):
        return tuple((int(s), int(e)) for s, e in first["spans"] if 0 <= int(s) < int(e) <= len(prompt))
    spans, cursor = [], 0
    for text in first.get("groups") or first.get("matches") or []:
        at = prompt.find(str(text), cursor) if text else -1
        if at < 0:
            continue
        spans.append((at, at + len(text)))
        cursor = at + len(text)
    return tuple(spans)


async def explain_decision(client: AxonFlowClient, endpoint: str, decision_id: str) -> DecisionExplanationRecord:
    """AxonFlow's explanation of one decision, by context id or audit id."""
    from axonflow.exceptions import AxonFlowError

    decision_id = decision_id.strip()
    if not decision_id:
        raise ValueError("a decision id is required: the context id or the audit id of a call")
    try:
        raw = await _orchestrator(client, "GET", EXPLAIN_PATH.replace("{id}", quote(decision_id, safe="")))
    except AxonFlowError as exc:
        status, _ = _status_and_body(exc)
        if status == 404 or type(exc).__name__ == "ReadScopeError":
            raise DecisionNotFound(
                f"the AxonFlow at {endpoint} has no decision {decision_id[:100]!r} that this client may read "
                "(a context id or an audit id, within AxonFlow's retention)") from None
        if status in (405, 501):
            raise RouteUnavailable(f"the AxonFlow at {endpoint} does not offer decision explanations "
                                   f"(GET {EXPLAIN_PATH}): {_first_line(exc)}") from None
        raise
    return decision_explanation(raw if isinstance(raw, Mapping) else {}, endpoint)


__all__ = ["simulate_prompt", "explain_decision", "DecisionNotFound", "RouteUnavailable"]
