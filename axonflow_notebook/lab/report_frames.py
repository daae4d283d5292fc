"""The DataFrames of a `WhatIfReport`, built from the evaluations of a replay (replay.py)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Dict, List, Set, Tuple

from .report import WhatIfReport
from .scores import DECISIONS, confusion, policy_scores

_KEYS = ("row", "call_id", "made_at", "recorded")
_COLUMNS = ("prompt", "expected", "current", "draft", "changed", "decided_by", "current_decided_by",
            "current_policies", "draft_policies")


def _deciders(ev: Any) -> Set[str]:
    if ev.decision == "blocked":
        return {ev.stopped_by} if ev.stopped_by else set()
    if ev.decision == "needs_approval":
        return {next((m.policy_id for m in ev.matches if m.action == "require_approval"), "")} - {""}
    if ev.decision == "redacted":
        return {m.policy_id for m in ev.matches if m.action == "redact"}
    return set()


def _decisions_frame(evaluated: List[Tuple[dict, Any, Any]], labelled: bool) -> Any:
    import pandas as pd

    keys = [k for k in _KEYS if evaluated and k in evaluated[0][0]] or ["row"]
    columns = keys + [c for c in _COLUMNS if labelled or c != "expected"]
    records = []
    for row, cur, new in evaluated:
        records.append({
            **{k: row.get(k) for k in keys}, "prompt": row["prompt"], "expected": row.get("expected"),
            "current": cur.decision, "draft": new.decision, "changed": cur.decision != new.decision,
            "decided_by": ", ".join(sorted(_deciders(new))), "current_decided_by": ", ".join(sorted(_deciders(cur))),
            "current_policies": ", ".join(cur.policy_ids), "draft_policies": ", ".join(new.policy_ids),
        })
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.set_index(keys[0])


def _matrix(expected: List[str], decided: List[str], predicted: str) -> Any:
    import pandas as pd

    return pd.DataFrame(confusion(expected, decided), index=pd.Index(DECISIONS, name="expected"),
                        columns=pd.Index(DECISIONS, name=predicted))


def _policy_frame(evaluated, in_force, drafted, labelled_rows) -> Tuple[Any, Dict[str, list]]:
    import pandas as pd

    current = {p.id: p for p in in_force.policies}
    draft = {p.id: p for p in drafted.policies}
    diff = in_force.diff(drafted)
    status = {**{pid: "added" for pid in diff.added}, **{pid: "changed" for pid in diff.changed},
              **{pid: "removed" for pid in diff.removed}}
    counts: Dict[str, Counter] = {}

    def bump(pid: str, key: str) -> None:
        counts.setdefault(pid, Counter())[key] += 1

    for _, cur, new in evaluated:
        before, after = set(cur.policy_ids), set(new.policy_ids)
        for pid in before:
            bump(pid, "matched_current")
        for pid in after:
            bump(pid, "matched_draft")
        for pid in after - before:
            bump(pid, "gained")
        for pid in before - after:
            bump(pid, "lost")
        if cur.decision != new.decision:
            for pid in _deciders(new) | _deciders(cur):
                bump(pid, "decisions_changed")
    for pid in status:
        counts.setdefault(pid, Counter())
    scored: Dict[str, dict] = {}
    if labelled_rows:
        expected = [row["expected"] for row, _, _ in labelled_rows]
        for name, policy_set, which in (("", draft, 2), ("_current", current, 1)):
            actions = {pid: p.action for pid, p in policy_set.items()}
            found = policy_scores(expected, [item[which].policy_ids for item in labelled_rows], actions)
            for pid, (predicts, precision, recall, _) in found.items():
                scored.setdefault(pid, {}).update({f"precision{name}": precision, f"recall{name}": recall,
                                                   "predicts": predicts})
    records = []
    for pid, count in counts.items():
        policy = draft.get(pid) or current.get(pid)
        record = {"policy": pid, "name": policy.name if policy else pid, "action": policy.action if policy else "",
                  "status": status.get(pid, ""), "matched_current": count["matched_current"],
                  "matched_draft": count["matched_draft"], "gained": count["gained"], "lost": count["lost"],
                  "decisions_changed": count["decisions_changed"]}
        if labelled_rows:
            record.update({k: scored.get(pid, {}).get(k) for k in
                           ("predicts", "precision", "recall", "precision_current", "recall_current")})
        records.append(record)
    columns = ["policy", "name", "action", "status", "matched_current", "matched_draft", "gained", "lost",
               "decisions_changed"] + (["predicts", "precision", "recall", "precision_current", "recall_current"]
                                       if labelled_rows else [])
    frame = pd.DataFrame.from_records(records, columns=columns)
    if len(frame):
        frame = frame.sort_values(["decisions_changed", "matched_draft", "policy"],
                                  ascending=[False, False, True], kind="stable")
    return frame.set_index("policy"), {"added": diff.added, "changed": diff.changed, "removed": diff.removed}


def build_report(evaluated: List[Tuple[dict, Any, Any]], skipped: List[dict], source: str, in_force: Any,
                 drafted: Any, started: float) -> WhatIfReport:
    import pandas as pd

    labelled = any("expected" in row for row, _, _ in evaluated)
    decisions = _decisions_frame(evaluated, labelled)
    labelled_rows = [item for item in evaluated if item[0].get("expected") is not None]
    by_policy, policy_changes = _policy_frame(evaluated, in_force, drafted, labelled_rows)
    reasons = Counter(item["reason"] for item in skipped)
    skipped_frame = pd.DataFrame({"reason": list(reasons), "prompts": list(reasons.values())})
    confusion_draft = confusion_current = accuracy = accuracy_current = None
    if labelled_rows:
        expected = [row["expected"] for row, _, _ in labelled_rows]
        confusion_draft = _matrix(expected, [new.decision for _, _, new in labelled_rows], "draft")
        confusion_current = _matrix(expected, [cur.decision for _, cur, _ in labelled_rows], "current")
        accuracy = sum(w == new.decision for w, (_, _, new) in zip(expected, labelled_rows)) / len(expected)
        accuracy_current = sum(w == cur.decision for w, (_, cur, _) in zip(expected, labelled_rows)) / len(expected)
    return WhatIfReport(
        changes=decisions[decisions["changed"]] if len(decisions) else decisions,
        decisions=decisions, by_policy=by_policy, skipped=skipped_frame,
        skipped_rows=pd.DataFrame.from_records(skipped), confusion=confusion_draft,
        confusion_current=confusion_current, current_version=in_force.version, draft_version=drafted.version,
        current_source=in_force.source, draft_source=drafted.source, source=source,
        elapsed_s=time.perf_counter() - started, accuracy=accuracy, accuracy_current=accuracy_current,
        policy_changes=policy_changes)


__all__ = ["build_report"]
