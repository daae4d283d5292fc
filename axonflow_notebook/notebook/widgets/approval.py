"""Approval panel: a held request's live progress, Approve / Reject, and who decided.

Clicks may arrive on a subshell thread and twice (double click, two frontends): the first one
disables the controls under a lock and calls `actions` exactly once; later ones do nothing.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

import ipywidgets as W

from ..render import badge, card, esc, fmt_seconds, fmt_time, kv_table, md_esc, parse_time
from .state import CallState

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


def _rows(state: CallState, now: Optional[float], self_approved: bool) -> list[tuple[str, str]]:
    req, prog, dec = state.approval_req, state.progress, state.approval
    status = status_of(state)
    rows = [("Request id", state.request_id or "—")]
    if req is not None and req.policy:
        rows.append(("Policy", req.policy))
    elif state.decision is not None and state.decision.policies:
        rows.append(("Policy", ", ".join(state.decision.policies)))
    if req is not None and req.severity:
        rows.append(("Severity", req.severity))
    rows.append(("Status", STATUS_WORDS.get(status, status)))
    elapsed, remaining = state.approval_times(now)
    if state.approval_pending:
        rows.append(("Elapsed", fmt_seconds(elapsed)))
        rows.append(("Remaining", fmt_seconds(remaining)))
    else:
        rows.append(("Waited", fmt_seconds(elapsed if dec is None else _waited(state, dec))))
    if prog is not None:
        rows.append(("Polls", str(prog.polls)))
    if req is not None and req.expires_at:
        rows.append(("Expires", fmt_time(req.expires_at)))
    if dec is not None and dec.status in ("approved", "rejected"):
        who = dec.reviewer or "a reviewer"
        line = f"{dec.status} by {who}"
        if dec.decided_at:
            line += f" at {fmt_time(dec.decided_at)}"
        if self_approved:
            line += " (self-approved, development mode)"
        rows.append(("Decided", line))
    if dec is not None and dec.comment:
        rows.append(("Comment", dec.comment))
    if state.cancelled is not None and dec is None:
        rows.append(("Cancelled", state.cancelled))
    return rows


def _waited(state: CallState, dec: Any) -> float:
    start = state.approval_req.at if state.approval_req is not None else dec.at
    end = parse_time(dec.decided_at) or dec.at
    return max(0.0, end - start)


def approval_html(state: CallState, *, now: Optional[float] = None, self_approved: bool = False,
                  tagged: bool = True) -> str:
    status = status_of(state)
    title = "Human approval — " + STATUS_WORDS.get(status, status)
    tone = STATUS_TONES.get(status, "info")
    badges = [badge("live", "info")] if state.approval_pending else []
    skipped = state.skipped_at("approval")
    if skipped is not None:
        badges.append(badge("fail-open", "warn"))
    body = kv_table((k, esc(v)) for k, v in _rows(state, now, self_approved))
    # Static copies must not carry `axonflow-approval`: that class marks the *live* panel.
    return card("approval-record", title, body, tone=tone, badges=badges, tagged=tagged)


def approval_markdown(state: CallState, self_approved: bool = False) -> str:
    status = status_of(state)
    rows = "\n".join(f"- {k}: {md_esc(v)}" for k, v in _rows(state, None, self_approved))
    return f"**Human approval — {STATUS_WORDS.get(status, status)}**\n\n{rows}"


def approval_line(state: CallState, self_approved: bool = False) -> str:
    status = STATUS_WORDS.get(status_of(state), status_of(state))
    dec = state.approval
    who = f" by {dec.reviewer}" if dec is not None and dec.reviewer else ""
    dev = " (self-approved, development mode)" if self_approved else ""
    return f"approval {state.request_id or ''}: {status}{who}{dev}".replace("  ", " ")


class ApprovalPanel:
    """Live panel: info HTML, optional comment, Approve / Reject, a note line."""

    def __init__(self, actions: Any, on_click: Callable[[], None]) -> None:
        self._actions = actions
        self._on_click = on_click
        self._lock = threading.Lock()
        self.clicked: Optional[str] = None  # "approve" | "reject" once a button was pressed
        self.info = W.HTML()
        self.comment = W.Textarea(placeholder="Comment (optional)", rows=2,
                                  layout=W.Layout(width="100%", max_width="640px"))
        self.approve_button = W.Button(description="Approve", button_style="success", icon="check")
        self.reject_button = W.Button(description="Reject", button_style="danger", icon="times")
        self.approve_button.add_class("axonflow-approve")
        self.reject_button.add_class("axonflow-reject")
        self.approve_button.on_click(lambda _b: self.click("approve"))
        self.reject_button.on_click(lambda _b: self.click("reject"))
        self.buttons = W.HBox([self.approve_button, self.reject_button])
        self.note = W.HTML()
        self.widget = W.VBox([self.info, self.comment, self.buttons, self.note],
                             layout=W.Layout(display="none"))
        self.widget.add_class("axonflow-approval")
        self._request_id: Optional[str] = None
        if actions is None:
            self.comment.layout.display = "none"
            self.buttons.layout.display = "none"
            self.note.value = _note(WHERE_TO_APPROVE)
        elif not getattr(actions, "can_decide", False):
            self._disable()
            reason = getattr(actions, "disabled_reason", None) or WHERE_TO_APPROVE
            self.note.value = _note(reason)

    @property
    def self_approved(self) -> bool:
        label = getattr(self._actions, "decider_label", "") or ""
        return self.clicked is not None and DEV_MODE in label

    def click(self, action: str) -> None:
        """First click wins: disable, then hand the decision to `actions` (never twice)."""
        with self._lock:
            if self.clicked is not None or self._request_id is None or self._actions is None \
                    or not getattr(self._actions, "can_decide", False):
                return
            self.clicked = action
            request_id = self._request_id
            comment = self.comment.value
        with self.widget.hold_sync():
            self._disable()
            self.note.value = _note(f"{'Approval' if action == 'approve' else 'Rejection'} sent as "
                                    f"{getattr(self._actions, 'decider_label', '') or 'you'} — "
                                    "waiting for AxonFlow to confirm…")
        getattr(self._actions, action)(request_id, comment)
        self._on_click()

    def _disable(self) -> None:
        self.approve_button.disabled = True
        self.reject_button.disabled = True
        self.comment.disabled = True

    def render(self, state: CallState, now: float) -> None:
        """Push the state into traits (the caller holds hold_sync and the throttle)."""
        if state.approval_req is None:
            return
        with self._lock:
            self._request_id = state.request_id
        self.widget.layout.display = "flex"
        self.info.value = approval_html(state, now=now, self_approved=self.self_approved,
                                        tagged=False)
        if not state.approval_pending:
            self._disable()
            self.comment.layout.display = "none"
            self.buttons.layout.display = "none"
            self.note.value = ""


def _note(text: str) -> str:
    return (f'<div style="font-size:0.9em;color:var(--jp-ui-font-color2,#616161);'
            f'margin:2px 0 4px">{esc(text)}</div>')
