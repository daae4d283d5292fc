"""Decision explanations: what is stored when a pre-check decides, and what is told later.

Stored with each decision (``audit_entries.evaluation``, chained with the row): the prompt's
length, and for each matched policy in evaluation order its id, its action, its spans
(character offsets into the prompt, end exclusive; at most ``MAX_SPANS``) and the text of
each span, clipped to ``MATCH_TEXT_CHARS`` and masked as the audit preview masks it
(``[REDACTED:<policy id>]`` for PII and sensitive-data categories and for redactions), plus
the policy that stopped evaluation. Not the prompt: prompts hold personal data. Only with
``AXONFLOW_AGENT_PROMPTS=full`` is the prompt stored too (and then it is part of the chained
row, so it cannot be erased later without breaking the chain).

The policy version that decided is stored beside it; the policy set of each version is kept
by ``audit_chain`` (``policy_sets``), which gives the evaluation order back.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

PROMPTS_ENV = "AXONFLOW_AGENT_PROMPTS"
MAX_SPANS = 20
MATCH_TEXT_CHARS = 80
_SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def store_full_prompts(environ=None) -> bool:
    environ = os.environ if environ is None else environ
    return (environ.get(PROMPTS_ENV) or "").strip().lower() == "full"


def is_masked(policy) -> bool:
    """Whether a policy's matched text is personal data the trail never shows in clear."""
    return policy.category.startswith(("pii", "sensitive")) or policy.action == "redact"


def _clip(text: str) -> str:
    return text if len(text) <= MATCH_TEXT_CHARS else text[: MATCH_TEXT_CHARS - 1] + "…"


def details(evaluation, query: str, full_prompt: bool = False) -> str:
    """The JSON text stored with a decision (see the module docstring)."""
    if not evaluation.matches and not full_prompt:
        return '{"chars":%d}' % len(query)
    matches = []
    for match in evaluation.matches:
        policy = match.policy
        spans = match.spans[:MAX_SPANS]
        masked = is_masked(policy)
        matches.append({
            "policy": policy.id,
            "action": match.action,
            "spans": [[s, e] for s, e in spans],
            "text": [f"[REDACTED:{policy.id}]" if masked else _clip(query[s:e]) for s, e in spans],
            "count": len(match.spans),
        })
    data: dict[str, Any] = {"chars": len(query), "matches": matches}
    if evaluation.blocked_by is not None:
        data["stopped_by"] = evaluation.blocked_by.id
    if full_prompt:
        data["prompt"] = query
    return _ENCODER.encode(data)


def _risk(severities) -> Optional[str]:
    ranked = [s for s in severities if s in _SEVERITY_RANK]
    return max(ranked, key=_SEVERITY_RANK.__getitem__) if ranked else None


def _in_force(loads: list[dict], timestamp: str) -> dict:
    """The newest load of the version at or before the decision (the first if none is)."""
    before = [load for load in loads if load.get("loaded_at", "") <= timestamp]
    return (before or loads or [{}])[-1]


def explanation(row, policy_set: Optional[list], loads: list[dict], *, current_version: str,
                hits: int = 0) -> dict:
    """The explanation of one decision: ``DecisionExplanation`` (ADR-043) fields first, then ours.

    ``row`` is the decision's audit row (with ``approval_status``), ``policy_set`` the
    policies of its version in evaluation order (dicts, or None when not recorded), ``loads``
    the times that version was put in force, ``hits`` the caller's 24 h hit count of the
    first matched policy.
    """
    stored = json.loads(row["evaluation"]) if row["evaluation"] else None
    known = {p["id"]: p for p in policy_set or ()}
    enabled = [p for p in policy_set or () if p.get("enabled", True)]
    position = {p["id"]: i for i, p in enumerate(enabled)}
    ids = json.loads(row["policies"] or "[]")
    recorded = stored is not None
    raw = (stored or {}).get("matches")
    if raw is None:
        raw = [{"policy": pid} for pid in ids]
    matches = []
    for m in raw:
        p = known.get(m["policy"], {})
        matches.append({
            "policy_id": m["policy"], "policy_name": p.get("name"), "category": p.get("category"),
            "severity": p.get("severity"), "action": m.get("action", p.get("action")),
            "priority": p.get("priority"), "position": position.get(m["policy"]),
            "spans": m.get("spans"), "matched_text": m.get("text"), "span_count": m.get("count"),
            "masked": bool(p) and (p.get("category", "").startswith(("pii", "sensitive")) or p.get("action") == "redact"),
        })
    stopped_by = (stored or {}).get("stopped_by")
    if not recorded and row["policy_decision"] == "blocked" and ids:
        stopped_by = ids[-1]  # a block ends evaluation: the last match is the one that blocked
    decision = row["policy_decision"]
    load = _in_force(loads, row["timestamp"])
    version = row["policy_version"]
    body: dict[str, Any] = {
        "decision_id": row["id"],
        "timestamp": row["timestamp"],
        "policy_matches": [
            {"policy_id": m["policy_id"], "policy_name": m["policy_name"], "action": m["action"],
             "risk_level": m["severity"], "allow_override": False,
             "policy_description": known.get(m["policy_id"], {}).get("description") or None}
            for m in matches
        ],
        "matched_rules": [
            {"policy_id": m["policy_id"], "rule_id": m["policy_id"],
             "rule_text": known.get(m["policy_id"], {}).get("pattern"),
             "matched_on": (m["matched_text"] or [None])[0]}
            for m in matches
        ],
        "decision": decision,
        "reason": _reason(decision, matches, stopped_by, row, len(enabled)),
        "risk_level": _risk(m["severity"] for m in matches),
        "override_available": False,
        "historical_hit_count_session": hits,
        "context": None,
        # -- this agent's additions ------------------------------------------------------
        "context_id": row["id"],
        "audit_id": row["audit_id"],
        "approval_status": row["approval_status"],
        "block_reason": row["block_reason"],
        "policy_bundle": version,
        "policy_set": {"version": version, "loaded_at": load.get("loaded_at"), "source": load.get("source"),
                       "in_force_now": version is not None and version == current_version,
                       "recorded": policy_set is not None},
        "query_preview": row["query_preview"],
        "query_hash": row["query_hash"],
        "prompt_chars": (stored or {}).get("chars"),
        "matches": matches,
        "evaluation": _evaluation(enabled, position, matches, stopped_by, decision, policy_set is not None),
        "recorded": "full" if recorded else "policies only",
    }
    if stored and "prompt" in stored:
        body["prompt"] = stored["prompt"]
    if row["completed_at"]:
        body["llm_call"] = {k: row[k] for k in ("provider", "model", "prompt_tokens", "completion_tokens",
                                                "tokens_used", "response_time_ms", "cost", "completed_at")}
    return body


def _names(matches: list[dict], action: Optional[str] = None) -> str:
    chosen = [m for m in matches if action is None or m["action"] == action]
    return ", ".join(f"{m['policy_name'] or m['policy_id']} ({m['policy_id']})" for m in chosen)


def _reason(decision: str, matches: list[dict], stopped_by, row, enabled: int) -> str:
    if decision == "blocked":
        blocker = next((m for m in matches if m["policy_id"] == stopped_by), matches[-1] if matches else None)
        who = _names([blocker]) if blocker else "a policy"
        return f"Blocked by {who}: {row['block_reason'] or 'its action is block'}."
    if decision == "needs_approval":
        status = row["approval_status"] or "no approval request linked yet"
        return f"Held for human approval by {_names(matches, 'require_approval')} (approval: {status})."
    if decision == "redacted":
        return f"Allowed with the matched text redacted by {_names(matches, 'redact')}."
    if matches:
        return f"Allowed: the matched policies only warn or log ({_names(matches)})."
    return f"Allowed: no policy matched ({enabled} enabled policies evaluated)." if enabled else "Allowed: no policy matched."


def _evaluation(enabled: list[dict], position: dict, matches: list[dict], stopped_by, decision: str,
                known: bool) -> dict:
    matched = {m["policy_id"] for m in matches}
    stop = position.get(stopped_by) if stopped_by is not None else None
    evaluated = enabled if stop is None else enabled[: stop + 1]
    order = [{"position": i, "policy_id": p["id"], "priority": p["priority"], "action": p["action"],
              "matched": p["id"] in matched} for i, p in enumerate(evaluated)]
    result: dict[str, Any] = {"enabled": len(enabled), "evaluated": len(evaluated), "order": order,
                              "not_evaluated": [p["id"] for p in enabled[len(evaluated):]]}
    if not known:
        result["stop_reason"] = "The policy set of this decision is not recorded, so its evaluation order is unknown."
    elif stop is not None:
        p = enabled[stop]
        result["stopped_at"] = {"policy_id": p["id"], "position": stop, "priority": p["priority"]}
        result["stop_reason"] = (
            f"Evaluation stopped at {p['id']} (position {stop + 1} of {len(enabled)}, priority {p['priority']}): "
            f"its action is block, and a block ends evaluation; the {len(enabled) - stop - 1} policies after it "
            "were not evaluated."
        )
    else:
        result["stop_reason"] = (
            f"Evaluation went through all {len(enabled)} enabled policies, highest priority first: "
            "none of the matches blocks, so nothing stopped it early."
        )
    if decision == "needs_approval" and stopped_by is not None:
        held = next((m["policy_id"] for m in matches if m["action"] == "require_approval"), None)
        result["precedence"] = (f"{held} requires approval, which takes precedence over the block by "
                                f"{stopped_by}: the call was held for a human, not refused.")
    return result
