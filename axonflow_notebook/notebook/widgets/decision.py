"""Decision card: what the policy pre-check said, or that it was skipped (fail-open, in amber)."""

from __future__ import annotations

from ..render import badge, card, esc, fmt_ms, kv_table, md_esc, short
from .state import CallState

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


def skip_text(s) -> str:
    reason = SKIP_REASONS.get(s.reason, s.reason)
    return f"{s.stage.replace('_', '-')}: {reason}" + (f" ({s.detail})" if s.detail else "")


def _rows(state: CallState) -> list[tuple[str, str]]:
    """(label, plain text) rows; each renderer escapes them its own way."""
    d = state.decision
    rows: list[tuple[str, str]] = []
    if state.prompt:
        rows.append(("Prompt", short(state.prompt, 200)))
    if d is not None and d.policies:
        rows.append(("Policies", ", ".join(d.policies)))
    if d is not None and d.block_reason:
        rows.append(("Reason", d.block_reason))
    r = state.redaction
    if r is not None:
        what = "sent redacted text to the model" if r.applied else "redaction required, not applied"
        rows.append(("Redaction", what + (f" — {r.note}" if r.note else "")))
    for s in state.skipped:
        rows.append(("Skipped", skip_text(s)))
    if state.context_id:
        rows.append(("Context id", state.context_id))
    if d is not None:
        rows.append(("Decision latency", fmt_ms(d.latency_ms)))
    if state.backend:
        rows.append(("Backend", state.backend))
    if state.model:
        rows.append(("Model", state.model))
    return rows


def title(state: CallState) -> tuple[str, str]:
    kind = state.decision_kind()
    text, tone = TITLES[kind]
    if kind == "needs_approval" and state.approval is not None:
        status = state.approval.status
        tone = "ok" if status == "approved" else ("mute" if status == "cancelled" else "bad")
        text = f"{text} — {status.replace('timeout', 'timed out')}"
    return text, tone


def decision_html(state: CallState, *, tagged: bool = True) -> str:
    text, tone = title(state)
    badges = [badge("simulated", "warn")] if state.simulated else []
    if any(s.fail_open for s in state.skipped) and state.decision_kind() != "skipped":
        badges.append(badge("fail-open", "warn"))
    return card("decision", text, kv_table((k, esc(v)) for k, v in _rows(state)),
                tone=tone, badges=badges, tagged=tagged)


def decision_markdown(state: CallState) -> str:
    text, _ = title(state)
    head = f"**AxonFlow: {text}**" + (" `simulated`" if state.simulated else "")
    rows = "\n".join(f"- {k}: {md_esc(v)}" for k, v in _rows(state))
    return f"{head}\n\n{rows}"


def decision_line(state: CallState) -> str:
    text, _ = title(state)
    d = state.decision
    extra = ""
    if d is not None and d.policies:
        extra += f" [{', '.join(d.policies)}]"
    if d is not None and d.block_reason:
        extra += f": {short(d.block_reason, 120)}"
    if state.decision_kind() in ("skipped", "refused"):
        s = state.skipped_at("pre_check")
        extra += f" ({SKIP_REASONS.get(s.reason, s.reason)})" if s else ""
    return text + extra
