"""The bundle's `summary.md`: what an auditor reads first.

The period of use, the policy versions in force, the inputs that matched a policy, who reviewed
held calls and what they decided, and the calls that ran ungoverned. Every value from the journal
is escaped for Markdown (and no `$` can start maths): they hold prompts, model names and
comments anyone could have shaped.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable, List, Mapping, Optional, Sequence

from .trail import TrailRow

_SPECIAL = re.compile(r"([\\`*_\[\]|<>$])")  # what Markdown (or maths) would read in a table cell
LIMIT = 200  # rows per table; the records files hold them all


def cell(value: Any, limit: int = 120) -> str:
    """A Markdown table cell showing `value` literally."""
    if value is None or value == "":
        return "—"
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _SPECIAL.sub(r"\\\1", text).replace("&", "&amp;")


def _time(moment: Optional[dt.datetime]) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else "—"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], total: int) -> List[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    if total > LIMIT:
        lines.append(f"\n(the first {LIMIT} of {total}; records.jsonl holds every one)")
    return lines


def _waited(seconds: Optional[float]) -> str:
    return f"{seconds:.0f} s" if seconds is not None else "—"


def summary_markdown(*, rows: Sequence[TrailRow], period_label: str, journal: str, keyed: bool,
                     verification: str, agent_verification: Optional[str], policy_sets: Sequence[Mapping[str, Any]],
                     segment: str, created_at: dt.datetime) -> str:
    times = [r.timestamp for r in rows if r.timestamp is not None]
    used = f"{_time(min(times))} to {_time(max(times))}" if times else "no calls in the period"
    lines = [
        "# AxonFlow evidence bundle", "",
        f"- Exported: {_time(created_at)}",
        f"- Requested period: {cell(period_label)}",
        f"- Period of use (first to last call): {used}",
        f"- Calls: {len(rows)}; chain records: {cell(segment)}",
        f"- Journal: {cell(journal)} ({'keyed chain, HMAC-SHA256' if keyed else 'unkeyed chain, SHA-256'})",
        f"- Journal verification at export: {cell(verification, 400)}",
    ]
    if agent_verification:
        lines.append(f"- Embedded agent's audit store at export: {cell(agent_verification, 400)}")
    lines += ["", "## Policy versions in force", ""]
    decided = {}
    for row in rows:
        if row.policy_version:
            decided[row.policy_version] = decided.get(row.policy_version, 0) + 1
    sets = [(s["version"], ", ".join(load.get("loaded_at", "") for load in s.get("loads", [])) or "—",
             ", ".join(sorted({load.get("source", "") for load in s.get("loads", [])})) or "—",
             decided.get(s["version"], 0), len(s["policies"]) if s.get("policies") is not None else "not available")
            for s in policy_sets]
    lines += _table(("version", "put in force at", "source", "calls decided", "policies"), sets, len(sets))
    matched = [r for r in rows if r.policies]
    lines += ["", "## Inputs that matched a policy", ""]
    lines += _table(("time", "decision", "policies", "input", "notebook or script", "cell"),
                    [(_time(r.timestamp), r.decision, ", ".join(r.policies),
                      r.query_preview or "(the journal keeps no prompt text)", r.notebook or r.script, r.cell_id)
                     for r in matched[:LIMIT]], len(matched))
    reviewed = [r for r in rows if r.reviewer or r.decision in ("approved", "rejected", "expired")]
    lines += ["", "## Reviewers and their decisions", ""]
    lines += _table(("time", "reviewer", "decision", "comment", "waited", "policies"),
                    [(_time(r.timestamp), r.reviewer, r.decision, r.review_comment, _waited(r.approval_seconds),
                      ", ".join(r.policies)) for r in reviewed[:LIMIT]], len(reviewed))
    ungoverned = [r for r in rows if r.ungoverned]
    lines += ["", "## Calls that ran ungoverned (AxonFlow unreachable, fail-open)", ""]
    if ungoverned:
        lines += _table(("time", "model", "notebook or script", "cell", "call id"),
                        [(_time(r.timestamp), r.model, r.notebook or r.script, r.cell_id, r.call_id)
                         for r in ungoverned[:LIMIT]], len(ungoverned))
    else:
        lines.append("None.")
    lines += ["", "## Checking this bundle", "",
              "`axonflow-notebook verify THIS.zip` re-checks it offline: every file against manifest.json, the "
              "chain records' hashes and links, the records against the chain, the Parquet file against the "
              "JSON Lines file, and each policy set against its version hash. Records of calls outside the "
              "period appear in chain.jsonl by hash only."]
    return "\n".join(lines) + "\n"


__all__ = ["summary_markdown", "cell"]
