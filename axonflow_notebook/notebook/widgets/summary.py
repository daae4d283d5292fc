"""Static summaries that replace a live view when its call ends (saved notebooks, nbviewer, GitHub).

Self-contained `text/html` (inline CSS, no JS), `text/markdown` and a one-line `text/plain`, plus
ids in the output metadata — never a prompt, secret or user token there.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ..render import FONT, Rich, badge, esc, md_esc, short
from .approval import approval_html, approval_line, approval_markdown
from .audit import audit_html, audit_markdown
from .audit import visible as audit_visible
from .decision import decision_html, decision_line, decision_markdown
from .response import response_html, response_line, response_markdown
from .response import visible as response_visible
from .state import CallState


def state_from_result(result: Any, *, prompt: str = "", model: str = "", backend: str = "",
                      simulated: bool = False, fallback_events: Sequence[Any] = (),
                      cancelled: Optional[str] = None) -> CallState:
    """Fold a GovernedResult's events (or the view's own, if the result has none) into a state."""
    events = list(getattr(result, "events", None) or fallback_events)
    state = CallState.replay(events, prompt=prompt, model=model, backend=backend,
                             simulated=simulated)
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


def cards_html(state: CallState, fmt: str, self_approved: bool) -> str:
    parts = [decision_html(state)]
    if state.approval_req is not None:
        parts.append(approval_html(state, self_approved=self_approved))
    if response_visible(state):
        parts.append(response_html(state, fmt))
    if audit_visible(state):
        parts.append(audit_html(state))
    return "".join(parts)


def cards_markdown(state: CallState, fmt: str, self_approved: bool) -> str:
    parts = [decision_markdown(state)]
    if state.approval_req is not None:
        parts.append(approval_markdown(state, self_approved))
    if response_visible(state):
        parts.append(response_markdown(state, fmt))
    if audit_visible(state):
        parts.append(audit_markdown(state))
    return "\n\n".join(p for p in parts if p)


def one_line(state: CallState, self_approved: bool = False) -> str:
    bits = [f"AxonFlow: {decision_line(state)}"]
    if state.simulated:
        bits[0] += " [simulated]"
    if state.approval_req is not None:
        bits.append(approval_line(state, self_approved))
    problem = response_line(state)
    if problem:
        bits.append(problem)
    audit_id = state.audit.audit_id if state.audit and state.audit.audit_id else None
    bits.append(f"audit {audit_id}" if audit_id else "no audit id")
    return short(" · ".join(bits), 600)  # one clean line: no newlines, no bidi overrides


def call_summary(state: CallState, result: Any = None, *, fmt: str = "markdown",
                 self_approved: bool = False) -> Rich:
    html_ = (f'<div class="axonflow-summary" style="{FONT};max-width:900px">'
             f"{cards_html(state, fmt, self_approved)}</div>")
    return Rich(html_, cards_markdown(state, fmt, self_approved), one_line(state, self_approved),
                metadata(state, result))


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
        line = one_line(state)
        sim = badge("simulated", "warn") if state.simulated else ""
        rows_html.append(
            f'<details style="margin:2px 0"><summary style="cursor:pointer">{i}. '
            f"{esc(state.outcome().replace('_', ' '))} — {esc(state.model or '?')} — "
            f"{esc(short(state.prompt, 80))}{sim}</summary>{cards_html(state, fmt, False)}"
            f"</details>")
        rows_md.append(f"{i}. {md_esc(line)}")
    html_ = (f'<div class="axonflow-summary axonflow-code-summary" style="{FONT};max-width:900px">'
             f'<div style="font-weight:600;margin:2px 0">{esc(head)}</div>{"".join(rows_html)}</div>')
    md = f"**AxonFlow — {md_esc(head)}**\n\n" + "\n".join(rows_md)
    calls = [metadata(s, r)["axonflow"] for s, r in zip(states, list(results) + [None] * len(states))]
    return Rich(html_, md, f"AxonFlow — {head}", {"axonflow": {"calls": calls}})
