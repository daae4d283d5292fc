"""`what_if(...)` in a notebook: a widget to browse what a draft would change, static tables beside it.

The widget (`static/what_if.js`) filters the changed decisions by policy and by transition
("allowed → blocked") and switches between the changes, the per-policy counts, the confusion
matrix and the prompts not evaluated; it draws every value with `textContent`, so no prompt can
become markup. Its bundle carries the static tables (escaped HTML, Markdown, text) for saved
notebooks, nbconvert and GitHub. At most `MAX_ROWS` changes travel to the browser, each prompt
clipped to `PROMPT_CHARS`; the DataFrames on the report hold them all.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Tuple

import traitlets as t

from .escape import esc, md_esc, short
from .format import word
from .html import card, data_table, note
from .lab_parts import decision_badge
from .live_widget import LiveWidget, es_module
from .rich import Rich
from .tables import md_table, text_table

MAX_ROWS = 1000
STATIC_ROWS = 50
PROMPT_CHARS = 240
CHANGE_HEADERS = ("Row", "Prompt", "Now", "Draft", "Decided by", "Expected")
POLICY_HEADERS = ("Policy", "Action", "Status", "Matched now", "Matched in draft", "Gained", "Lost",
                  "Decisions changed", "Precision", "Recall")


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.0%}" if isinstance(value, float) else str(value)


def _changes(report: Any, limit: int) -> List[Dict[str, str]]:
    frame = report.changes.head(limit)
    labelled = "expected" in frame.columns
    rows = []
    for key, item in zip(frame.index.tolist(), frame.to_dict("records")):
        rows.append({"row": str(key), "prompt": short(item["prompt"], PROMPT_CHARS), "current": item["current"],
                     "draft": item["draft"], "decided_by": item["decided_by"] or item["current_decided_by"] or "",
                     "expected": (item.get("expected") or "") if labelled else ""})
    return rows


def _policies(report: Any) -> List[Dict[str, str]]:
    frame = report.by_policy
    out = []
    for pid, item in zip(frame.index.tolist(), frame.to_dict("records")):
        out.append({"policy": str(pid), "action": word(item["action"]), "status": item["status"] or "",
                    "matched_current": _num(item["matched_current"]), "matched_draft": _num(item["matched_draft"]),
                    "gained": _num(item["gained"]), "lost": _num(item["lost"]),
                    "decisions_changed": _num(item["decisions_changed"]),
                    "precision": _num(item.get("precision")), "recall": _num(item.get("recall"))})
    return out


def _confusion(frame: Any) -> Dict[str, Any]:
    if frame is None:
        return {}
    return {"labels": [str(c) for c in frame.columns], "rows": [[int(v) for v in row] for row in frame.values]}


def _skipped(report: Any) -> List[Dict[str, str]]:
    return [{"reason": str(r), "prompts": str(n)} for r, n in zip(report.skipped.get("reason", []),
                                                                   report.skipped.get("prompts", []))]


def _title(report: Any) -> str:
    return (f"What if: {report.changed} of {report.evaluated} decisions would change"
            + (f" ({report.not_evaluated} prompts not evaluated)" if report.not_evaluated else ""))


def _change_cells(rows: Sequence[Dict[str, str]]) -> List[Tuple[str, ...]]:
    return [(r["row"], r["prompt"], word(r["current"]), word(r["draft"]), r["decided_by"] or "—",
             word(r["expected"]) if r["expected"] else "—") for r in rows]


def _policy_cells(rows: Sequence[Dict[str, str]]) -> List[Tuple[str, ...]]:
    return [tuple(r[k] or "—" for k in ("policy", "action", "status", "matched_current", "matched_draft", "gained",
                                        "lost", "decisions_changed", "precision", "recall")) for r in rows]


def what_if_static(report: Any) -> Rich:
    """The report as static tables: changes (the first STATIC_ROWS), per policy, confusion, skipped."""
    title = _title(report)
    changes = _change_cells(_changes(report, STATIC_ROWS))
    policies = _policy_cells(_policies(report))
    confusion = _confusion(report.confusion)
    summary = report.summary()
    html_parts = [f'<div class="axonflow-what-if-summary" style="white-space:pre-wrap">{esc(summary)}</div>']
    md_parts = [f"**{md_esc(title)}**", md_esc(summary)]
    text_parts = [title, summary]
    if changes:
        html_parts.append(data_table(CHANGE_HEADERS, [
            [esc(c[0]), esc(c[1]), decision_badge(r["current"]), decision_badge(r["draft"]), esc(c[4]), esc(c[5])]
            for c, r in zip(changes, _changes(report, STATIC_ROWS))], widths=("7%", "45%", "12%", "12%", "14%", "10%")))
        md_parts.append(md_table(CHANGE_HEADERS, changes))
        text_parts.append(text_table(CHANGE_HEADERS, changes, width=60))
        if report.changed > len(changes):
            more = f"… and {report.changed - len(changes)} more changes in report.changes"
            html_parts.append(note(more))
            md_parts.append(md_esc(more))
            text_parts.append(more)
    if policies:
        html_parts.append(data_table(POLICY_HEADERS, [[esc(c) for c in row] for row in policies]))
        md_parts.append(md_table(POLICY_HEADERS, policies))
        text_parts.append(text_table(POLICY_HEADERS, policies, width=32))
    if confusion:
        headers = ["expected / draft", *confusion["labels"]]
        rows = [[label, *map(str, row)] for label, row in zip(confusion["labels"], confusion["rows"])]
        html_parts.append(data_table(headers, [[esc(c) for c in row] for row in rows]))
        md_parts.append(md_table(headers, rows))
        text_parts.append(text_table(headers, rows))
    tone = "warn" if report.changed else "ok"
    html = card("what-if", title, "".join(html_parts), tone=tone)
    meta = {"axonflow": {"evaluated": report.evaluated, "changed": report.changed,
                         "not_evaluated": report.not_evaluated, "draft_version": report.draft_version}}
    return Rich(html, "\n\n".join(md_parts), "\n".join(text_parts), meta)


class WhatIfWidget(LiveWidget):
    """The browsable report: tabs, a policy and a transition filter (static/what_if.js)."""

    _esm = es_module("what_if.js")

    title = t.Unicode("").tag(sync=True)
    summary = t.Unicode("").tag(sync=True)
    changes = t.List(t.Dict()).tag(sync=True)
    changes_total = t.Int(0).tag(sync=True)
    policies = t.List(t.Dict()).tag(sync=True)
    confusion = t.Dict().tag(sync=True)
    skipped = t.List(t.Dict()).tag(sync=True)


def what_if_widget(report: Any) -> WhatIfWidget:
    static = what_if_static(report)
    return WhatIfWidget(kind="what_if", fallback=lambda: static, on_message=lambda _content: None,
                        title=_title(report), summary=report.summary(), changes=_changes(report, MAX_ROWS),
                        changes_total=report.changed, policies=_policies(report),
                        confusion=_confusion(report.confusion), skipped=_skipped(report))


def what_if_bundle(report: Any) -> Tuple[dict, dict]:
    """The display bundle: the widget view with its static fallback beside it."""
    bundle = what_if_widget(report)._repr_mimebundle_()
    if bundle is None:  # no kernel comm (a plain IPython): the static tables alone
        static = what_if_static(report)
        return static.bundle(), static.metadata
    return bundle


__all__ = ["what_if_static", "what_if_widget", "what_if_bundle", "WhatIfWidget"]
