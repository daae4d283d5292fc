"""`%axonflow audit`: the server's audit trail, paged, plus this kernel's calls at a glance.

A static rich object (no widget state, no JS): pages after the first fold into `<details>`, and
the chart is a few inline SVG rectangles, so it reads the same in a saved notebook or on GitHub.
The trail holds every client of the AxonFlow (with the local agent: every kernel of the user), so
each entry names its client, and this kernel's own calls (matched by context and audit id) say so.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Sequence

from ...core.events import CompletionFinished, GovernanceSkipped
from ...core.records import AuditEntry, AuditPage
from .escape import esc, md_esc, short
from .format import fmt_cost, fmt_ms, fmt_time, parse_time, word
from .html import FG2, FONT, TONES, badge, card, data_table
from .rich import Rich
from .tables import md_table, text_table

PAGE_SIZE = 20
COLUMNS = ("Time (UTC)", "Decision", "Policies", "Client", "Model", "Tokens", "Cost", "Latency",
           "Query", "Id")
# Every header and decision badge fits its column in a 940 px card (tests/browser checks it).
WIDTHS = ("11%", "16%", "11%", "10%", "9%", "8%", "10%", "8%", "11%", "6%")
QUERY_CHARS = 40
THIS_KERNEL = "this kernel"
ID_COLUMN = COLUMNS.index("Id")
DECISION_TONES = {"allowed": "ok", "approved": "ok", "blocked": "bad", "rejected": "bad",
                  "redacted": "redact", "needs approval": "info", "pending approval": "info",
                  "warn": "warn", "expired": "warn", "error": "bad", "failed": "bad",
                  "allow": "ok", "block": "bad", "denied": "bad"}
_HELD = {"needs approval", "require approval", "pending approval", "requires approval"}


def decision_label(entry: AuditEntry) -> str:
    """The decision as a word; a held call says how its approval ended (approved, rejected…)."""
    label = word(entry.decision)
    status = word((entry.metadata or {}).get("approval_status") or "")
    if label in _HELD and status != "—":
        return "pending approval" if status == "pending" else status
    return label


def _short_id(value: str) -> str:
    return value if len(value) <= 10 else value[:8] + "…"


def own_ids(results: Sequence[Any]) -> set[str]:
    """The context and audit ids of this kernel's calls: how its entries are told apart."""
    ids: set[str] = set()
    for result in results:
        decision = getattr(result, "decision", None)
        for value in (getattr(decision, "context_id", None), getattr(result, "audit_id", None)):
            if value:
                ids.add(str(value))
    return ids


def client_label(e: AuditEntry, own: set[str]) -> str:
    """Which client made the call; "(this kernel)" for this kernel's own."""
    client = e.client_id or "—"
    mine = e.id in own or (e.audit_id is not None and str(e.audit_id) in own)
    return f"{client} ({THIS_KERNEL})" if mine else client


def _row(e: AuditEntry, own: set[str]) -> list[str]:
    return [
        fmt_time(e.timestamp).removesuffix(" UTC"),
        decision_label(e),
        ", ".join(e.policies) or "—",
        client_label(e, own),
        e.model or "—",
        str(e.total_tokens) if e.total_tokens else "—",
        fmt_cost(e.cost_usd),
        fmt_ms(e.latency_ms),
        short(e.query_preview or "", QUERY_CHARS) or "—",
        e.id,
    ]


def _html_rows(rows: Iterable[list[str]]) -> Iterable[list[str]]:
    for r in rows:
        cells = [esc(c) for c in r]
        cells[1] = badge(r[1], DECISION_TONES.get(r[1], "mute"))
        client = r[3]
        if client.endswith(f" ({THIS_KERNEL})"):
            name = client[: -len(THIS_KERNEL) - 3]
            cells[3] = f'{esc(name)} <span style="color:{FG2}">({THIS_KERNEL})</span>'
        rid = r[ID_COLUMN]
        cells[ID_COLUMN] = (f'<span title="{esc(rid)}" style="display:block;overflow:hidden;'
                            f'text-overflow:ellipsis;white-space:nowrap;'
                            f'font-family:var(--jp-code-font-family,monospace)">'
                            f"{esc(_short_id(rid))}</span>")
        yield cells


def kernel_stats(results: Sequence[Any]) -> dict:
    """Calls, blocked, approvals, tokens and cost for this kernel's governed calls."""
    stats: Counter = Counter()
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
        color = TONES[DECISION_TONES.get(word(label), "mute")]
        parts.append(f'<text x="0" y="{y + 12}" font-size="12" fill="currentColor">'
                     f"{esc(short(label, 18))}</text>")
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{width}" height="{row_h - 5}" '
                     f'fill="{color}" />')
        parts.append(f'<text x="{label_w + width + 4}" y="{y + 12}" font-size="12" '
                     f'fill="currentColor">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _stats_line(stats: dict) -> str:
    bits = [_count(stats.get("calls", 0), "call"), f"{stats.get('blocked', 0)} blocked",
            _count(stats.get("approvals", 0), "approval"), _count(stats.get("tokens", 0), "token"),
            f"cost {fmt_cost(stats.get('cost'))}"]
    if stats.get("fail_open"):
        bits.append(f"{stats['fail_open']} fail-open")
    if stats.get("simulated"):
        bits.append(f"{stats['simulated']} simulated")
    return ", ".join(bits)


def audit_trail(page: AuditPage, kernel_results: Sequence[Any]) -> Rich:
    """The audit trail (newest first, paged) and a summary of this kernel's governed calls."""
    entries = sorted(page.entries, key=lambda e: parse_time(e.timestamp) or 0.0, reverse=True)
    own = own_ids(kernel_results or [])
    rows = [_row(e, own) for e in entries]
    total = max(page.total, len(rows))
    stats = kernel_stats(kernel_results or [])
    noun = "entry" if total == 1 else "entries"
    head = f"{len(rows)} of {total} audit {noun}" if total > len(rows) else f"{total} audit {noun}"
    mine = sum(1 for r in rows if r[3].endswith(f"({THIS_KERNEL})"))
    scope = (f"Every client of this AxonFlow; {mine} of these entries are this kernel's calls "
             f"(marked “{THIS_KERNEL}”).")

    pages = [rows[i:i + PAGE_SIZE] for i in range(0, len(rows), PAGE_SIZE)] or [[]]
    tables = []
    for n, chunk in enumerate(pages):
        table = data_table(COLUMNS, _html_rows(chunk), widths=WIDTHS) if chunk else \
            f'<div style="color:{FG2}">No audit entries.</div>'
        if n == 0:
            tables.append(table)
        else:
            first = n * PAGE_SIZE + 1
            tables.append(f'<details style="margin:2px 0"><summary style="cursor:pointer">'
                          f"Page {n + 1} (entries {first}–{first + len(chunk) - 1})</summary>"
                          f"{table}</details>")
    decisions = Counter(r[1] for r in rows)
    charts = bar_chart(dict(decisions), "Audit entries by decision")
    if stats.get("outcomes"):
        charts += bar_chart(stats["outcomes"], "This kernel's calls")
    summary = (f'<div style="margin:2px 0 6px">This kernel: {esc(_stats_line(stats))}</div>'
               f'<div style="display:flex;gap:24px;flex-wrap:wrap">{charts}</div>'
               f'<div style="margin:4px 0;color:{FG2}">{esc(scope)}</div>')
    html = card("audit-trail", f"AxonFlow audit trail — {head}", summary + "".join(tables),
                tone="info")
    md = (f"**AxonFlow audit trail — {head}**\n\nThis kernel: {md_esc(_stats_line(stats))}\n\n"
          f"{md_esc(scope)}\n\n" + md_table(COLUMNS, rows[:PAGE_SIZE * 5]))
    plain = (f"AxonFlow audit trail — {head}; this kernel: {_stats_line(stats)}\n{scope}\n"
             + text_table(COLUMNS, rows[:PAGE_SIZE]))
    return Rich(html, md, plain, {"axonflow": {"audit_entries": len(rows), "audit_total": total}})


__all__ = ["audit_trail", "kernel_stats", "bar_chart", "decision_label", "client_label", "own_ids"]
