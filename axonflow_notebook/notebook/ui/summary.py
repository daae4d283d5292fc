"""Static summaries that replace a live card when its call ends (saved notebooks, nbviewer, GitHub).

Self-contained `text/html` (inline CSS, no JS), `text/markdown` and a one-line `text/plain`, plus
ids in the output metadata — never a prompt, secret or user token there.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from .call_cards.approval import approval_html, approval_line, approval_markdown
from .call_cards.audit_record import audit_html, audit_markdown
from .call_cards.audit_record import visible as audit_visible
from .call_cards.decision import decision_html, decision_line, decision_markdown
from .call_cards.response import response_html, response_line, response_markdown
from .call_cards.response import visible as response_visible
from .call_cards.spend import spend_html, spend_line, spend_markdown
from .call_cards.spend import visible as spend_visible
from .escape import NO_MATH, esc, md_esc, short
from .html import FG2, FONT, MAX_WIDTH, badge
from .rich import Rich
from .state import CallState

OUTCOME_TONES = {"allowed": "ok", "approved": "ok", "allowed_with_warnings": "warn",
                 "redacted": "redact", "blocked": "bad", "refused": "bad", "rejected": "bad",
                 "failed": "bad", "error": "bad", "needs_approval": "info", "pending": "mute",
                 "skipped": "warn", "expired": "warn", "timeout": "warn", "cancelled": "mute"}


def state_from_result(result: Any, *, prompt: str = "", model: str = "", backend: str = "",
                      simulated: bool = False, fallback_events: Sequence[Any] = (),
                      cancelled: Optional[str] = None,
                      descriptions: Optional[Mapping[str, str]] = None) -> CallState:
    """Fold a GovernedResult's events (or the view's own, if the result has none) into a state."""
    events = list(getattr(result, "events", None) or fallback_events)
    state = CallState.replay(events, prompt=prompt, model=model, backend=backend,
                             simulated=simulated, descriptions=dict(descriptions or {}))
    state.cancelled = cancelled
    text = getattr(result, "text", None)
    if text:
        state.text = text
    error = getattr(result, "error", None)
    if error is not None and state.failed is None:
        state.error = f"{type(error).__name__}: {error}"
    if state.decision is None and getattr(result, "decision", None) is not None:
        state.apply(result.decision)
    if state.approval is None and getattr(result, "approval", None) is not None:
        state.apply(result.approval)
    return state


def metadata(state: CallState, result: Any = None) -> dict:
    audit_id = getattr(result, "audit_id", None) or (state.audit.audit_id if state.audit else None)
    return {"axonflow": {
        "call_id": state.call_id,
        "context_id": state.context_id,
        "audit_id": audit_id,
        "request_id": state.request_id,
        "decision": state.outcome(),
    }}


def cards_html(state: CallState, fmt: str, self_approved: bool, *, approval: bool = True,
               tagged: bool = True) -> str:
    """Decision, approval (unless the live panel draws it), response and audit cards."""
    parts = [decision_html(state, tagged=tagged)]
    if approval and state.approval_req is not None:
        parts.append(approval_html(state, self_approved=self_approved, tagged=tagged))
    if response_visible(state):
        parts.append(response_html(state, fmt, tagged=tagged))
    if audit_visible(state):
        parts.append(audit_html(state, tagged=tagged))
    if spend_visible(state):
        parts.append(spend_html(state, tagged=tagged))
    return "".join(parts)


def cards_markdown(state: CallState, fmt: str, self_approved: bool) -> str:
    parts = [decision_markdown(state)]
    if state.approval_req is not None:
        parts.append(approval_markdown(state, self_approved))
    if response_visible(state):
        parts.append(response_markdown(state, fmt))
    if audit_visible(state):
        parts.append(audit_markdown(state))
    if spend_visible(state):
        parts.append(spend_markdown(state))
    return "\n\n".join(p for p in parts if p)


def one_line(state: CallState, self_approved: bool = False) -> str:
    bits = [f"AxonFlow: {decision_line(state)}"]
    if state.shows_simulated:
        bits[0] += " [simulated]"
    if state.approval_req is not None:
        bits.append(approval_line(state, self_approved))
    problem = response_line(state)
    if problem:
        bits.append(problem)
    spent = spend_line(state)
    if spent:
        bits.append(spent)
    audit_id = state.audit.audit_id if state.audit and state.audit.audit_id else None
    bits.append(f"audit {audit_id}" if audit_id else "no audit id")
    return short(" · ".join(bits), 600)  # one clean line: no newlines, no bidi overrides


def call_summary(state: CallState, result: Any = None, *, fmt: str = "markdown",
                 self_approved: bool = False) -> Rich:
    html = (f'<div class="axonflow-summary {NO_MATH}" style="{FONT};max-width:{MAX_WIDTH}">'
            f"{cards_html(state, fmt, self_approved)}</div>")
    return Rich(html, cards_markdown(state, fmt, self_approved), one_line(state, self_approved),
                metadata(state, result))


def row_title(index: int, state: CallState) -> str:
    """`3. blocked — gpt-4o-mini — the prompt as sent…` (one line)."""
    prompt, _ = state.sent_prompt
    sim = " [simulated]" if state.shows_simulated else ""
    return short(f"{index}. {state.outcome().replace('_', ' ')} — {state.model or '?'}{sim} — "
                 f"{short(prompt, 60)}", 200)


def code_cell_summary(states: Sequence[CallState], results: Sequence[Any],
                      fmt: str = "markdown") -> Rich:
    """One row per governed LiteLLM call, each expandable (`<details>`, no JS) into its cards."""
    outcomes = [s.outcome() for s in states]
    counts = {o: outcomes.count(o) for o in dict.fromkeys(outcomes)}
    head = f"{len(states)} governed LiteLLM call{'s' if len(states) != 1 else ''}"
    if counts:
        head += ": " + ", ".join(f"{n} {o.replace('_', ' ')}" for o, n in counts.items())
    rows_html, rows_md = [], []
    for i, state in enumerate(states, 1):
        tone = OUTCOME_TONES.get(state.outcome(), "mute")
        rows_html.append(
            f'<details style="margin:2px 0"><summary style="cursor:pointer">'
            f"{esc(row_title(i, state))}{badge(state.outcome().replace('_', ' '), tone)}"
            f"</summary>{cards_html(state, fmt, False)}</details>")
        rows_md.append(f"{i}. {md_esc(one_line(state))}")
    html = (f'<div class="axonflow-summary axonflow-code-summary {NO_MATH}" '
            f'style="{FONT};max-width:{MAX_WIDTH}">'
            f'<div style="font-weight:600;margin:2px 0">{esc(head)}</div>{"".join(rows_html)}</div>')
    md = f"**AxonFlow — {md_esc(head)}**\n\n" + "\n".join(rows_md)
    calls = [metadata(s, r)["axonflow"] for s, r in zip(states, list(results) + [None] * len(states))]
    return Rich(html, md, f"AxonFlow — {head}", {"axonflow": {"calls": calls}})


def compact_row(result: Any, *, prompt: str, model: str) -> Rich:
    """One line for one call (loops of `%governed`): outcome, model, prompt, answer or why not."""
    state = state_from_result(result, prompt=prompt, model=model)
    outcome = state.outcome()
    sent, _ = state.sent_prompt
    detail = short(state.answer, 100) if state.answer and outcome not in ("failed",) else \
        short(state.reason() or response_line(state) or "", 100)
    audit_id = getattr(result, "audit_id", None) or (state.audit.audit_id if state.audit else None)
    sim = " [simulated]" if state.shows_simulated else ""
    plain = short(f"AxonFlow: {outcome.replace('_', ' ')} · {model}{sim} · {short(sent, 60)}"
                  + (f" → {detail}" if detail else "") + (f" · audit {audit_id}" if audit_id else ""),
                  400)
    tone = OUTCOME_TONES.get(outcome, "mute")
    html = (f'<div class="axonflow-row {NO_MATH}" style="{FONT};max-width:{MAX_WIDTH};'
            f'white-space:nowrap;overflow:hidden;text-overflow:ellipsis" title="{esc(plain)}">'
            f"{badge(outcome.replace('_', ' '), tone)} {esc(model)}{esc(sim)} · "
            f'<span style="color:{FG2}">{esc(short(sent, 60))}</span>'
            + (f" → {esc(detail)}" if detail else "") + "</div>")
    return Rich(html, md_esc(plain), plain, metadata(state, result))


__all__ = ["state_from_result", "metadata", "cards_html", "cards_markdown", "one_line",
           "call_summary", "code_cell_summary", "compact_row", "row_title", "OUTCOME_TONES"]
