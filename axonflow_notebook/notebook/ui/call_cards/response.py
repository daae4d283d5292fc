"""Response card: the model's answer as inert HTML (Markdown, text or JSON), or why there is none."""

from __future__ import annotations

import json
from typing import Optional

from ..escape import esc, md_esc, short
from ..html import PRE_STYLE, badge, card
from ..markdown import fenced, markdown_passthrough, markdown_to_html
from ..state import CallState

FORMATS = ("markdown", "text", "json")


def answer_html(text: str, fmt: str) -> str:
    if fmt == "json":
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            pass
        return f'<pre style="{PRE_STYLE}">{esc(text)}</pre>'
    if fmt == "text":
        return f'<pre style="{PRE_STYLE};background:transparent;padding:0">{esc(text)}</pre>'
    return markdown_to_html(text)


def problem(state: CallState) -> Optional[tuple[str, str, str]]:
    """(title, tone, detail) when the call ended without an answer worth showing as one."""
    if state.cancelled is not None:
        return "Cancelled", "mute", state.cancelled
    f = state.failed
    if f is not None:
        if state.decision_kind() == "blocked" and f.stage == "pre_check":
            return None  # the decision card already says why
        return "Call failed", "bad", f"{f.error_type}: {f.message}"
    if state.error:
        return "Call failed", "bad", state.error
    return None


def visible(state: CallState) -> bool:
    return bool(state.answer) or state.finished is not None or problem(state) is not None


def response_html(state: CallState, fmt: str = "markdown", *, tagged: bool = True) -> str:
    issue = problem(state)
    if issue is not None and not state.answer:
        title, tone, detail = issue
        return card("response", title, f"<div>{esc(detail)}</div>", tone=tone, tagged=tagged)
    badges = [badge("simulated", "warn")] if state.shows_simulated else []
    if state.chunks and state.finished is None and issue is None:
        badges.append(badge("streaming…", "info"))
    body = answer_html(state.answer, fmt)
    if issue is not None:
        body += f'<div style="color:#c62828;margin-top:4px">{esc(issue[0])}: {esc(issue[2])}</div>'
    return card("response", "Answer", body or "<div>(empty)</div>", tone="info", badges=badges,
                tagged=tagged)


def response_markdown(state: CallState, fmt: str = "markdown") -> str:
    issue = problem(state)
    parts = []
    if state.answer:
        head = "**Answer**" + (" `simulated`" if state.shows_simulated else "")
        text = state.answer
        body = markdown_passthrough(text) if fmt == "markdown" else fenced(text)
        parts.append(f"{head}\n\n{body}")
    if issue is not None:
        parts.append(f"**{issue[0]}**: {md_esc(issue[2])}")
    return "\n\n".join(parts)


def response_line(state: CallState) -> str:
    issue = problem(state)
    if issue is not None:
        return f"{issue[0].lower()}: {short(issue[2], 160)}"
    return ""
