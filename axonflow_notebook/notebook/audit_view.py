"""`%axonflow audit`: the server's audit trail, paged, plus this kernel's calls at a glance.

A static rich object (no widget state, no JS): pages after the first fold into `<details>`, and
the chart is a few inline SVG rectangles, so it reads the same in a saved notebook or on GitHub.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable, Optional, Sequence

from ..core.events import CompletionFinished, GovernanceSkipped
from .queue_view import as_dict
from .render import (
    FG2,
    FONT,
    TONES,
    Rich,
    badge,
    card,
    data_table,
    esc,
    fmt_cost,
    fmt_ms,
    fmt_time,
    md_table,
    parse_time,
    short,
    text_table,
)

PAGE_SIZE = 20
COLUMNS = ("Time", "Decision", "Policies", "Model", "Provider", "Tokens", "Latency", "Query", "Id")
DECISION_TONES = {"allowed": "ok", "approved": "ok", "allow": "ok", "blocked": "bad",
                  "block": "bad", "denied": "bad", "rejected": "bad", "redacted": "redact",
                  "needs_approval": "info", "pending_approval": "info", "require_approval": "info",
                  "warn": "warn", "expired": "warn"}
_POLICY_KEYS = ("policies", "matched_policies", "triggered_policies", "policies_evaluated",
                "policy_ids", "policy_id", "policy_name", "policy", "triggered_policy_id")


def policy_names(details: Any) -> str:
    """A short, readable list of policy ids/names from whatever shape `policy_details` has."""
    if details in (None, "", [], {}):
        return ""
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            return details
    if isinstance(details, dict):
        for key in _POLICY_KEYS:
            if key in details:
                return policy_names(details[key])
        return short(json.dumps(details, default=str, ensure_ascii=False), 80)
    if isinstance(details, (list, tuple)):
        names = []
        for item in details:
            if isinstance(item, dict):
                item = item.get("id") or item.get("policy_id") or item.get("name") or \
                    item.get("policy_name") or ""
            if item:
                names.append(str(item))
        return ", ".join(dict.fromkeys(names))
    return str(details)


def _decision(entry: dict) -> str:
    return str(entry.get("policy_decision") or entry.get("decision") or "—")


def _row(entry: dict) -> list[str]:
    tokens = entry.get("tokens_used")
    latency = entry.get("response_time_ms") or entry.get("latency_ms")
    return [
        fmt_time(entry.get("timestamp")),
        _decision(entry),
        policy_names(entry.get("policy_details")) or policy_names(entry.get("policy_violations")),
        str(entry.get("model") or "—"),
        str(entry.get("provider") or "—"),
        "—" if tokens is None else str(tokens),
        fmt_ms(latency) if isinstance(latency, (int, float)) else "—",
        short(entry.get("query") or entry.get("query_summary") or "", 70),
        short(entry.get("id", ""), 14),
    ]


def _html_rows(rows: Iterable[list[str]]) -> Iterable[list[str]]:
    for r in rows:
        cells = [esc(c) for c in r]
        cells[1] = badge(r[1], DECISION_TONES.get(r[1].lower(), "mute"))
        yield cells


def kernel_stats(results: Sequence[Any]) -> dict:
    """Calls, blocked, approvals, tokens and cost for this kernel's governed calls."""
    stats = Counter()
    cost, has_cost = 0.0, False
    outcomes: Counter = Counter()
    for result in results:
        stats["calls"] += 1
        decision = getattr(result, "decision", None)
        approval = getattr(result, "approval", None)
        status = getattr(decision, "status", None)
        if status == "blocked":
            stats["blocked"] += 1
        if approval is not None:
            stats["approvals"] += 1
            stats[f"approval_{approval.status}"] += 1
        events = getattr(result, "events", None) or []
        if any(isinstance(e, GovernanceSkipped) for e in events):
            stats["fail_open"] += 1
        for e in events:
            if isinstance(e, CompletionFinished):
                stats["tokens"] += e.total_tokens
                stats["simulated"] += int(e.simulated)
                if e.cost_usd is not None:
                    cost += e.cost_usd
                    has_cost = True
        if status == "blocked":
            outcomes["blocked"] += 1
        elif approval is not None:
            outcomes[approval.status] += 1
        elif getattr(result, "error", None) is not None:
            outcomes["failed"] += 1
        else:
            outcomes["allowed"] += 1
    out = dict(stats)
    out["cost"] = cost if has_cost else None
    out["outcomes"] = dict(outcomes)
    return out


def bar_chart(counts: dict, title: str) -> str:
    """Horizontal bars as inline SVG; labels and values escaped."""
    items = [(str(k), int(v)) for k, v in counts.items() if v]
    if not items:
        return ""
    top = max(v for _, v in items)
    row_h, label_w, bar_w = 18, 130, 220
    height = row_h * len(items) + 22
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 50}" '
             f'height="{height}" role="img" aria-label="{esc(title)}" '
             f'style="{FONT};color:var(--jp-ui-font-color1,#1f1f1f)">',
             f'<text x="0" y="12" font-size="12" fill="currentColor">{esc(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 20 + i * row_h
        width = max(2, round(bar_w * value / top))
        color = TONES[DECISION_TONES.get(label.lower(), "mute")]
        parts.append(f'<text x="0" y="{y + 12}" font-size="12" fill="currentColor">'
                     f"{esc(short(label, 18))}</text>")
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{width}" height="{row_h - 5}" '
                     f'fill="{color}" />')
        parts.append(f'<text x="{label_w + width + 4}" y="{y + 12}" font-size="12" '
                     f'fill="currentColor">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _stats_line(stats: dict) -> str:
    bits = [f"{stats.get('calls', 0)} calls", f"{stats.get('blocked', 0)} blocked",
            f"{stats.get('approvals', 0)} approvals", f"{stats.get('tokens', 0)} tokens",
            f"cost {fmt_cost(stats.get('cost'))}"]
    if stats.get("fail_open"):
        bits.append(f"{stats['fail_open']} fail-open")
    if stats.get("simulated"):
        bits.append(f"{stats['simulated']} simulated")
    return ", ".join(bits)


def audit_trail(entries: Sequence[Any], total: Optional[int], kernel_results: Sequence[Any]) -> Rich:
    """The audit trail (newest first, paged) and a summary of this kernel's governed calls."""
    rows_in = [as_dict(e) for e in entries or []]
    rows_in.sort(key=lambda e: parse_time(e.get("timestamp")) or 0.0, reverse=True)
    rows = [_row(e) for e in rows_in]
    total = total if total is not None else len(rows)
    stats = kernel_stats(kernel_results or [])
    noun = "entry" if total == 1 else "entries"
    head = f"{len(rows)} of {total} audit {noun}" if total > len(rows) else f"{total} audit {noun}"

    pages = [rows[i:i + PAGE_SIZE] for i in range(0, len(rows), PAGE_SIZE)] or [[]]
    tables = []
    for n, page in enumerate(pages):
        table = data_table(COLUMNS, _html_rows(page)) if page else \
            f'<div style="color:{FG2}">No audit entries.</div>'
        if n == 0:
            tables.append(table)
        else:
            first = n * PAGE_SIZE + 1
            tables.append(f'<details style="margin:2px 0"><summary style="cursor:pointer">'
                          f"Page {n + 1} (entries {first}–{first + len(page) - 1})</summary>"
                          f"{table}</details>")
    decisions = Counter(_decision(e) for e in rows_in)
    charts = bar_chart(dict(decisions), "Audit entries by decision")
    if stats.get("outcomes"):
        charts += bar_chart(stats["outcomes"], "This kernel's calls")
    summary = (f'<div style="margin:2px 0 6px">This kernel: {esc(_stats_line(stats))}</div>'
               f'<div style="display:flex;gap:24px;flex-wrap:wrap">{charts}</div>')
    body = summary + "".join(tables)
    html_ = card("audit-trail", f"AxonFlow audit trail — {head}", body, tone="info")
    md = (f"**AxonFlow audit trail — {head}**\n\nThis kernel: {_stats_line(stats)}\n\n"
          + md_table(COLUMNS, rows[:PAGE_SIZE * 5]))
    plain = (f"AxonFlow audit trail — {head}; this kernel: {_stats_line(stats)}\n"
             + text_table(COLUMNS, rows[:PAGE_SIZE]))
    return Rich(html_, md, plain, {"axonflow": {"audit_entries": len(rows), "audit_total": total}})
