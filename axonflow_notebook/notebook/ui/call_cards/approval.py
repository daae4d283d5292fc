"""Approval card: a held request's status, timing, and who decided (static form).

The live panel (countdown ticking in the browser, Approve / Reject) is drawn by the card's ES
module from `approval_payload`, built from the same rows.
"""

from __future__ import annotations

from ..escape import esc
from ..format import fmt_seconds, fmt_time, parse_time
from ..html import badge, card, kv_table
from ..state import CallState
from ..tables import md_rows

WHERE_TO_APPROVE = "Approve in the reviewer queue (%axonflow queue) or AxonFlow's console."
DEV_MODE = "development mode"

STATUS_TONES = {
    "pending": "info", "approved": "ok", "rejected": "bad", "expired": "warn", "timeout": "warn",
    "cancelled": "mute", "error": "bad", "overridden": "warn", "skipped": "warn",
}
STATUS_WORDS = {"timeout": "timed out", "expired": "expired (server)", "overridden": "overridden",
                "skipped": "skipped (fail-open)"}


def status_of(state: CallState) -> str:
    if state.approval is not None:
        return state.approval.status
    if state.cancelled is not None:
        return "cancelled"
    if state.skipped_at("approval") is not None:
        return "skipped"
    if state.failed is not None:
        return "error"
    return state.progress.status if state.progress is not None else "pending"


def status_word(state: CallState) -> str:
    status = status_of(state)
    return STATUS_WORDS.get(status, status)


def head_rows(state: CallState) -> list[tuple[str, str]]:
    """Request id, policy, severity and status: the rows above the timing."""
    req = state.approval_req
    out = [("Request id", state.request_id or "—")]
    if req is not None and req.policy:
        out.append(("Policy", req.policy))
    elif state.decision is not None and state.decision.policies:
        out.append(("Policy", ", ".join(state.decision.policies)))
    if req is not None and req.severity:
        out.append(("Severity", req.severity))
    out.append(("Status", status_word(state)))
    return out


def tail_rows(state: CallState, self_approved: bool = False) -> list[tuple[str, str]]:
    """Polls, expiry, who decided, the comment, a cancellation: the rows below the timing."""
    req, prog, dec = state.approval_req, state.progress, state.approval
    out: list[tuple[str, str]] = []
    if prog is not None:
        out.append(("Polls", str(prog.polls)))
    if req is not None and req.expires_at:
        out.append(("Expires", fmt_time(req.expires_at)))
    if dec is not None and dec.status in ("approved", "rejected"):
        line = f"{dec.status} by {dec.reviewer or 'a reviewer'}"
        if dec.decided_at:
            line += f" at {fmt_time(dec.decided_at)}"
        if self_approved and DEV_MODE not in line:  # the dev-mode reviewer id says it already
            line += " (self-approved, development mode)"
        out.append(("Decided", line))
    if dec is not None and dec.comment:
        out.append(("Comment", dec.comment))
    if state.cancelled is not None and dec is None:
        out.append(("Cancelled", state.cancelled))
    return out


def waited(state: CallState) -> float:
    dec = state.approval
    if dec is None:
        return state.approval_times()[0]
    start = state.approval_req.at if state.approval_req is not None else dec.at
    end = parse_time(dec.decided_at) or dec.at
    return max(0.0, end - start)


def rows(state: CallState, self_approved: bool) -> list[tuple[str, str]]:
    req = state.approval_req
    if state.approval_pending and req is not None:
        # Only a snapshot shows a pending request statically (a notebook saved while it
        # waited): times stay true whenever it is read, a countdown would not.
        timing = [("Requested", fmt_time(req.at)), ("Waits until", fmt_time(req.at + req.deadline_s))]
    else:
        timing = [("Waited", fmt_seconds(waited(state)))]
    return head_rows(state) + timing + tail_rows(state, self_approved)


def approval_html(state: CallState, *, self_approved: bool = False, tagged: bool = True) -> str:
    status = status_of(state)
    title = "Human approval — " + STATUS_WORDS.get(status, status)
    badges = []
    if state.skipped_at("approval") is not None:
        badges.append(badge("fail-open", "warn"))
    body = kv_table((k, esc(v)) for k, v in rows(state, self_approved))
    # `approval-record`, not `approval`: that class marks the *live* panel.
    return card("approval-record", title, body, tone=STATUS_TONES.get(status, "info"),
                badges=badges, tagged=tagged)


def approval_markdown(state: CallState, self_approved: bool = False) -> str:
    return f"**Human approval — {status_word(state)}**\n\n{md_rows(rows(state, self_approved))}"


def approval_line(state: CallState, self_approved: bool = False) -> str:
    dec = state.approval
    who = f" by {dec.reviewer}" if dec is not None and dec.reviewer else ""
    dev = " (self-approved, development mode)" if self_approved and DEV_MODE not in who else ""
    return f"approval {state.request_id or ''}: {status_word(state)}{who}{dev}".replace("  ", " ")


def tone_of(state: CallState) -> str:
    return STATUS_TONES.get(status_of(state), "info")


__all__ = ["WHERE_TO_APPROVE", "DEV_MODE", "status_of", "status_word", "head_rows", "tail_rows",
           "approval_html", "approval_markdown", "approval_line", "tone_of"]
