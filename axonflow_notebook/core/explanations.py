"""AxonFlow's policy simulation and decision explanation answers, turned into records once.

Read from the raw JSON (the SDK's `DecisionExplanation` and `SimulatePoliciesResponse` models drop
what a notebook shows: spans, positions, the evaluation order). Every field is read by name with
a default, so an AxonFlow that reports only the published fields (orchestrator-api.yaml,
`DecisionExplanation` and the simulation response, https://github.com/getaxonflow/axonflow)
still converts: its matches simply carry no spans and its evaluation order is unknown.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

from .records import DecisionExplanationRecord, EvaluationStep, MatchedPolicy, PromptTestRecord
from .sdk_records import field, when, word

_DECISIONS = {"approved": "allowed", "allow": "allowed", "block": "blocked", "deny": "blocked",
              "denied": "blocked", "require_approval": "needs_approval", "redact": "redacted"}


def decision_word(value: Any) -> str:
    """allowed | redacted | needs_approval | blocked, whatever spelling AxonFlow used."""
    text = word(value)
    return _DECISIONS.get(text, text)


def _int(value: Any) -> Optional[int]:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _spans(value: Any) -> Tuple[Tuple[int, int], ...]:
    spans = []
    for item in value or ():
        try:
            start, end = int(item[0]), int(item[1])
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        if 0 <= start < end:
            spans.append((start, end))
    return tuple(spans)


def _texts(value: Any) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if v is not None)


def matched_policy(raw: Mapping[str, Any]) -> MatchedPolicy:
    """One match of a simulation (`matches[]`) or an explanation (`matches[]` / `policy_matches[]`)."""
    return MatchedPolicy(
        policy_id=str(field(raw, "policy_id", "")),
        name=str(field(raw, "policy_name") or field(raw, "name") or field(raw, "policy_id", "")),
        action=word(field(raw, "action", "")),
        priority=_int(field(raw, "priority")),
        position=_int(field(raw, "position")),
        category=word(field(raw, "category", "")),
        severity=word(field(raw, "severity") or field(raw, "risk_level", "")),
        spans=_spans(field(raw, "spans")),
        matched_text=_texts(field(raw, "matched_text")),
        span_count=_int(field(raw, "span_count")),
        masked=bool(field(raw, "masked", False)),
    )


def prompt_test(prompt: str, raw: Mapping[str, Any], backend: str = "") -> PromptTestRecord:
    """A policy simulation answer (`POST /api/v1/policies/simulate`)."""
    matches = tuple(matched_policy(m) for m in field(raw, "matches", []) if isinstance(m, Mapping))
    if not matches:  # a simulation that names the policies only
        matches = tuple(MatchedPolicy(str(p), str(p), "", None, None) for p in field(raw, "applied_policies", []))
    decision = decision_word(field(raw, "decision"))
    if not decision:
        decision = "allowed" if field(raw, "allowed", True) else "blocked"
    return PromptTestRecord(
        prompt=prompt,
        decision=decision,
        matches=matches,
        stopped_by=field(raw, "stopped_by"),
        block_reason=field(raw, "block_reason"),
        redacted_prompt=field(raw, "redacted_query"),
        policy_version=field(raw, "policy_bundle"),
        total_policies=_int(field(raw, "total_policies")),
        backend=backend,
    )


def _order(evaluation: Mapping[str, Any]) -> Tuple[EvaluationStep, ...]:
    steps = []
    for raw in field(evaluation, "order", []):
        if isinstance(raw, Mapping):
            steps.append(EvaluationStep(position=_int(field(raw, "position")) or 0,
                                        policy_id=str(field(raw, "policy_id", "")),
                                        priority=_int(field(raw, "priority")),
                                        action=word(field(raw, "action", "")),
                                        matched=bool(field(raw, "matched", False))))
    return tuple(steps)


def decision_explanation(raw: Mapping[str, Any], backend: str = "") -> DecisionExplanationRecord:
    """A decision explanation (`GET /api/v1/decisions/{id}/explain`)."""
    found = field(raw, "matches")
    if not found:  # an AxonFlow that reports the published DecisionExplanation fields only
        found = [{**m, "severity": field(m, "risk_level")} for m in field(raw, "policy_matches", [])
                 if isinstance(m, Mapping)]
    matches = tuple(matched_policy(m) for m in found if isinstance(m, Mapping))
    evaluation = field(raw, "evaluation", {}) or {}
    version_info = field(raw, "policy_set", {}) or {}
    stopped_at = field(evaluation, "stopped_at", {}) or {}
    in_force = field(version_info, "in_force_now")
    prompt = field(raw, "prompt")
    return DecisionExplanationRecord(
        decision_id=str(field(raw, "decision_id") or field(raw, "context_id", "")),
        decision=decision_word(field(raw, "decision")),
        reason=str(field(raw, "reason", "")),
        matches=matches,
        order=_order(evaluation),
        enabled_policies=_int(field(evaluation, "enabled")),
        not_evaluated=tuple(str(p) for p in field(evaluation, "not_evaluated", [])),
        stopped_by=field(stopped_at, "policy_id"),
        stop_reason=str(field(evaluation, "stop_reason", "")),
        precedence=field(evaluation, "precedence"),
        policy_version=field(version_info, "version") or field(raw, "policy_bundle"),
        version_loaded_at=when(field(version_info, "loaded_at")),
        version_source=field(version_info, "source"),
        version_in_force_now=bool(in_force) if in_force is not None else None,
        timestamp=when(field(raw, "timestamp")),
        audit_id=field(raw, "audit_id"),
        approval_status=field(raw, "approval_status"),
        block_reason=field(raw, "block_reason"),
        risk_level=field(raw, "risk_level"),
        query_preview=str(field(raw, "query_preview", "")),
        prompt=prompt if isinstance(prompt, str) else None,
        prompt_source="axonflow" if isinstance(prompt, str) else "",
        prompt_chars=_int(field(raw, "prompt_chars")),
        backend=backend,
    )


__all__ = ["decision_word", "matched_policy", "prompt_test", "decision_explanation"]
