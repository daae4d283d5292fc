"""`%axonflow audit --local`: the local audit journal, newest first.

Shows what this machine knows, including what AxonFlow never received: calls run ungoverned under
fail-open and audits still pending or lost. Every cell is escaped (journal fields hold model
names, policy ids and error text that a hostile prompt or server could have shaped).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from .escape import esc, short
from .format import fmt_cost, fmt_ms, fmt_time
from .html import badge, card, data_table, note
from .rich import Rich
from .tables import md_table, text_table

HEADERS = ("time", "decision", "model", "policies", "tokens", "cost", "latency", "delivery")
_TONES = {"delivered": "ok", "pending": "warn", "undelivered": "bad", "not applicable": "mute"}


def _policies(raw: Any) -> str:
    try:
        items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except ValueError:
        items = [raw]
    return ", ".join(str(i) for i in items) or "—"


def delivery(row: Mapping[str, Any]) -> tuple[str, str]:
    """(state word, detail or ""): `delivered`, `pending`, `undelivered` + why, `not applicable` + why."""
    state = str(row.get("delivery") or "pending")
    if state == "sending":
        state = "pending"
    reason = str(row.get("reason") or "")
    if state == "not_applicable":
        return "not applicable", reason or "no context"
    if state == "undelivered":
        return state, reason
    return state, ""


def _cells(row: Mapping[str, Any]) -> list[str]:
    tokens = row.get("total_tokens")
    state, detail = delivery(row)
    return [
        fmt_time(row.get("created_at")),
        str(row.get("decision") or "—"),
        str(row.get("model") or "—"),
        _policies(row.get("policies")),
        str(tokens) if tokens is not None else "—",
        fmt_cost(row.get("cost_usd")),
        fmt_ms(row.get("latency_ms")),
        f"{state}: {detail}" if detail else state,
    ]


def journal_table(rows: Sequence[Mapping[str, Any]], path: str) -> Rich:
    """The journal rows (already newest first) as HTML, Markdown and plain text."""
    cells = [_cells(r) for r in rows]
    lost = sum(1 for r in rows if r.get("delivery") in ("undelivered", "pending", "sending"))
    title = f"Local audit journal: {len(rows)} call{'s' if len(rows) != 1 else ''}"
    badges = [badge(f"{lost} not on AxonFlow", "bad")] if lost else []
    html_rows = []
    for row, line in zip(rows, cells):
        state, detail = delivery(row)
        shown = [esc(short(c, 200)) for c in line[:-1]]
        html_rows.append([*shown, badge(state, _TONES.get(state, "mute"))
                          + (f" {esc(short(detail, 200))}" if detail else "")])
    body = data_table(HEADERS, html_rows) + note(path)
    plain = f"{title} ({path})\n" + text_table(HEADERS, cells)
    markdown = f"**{title}**\n\n" + md_table(HEADERS, cells)
    return Rich(card("journal", title, body, tone="bad" if lost else "info", badges=badges),
                markdown, plain)


__all__ = ["journal_table"]
