"""`%axonflow audit --local`: the local audit journal, newest first.

Shows what this machine knows, including what AxonFlow never received: calls
run ungoverned under fail-open and audits still pending or lost. Every cell
goes through render.py's escaping (journal fields hold model names, policy
ids and error text that a hostile prompt or server could have shaped).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from .render import Rich, badge, card, data_table, esc, fmt_cost, fmt_ms, fmt_time, md_table, short, text_table

HEADERS = ("time", "decision", "model", "policies", "tokens", "cost", "latency", "delivery")
_TONES = {"delivered": "ok", "pending": "warn", "sending": "warn", "undelivered": "bad",
          "not_applicable": "mute"}


def _policies(raw: Any) -> str:
    try:
        items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except ValueError:
        items = [raw]
    return ", ".join(str(i) for i in items) or "—"


def _cells(row: Mapping[str, Any]) -> list[str]:
    from ..core.journal import delivery_text

    tokens = row.get("total_tokens")
    return [
        fmt_time(row.get("created_at")),
        str(row.get("decision") or "—"),
        str(row.get("model") or "—"),
        _policies(row.get("policies")),
        str(tokens) if tokens is not None else "—",
        fmt_cost(row.get("cost_usd")),
        fmt_ms(row.get("latency_ms")),
        delivery_text(dict(row)) if row.get("delivery") != "not_applicable"
        else f"not applicable: {row.get('reason') or 'no context'}",
    ]


def journal_table(rows: Sequence[Mapping[str, Any]], path: str) -> Rich:
    """The journal rows (already newest first) as HTML, markdown and plain text."""
    cells = [_cells(r) for r in rows]
    lost = sum(1 for r in rows if r.get("delivery") in ("undelivered", "pending", "sending"))
    title = f"Local audit journal: {len(rows)} call{'s' if len(rows) != 1 else ''}"
    badges = [badge(f"{lost} not on AxonFlow", "bad")] if lost else []
    html_rows = []
    for row, line in zip(rows, cells):
        tone = _TONES.get(str(row.get("delivery")), "mute")
        *rest, delivery = [esc(short(c, 200)) for c in line]
        state = "pending" if row.get("delivery") == "sending" else str(row.get("delivery") or "pending")
        html_rows.append([*rest, badge(state.replace("_", " "), tone) + f" {delivery}"])
    body = data_table(HEADERS, html_rows) + f'<div style="opacity:.7">{esc(path)}</div>'
    plain = f"{title} ({path})\n" + text_table(HEADERS, cells)
    markdown = f"**{title}**\n\n" + md_table(HEADERS, cells)
    return Rich(card("journal", title, body, tone="bad" if lost else "info", badges=badges), markdown, plain)


__all__ = ["journal_table"]
