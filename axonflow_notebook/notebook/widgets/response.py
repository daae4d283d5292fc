"""Response card: the model's answer as inert HTML (Markdown, text or JSON), or why there is none."""

from __future__ import annotations

import json
import re
from typing import Optional

from ..render import PRE_STYLE, badge, card, clean_text, defang_schemes, esc, markdown_to_html, md_esc, short
from .state import CallState

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


def fenced(text: str) -> str:
    """A Markdown code block no line of `text` can close (fence longer than any backtick run)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{clean_text(text)}\n{fence}"


_OPEN_FENCE = re.compile(r"^(`{3,})[^`]*$|^(~{3,}).*$")
_ANY_FENCE = re.compile(r"^\s*[`~]{3,}")


_INFO_UNSAFE = re.compile(r"[^\w.+#-]")


def markdown_passthrough(text: str) -> str:
    """Model Markdown kept as Markdown for `text/markdown`, with raw HTML shown, not rendered.

    Outside code fences `&`, `<`, `>` are escaped and URL schemes defanged. A fence is opened
    only by a line every CommonMark renderer reads as one (column 0, no backtick in the info
    string) and closed by *any* fence-like line, so text is never left raw where a renderer
    would parse it as Markdown; an unclosed fence is closed so the rest of the summary stays
    outside it.
    """
    out: list[str] = []
    fence = ""
    for line in clean_text(text).split("\n"):
        if fence:
            if _ANY_FENCE.match(line):
                out.append(fence)
                fence = ""
            else:
                out.append(line)
            continue
        opened = _OPEN_FENCE.match(line)
        if opened:
            fence = opened.group(1) or opened.group(2)
            # The info string is only a language tag: keep tag characters, drop anything a
            # renderer could echo into an attribute.
            out.append(fence + _INFO_UNSAFE.sub("", line[len(fence):]))
            continue
        out.append(defang_schemes(line.replace("&", "&amp;").replace("<", "&lt;")
                                  .replace(">", "&gt;")))
    if fence:
        out.append(fence)
    return "\n".join(out)


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
    badges = [badge("simulated", "warn")] if state.simulated else []
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
        head = "**Answer**" + (" `simulated`" if state.simulated else "")
        text = state.answer
        if fmt == "markdown":
            body = markdown_passthrough(text)
        else:
            body = fenced(text)
        parts.append(f"{head}\n\n{body}")
    if issue is not None:
        parts.append(f"**{issue[0]}**: {md_esc(issue[2])}")
    return "\n\n".join(parts)


def response_line(state: CallState) -> str:
    issue = problem(state)
    if issue is not None:
        return f"{issue[0].lower()}: {short(issue[2], 160)}"
    return ""
