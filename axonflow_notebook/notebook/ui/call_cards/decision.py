"""Decision card: what the policy pre-check said, or that it was skipped (fail-open, in amber)."""

from __future__ import annotations

from typing import Any

from ..escape import esc, short
from ..format import fmt_ms
from ..html import badge, card, kv_table
from ..state import CallState
from ..tables import md_rows

TITLES = {
    "pending": ("Checking policies…", "mute"),
    "allowed": ("Allowed", "ok"),
    "allowed_with_warnings": ("Allowed with warnings", "warn"),
    "redacted": ("Allowed — redacted", "redact"),
    "blocked": ("Blocked", "bad"),
    "needs_approval": ("Needs approval", "info"),
    "skipped": ("Governance skipped — fail-open", "warn"),
    "refused": ("AxonFlow unavailable — fail-closed, call refused", "bad"),
}

SKIP_REASONS = {
    "breaker_open": "circuit breaker open",
    "timeout": "AxonFlow timed out",
    "unreachable": "AxonFlow unreachable",
    "server_error": "AxonFlow server error",
    "bad_response": "unreadable AxonFlow response",
}


def skip_text(s: Any) -> str:
    reason = SKIP_REASONS.get(s.reason, s.reason)
    return f"{s.stage.replace('_', '-')}: {reason}" + (f" ({s.detail})" if s.detail else "")


def rows(state: CallState) -> list[tuple[str, str]]:
    """(label, plain text) rows; each renderer escapes them its own way."""
    d = state.decision
    out: list[tuple[str, str]] = []
    prompt, redacted = state.sent_prompt
    if prompt:
        out.append(("Prompt (redacted, as sent)" if redacted else "Prompt", short(prompt, 200)))
    if d is not None and d.policies:
        out.append(("Policies", ", ".join(d.policies)))
    reason = state.reason()
    if reason:
        out.append(("Reason", reason))
    r = state.redaction
    if r is not None:
        what = "sent redacted text to the model" if r.applied else "redaction required, not applied"
        out.append(("Redaction", what + (f" — {r.note}" if r.note else "")))
    for s in state.skipped:
        out.append(("Skipped", skip_text(s)))
    if state.context_id:
        out.append(("Context id", state.context_id))
    if d is not None:
        out.append(("Decision latency", fmt_ms(d.latency_ms)))
    if state.backend:
        out.append(("Backend", state.backend))
    if state.model:
        out.append(("Model", state.model))
    return out


def title(state: CallState) -> tuple[str, str]:
    kind = state.decision_kind()
    text, tone = TITLES[kind]
    if kind == "pending" and state.phase:
        text = f"Starting — {state.phase}"
    if kind == "needs_approval" and state.approval is not None:
        status = state.approval.status
        tone = "ok" if status == "approved" else ("mute" if status == "cancelled" else "bad")
        text = f"{text} — {status.replace('timeout', 'timed out')}"
    return text, tone


def decision_html(state: CallState, *, tagged: bool = True) -> str:
    text, tone = title(state)
    badges = [badge("simulated", "warn")] if state.shows_simulated else []
    if state.redaction is not None and state.redaction.applied:
        badges.append(badge("redacted", "redact"))
    if any(s.fail_open for s in state.skipped) and state.decision_kind() != "skipped":
        badges.append(badge("fail-open", "warn"))
    return card("decision", text, kv_table((k, esc(v)) for k, v in rows(state)),
                tone=tone, badges=badges, tagged=tagged)


def decision_markdown(state: CallState) -> str:
    text, _ = title(state)
    head = f"**AxonFlow: {text}**" + (" `simulated`" if state.shows_simulated else "")
    return f"{head}\n\n{md_rows(rows(state))}"


def decision_line(state: CallState) -> str:
    text, _ = title(state)
    d = state.decision
    extra = ""
    if d is not None and d.policies:
        extra += f" [{', '.join(d.policies)}]"
    reason = state.reason()
    if reason:
        extra += f": {short(reason, 120)}"
    if state.decision_kind() in ("skipped", "refused"):
        s = state.skipped_at("pre_check")
        extra += f" ({SKIP_REASONS.get(s.reason, s.reason)})" if s else ""
    return text + extra
