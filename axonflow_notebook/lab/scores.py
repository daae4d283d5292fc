"""Scoring a replay against labels: a confusion matrix of decisions, precision and recall per policy.

A label is the decision a prompt should get (`allowed`, `redacted`, `needs_approval`, `blocked`;
common spellings such as `block` or `approved` are read as these). A policy's prediction is the
decision its action leads to (block -> blocked, require_approval -> needs_approval, redact ->
redacted); `warn` and `log` change no decision, so they have no precision or recall. For a
policy P predicting decision D over the labelled prompts:

- precision: of the prompts P matched, the share labelled D;
- recall: of the prompts labelled D, the share P matched.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

DECISIONS = ("allowed", "redacted", "needs_approval", "blocked")
ACTION_DECISION = {"block": "blocked", "require_approval": "needs_approval", "redact": "redacted"}
_SPELLINGS = {
    "allow": "allowed", "allowed": "allowed", "approved": "allowed", "pass": "allowed", "ok": "allowed",
    "redact": "redacted", "redacted": "redacted",
    "needs_approval": "needs_approval", "require_approval": "needs_approval", "requires_approval": "needs_approval",
    "held": "needs_approval", "hold": "needs_approval", "approval": "needs_approval",
    "block": "blocked", "blocked": "blocked", "deny": "blocked", "denied": "blocked",
}


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ in (
        "NAType", "NaTType")


def label(value: Any) -> Optional[str]:
    """A label as a decision word; None for a missing label. ValueError for one that is no decision."""
    if is_missing(value):
        return None
    text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if text == "":
        return None
    found = _SPELLINGS.get(text)
    if found is None:
        raise ValueError(f"expected label {value!r} is not a decision: use one of {', '.join(DECISIONS)}")
    return found


def confusion(expected: Sequence[str], predicted: Sequence[str]) -> List[List[int]]:
    """Counts of (expected, predicted) pairs: rows expected, columns predicted, in DECISIONS order."""
    at = {d: i for i, d in enumerate(DECISIONS)}
    matrix = [[0] * len(DECISIONS) for _ in DECISIONS]
    for want, got in zip(expected, predicted):
        matrix[at[want]][at[got]] += 1
    return matrix


def policy_scores(expected: Sequence[str], matched: Sequence[Iterable[str]],
                  actions: Mapping[str, str]) -> Dict[str, Tuple[Optional[str], Optional[float], Optional[float], int]]:
    """policy id -> (predicted decision, precision, recall, prompts matched) over labelled prompts.

    `matched[i]` holds the ids of the policies that matched prompt i; `actions` each policy's action.
    """
    labelled = {d: 0 for d in DECISIONS}
    for want in expected:
        labelled[want] += 1
    hits: Dict[str, int] = {}
    right: Dict[str, int] = {}
    for want, ids in zip(expected, matched):
        for pid in set(ids):
            hits[pid] = hits.get(pid, 0) + 1
            if ACTION_DECISION.get(actions.get(pid, "")) == want:
                right[pid] = right.get(pid, 0) + 1
    scores = {}
    for pid, count in hits.items():
        target = ACTION_DECISION.get(actions.get(pid, ""))
        if target is None:
            scores[pid] = (None, None, None, count)
            continue
        correct = right.get(pid, 0)
        recall = correct / labelled[target] if labelled[target] else None
        scores[pid] = (target, correct / count, recall, count)
    return scores


__all__ = ["DECISIONS", "ACTION_DECISION", "label", "confusion", "policy_scores", "is_missing"]
