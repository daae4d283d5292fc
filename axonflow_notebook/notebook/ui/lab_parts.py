"""What a prompt test and a decision explanation share: the decision badge, the matches table,
the highlighted prompt, in HTML, Markdown and plain text. Every value is escaped here."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ...core.records import MatchedPolicy
from .escape import esc, md_code, md_esc, short
from .format import fmt_time, word
from .highlight import ACTION_TONES, Mark, clipped, fenced, highlighted_html
from .html import badge, data_table, mono, note
from .tables import md_table, text_table

DECISION_TONES = {"allowed": "ok", "redacted": "redact", "needs_approval": "info", "blocked": "bad"}
MATCH_HEADERS = ("#", "Policy", "Name", "Action", "Priority", "Order", "Where", "Matched text")
TEXT_CHARS = 60  # matched text shown per span


def decision_badge(decision: str) -> str:
    return badge(word(decision), DECISION_TONES.get(decision, "mute"))


def marks(matches: Sequence[MatchedPolicy]) -> List[Mark]:
    return [Mark(i, m.policy_id, m.action, m.spans) for i, m in enumerate(matches, start=1)]


def _where(match: MatchedPolicy) -> str:
    if not match.spans:
        return "not reported"
    where = ", ".join(f"{s}–{e}" for s, e in match.spans)
    if match.span_count and match.span_count > len(match.spans):
        where += f" (+{match.span_count - len(match.spans)} more)"
    return where


def _texts(match: MatchedPolicy, prompt: Optional[str]) -> List[str]:
    if match.matched_text:
        return [short(t, TEXT_CHARS) for t in match.matched_text]
    if prompt is not None:
        return [short(prompt[s:e], TEXT_CHARS) for s, e in clipped(match.spans, len(prompt))]
    return []


def _position(match: MatchedPolicy) -> str:
    return "—" if match.position is None else f"#{match.position + 1}"


def _cells(number: int, match: MatchedPolicy, prompt: Optional[str]) -> Tuple[str, ...]:
    return (str(number), match.policy_id, match.name, word(match.action),
            "—" if match.priority is None else str(match.priority), _position(match), _where(match),
            " · ".join(_texts(match, prompt)) or "—")


def matches_html(matches: Sequence[MatchedPolicy], prompt: Optional[str]) -> str:
    if not matches:
        return note("No policy matched.")
    rows = []
    for number, match in enumerate(matches, start=1):
        cells = _cells(number, match, prompt)
        texts = _texts(match, prompt)
        rows.append([esc(cells[0]), mono(match.policy_id), esc(match.name),
                     badge(word(match.action), ACTION_TONES.get(match.action, "mute")), esc(cells[4]),
                     esc(cells[5]), mono(cells[6]),
                     " ".join(f'<code class="axonflow-matched">{esc(t)}</code>' for t in texts) or "—"])
    return data_table(MATCH_HEADERS, rows, widths=("4%", "17%", "19%", "12%", "8%", "9%", "12%", "19%"))


def matches_markdown(matches: Sequence[MatchedPolicy], prompt: Optional[str]) -> str:
    if not matches:
        return "No policy matched."
    return md_table(MATCH_HEADERS, [_cells(n, m, prompt) for n, m in enumerate(matches, start=1)])


def matches_text(matches: Sequence[MatchedPolicy], prompt: Optional[str]) -> str:
    if not matches:
        return "No policy matched."
    return text_table(MATCH_HEADERS, [_cells(n, m, prompt) for n, m in enumerate(matches, start=1)], width=40)


def prompt_parts(prompt: Optional[str], matches: Sequence[MatchedPolicy], *, whole: bool = True) -> Tuple[str, str]:
    """(HTML, Markdown) of the prompt with its matches highlighted; a note when it is unknown."""
    if prompt is None:
        text = "The prompt is not known here (AxonFlow keeps only a preview and the matched spans)."
        return note(text), md_esc(text)
    html = highlighted_html(prompt, marks(matches))
    if not whole:
        html += note("Only the first characters of the prompt were kept; spans beyond them are listed below.")
    return html, fenced(prompt)


def version_text(version: Optional[str], loaded_at=None, source: Optional[str] = None) -> str:
    if not version:
        return "not reported"
    parts = [version[:12]]
    if loaded_at is not None:
        parts.append(f"in force since {fmt_time(loaded_at)}")
    if source:
        parts.append(f"from {short(source, 80)}")
    return ", ".join(parts)


def version_html(version: Optional[str], loaded_at=None, source: Optional[str] = None) -> str:
    text = version_text(version, loaded_at, source)
    if not version:
        return esc(text)
    return f'<span title="{esc(version)}">{mono(version[:12])}</span>{esc(text[12:])}'


__all__ = ["DECISION_TONES", "decision_badge", "marks", "matches_html", "matches_markdown", "matches_text",
           "prompt_parts", "version_text", "version_html", "md_code"]
