"""`%axonflow policies`: the policies in force, grouped by category, filterable, 940 px wide.

Ids are the ones cards show (`fin-wire-transfer`, `sys_pii_ssn`), enums are words, and long
patterns fold into a `<details>` (no JS) and wrap inside their column.
"""

from __future__ import annotations

from itertools import groupby
from typing import Optional, Sequence

from ...core.records import PolicyRecord
from .escape import NO_MATH, esc, md_esc, short
from .format import word
from .html import FG2, FONT, MONO, badge, data_table, mono
from .rich import Rich
from .tables import md_table, text_table

ACTION_TONES = {"block": "bad", "require approval": "info", "redact": "redact", "warn": "warn",
                "log": "mute"}
SEVERITY_TONES = {"critical": "bad", "high": "bad", "medium": "warn", "low": "info"}
HEADERS = ("Id", "Name", "Action", "Severity", "Pattern", "Description")
WIDTHS = ("16%", "15%", "17%", "10%", "21%", "21%")
FOLD_AT = 48  # pattern characters shown before the rest folds away


def _in_category(have: str, wanted: str) -> bool:
    """`pii` is the family of `pii-eu`, `pii-us`, …; `pii-eu` is that category alone."""
    return have == wanted or have.startswith(wanted + " ") or have.startswith(wanted + "-")


def _matches(p: PolicyRecord, category: Optional[str], action: Optional[str],
             search: Optional[str]) -> bool:
    if category and not _in_category(word(p.category), word(category)):
        return False
    if action and word(p.action) != word(action):
        return False
    if search:
        needle = search.lower()
        hay = " ".join((p.id, p.name, p.description, p.pattern, word(p.category))).lower()
        return needle in hay
    return True


def _pattern_html(pattern: str) -> str:
    if len(pattern) <= FOLD_AT:
        return mono(pattern)
    return (f'<details><summary style="cursor:pointer;{MONO}">{esc(pattern[:FOLD_AT])}…</summary>'
            f'<div style="{MONO};word-break:break-all">{esc(pattern)}</div></details>')


def _row_html(p: PolicyRecord) -> list[str]:
    action, severity = word(p.action), word(p.severity)
    name = esc(p.name) + ("" if p.enabled else badge("disabled", "mute"))
    return [mono(p.id), name, badge(action, ACTION_TONES.get(action, "mute")),
            badge(severity, SEVERITY_TONES.get(severity, "mute")), _pattern_html(p.pattern),
            esc(p.description)]


def _row_text(p: PolicyRecord) -> list[str]:
    return [p.id, p.name + ("" if p.enabled else " (disabled)"), word(p.action), word(p.severity),
            p.pattern, p.description]


def policies_table(policies: Sequence[PolicyRecord], *, category: Optional[str] = None,
                   action: Optional[str] = None, search: Optional[str] = None) -> Rich:
    """The policy table, grouped by category; `category`, `action` and `search` filter it."""
    shown = sorted((p for p in policies if _matches(p, category, action, search)),
                   key=lambda p: (word(p.category), p.priority, p.id))
    filters = [f"{k} {v!r}" for k, v in (("category", category), ("action", action),
                                          ("search", search)) if v]
    count = f"{len(shown)} of {len(policies)}" if filters else str(len(shown))
    title = f"AxonFlow policies — {count} polic{'y' if len(policies) == 1 else 'ies'}"
    if filters:
        title += f" ({', '.join(filters)})"
    groups = [(cat, list(rows)) for cat, rows in groupby(shown, key=lambda p: word(p.category))]

    sections, md_parts, text_parts = [], [f"**{md_esc(title)}**"], [title]
    for cat, rows in groups:
        sections.append(
            f'<details open style="margin:4px 0"><summary style="cursor:pointer;font-weight:600">'
            f'{esc(cat)} <span style="color:{FG2};font-weight:400">({len(rows)})</span></summary>'
            f"{data_table(HEADERS, (_row_html(p) for p in rows), widths=WIDTHS)}</details>")
        md_parts.append(f"**{md_esc(short(cat, 80))}** ({len(rows)})\n\n"
                        + md_table(HEADERS, (_row_text(p) for p in rows)))
        text_parts.append(f"\n[{cat}]\n" + text_table(HEADERS, [_row_text(p) for p in rows],
                                                        width=48))
    if not groups:
        empty = "No policies match." if filters else "No policies."
        sections.append(f'<div style="color:{FG2}">{esc(empty)}</div>')
        md_parts.append(empty)
        text_parts.append(empty)
    html = (f'<div class="axonflow-card axonflow-policies {NO_MATH}" style="{FONT};'
            f'max-width:940px;box-sizing:border-box;border:1px solid var(--jp-border-color2,#e0e0e0);'
            f'border-left:4px solid #1565c0;border-radius:4px;padding:6px 10px;overflow-wrap:anywhere">'
            f'<div style="font-weight:600;color:#1565c0">{esc(title)}</div>{"".join(sections)}</div>')
    return Rich(html, "\n\n".join(md_parts), "\n".join(text_parts),
                {"axonflow": {"policies": len(shown), "policies_total": len(policies)}})


__all__ = ["policies_table"]
