"""CallView: one governed call's live card, built only from core events.

Events may come from any thread; they are folded into a `CallState` under a lock, and the card's
synced state is redrawn through the process's one coalescer (≤ 10 redraws a second, stage-ending
events at once). The card itself is one anywidget model, created on first use of `.widget` (a
terminal never creates it); the browser ticks the approval countdown and sends Approve / Reject
as messages carrying the reviewer's comment. When the call ends, `summary(result)` is the static
object that replaces the card, and `close()` closes every widget model the card created.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional, Protocol

from ...core.events import ApprovalRequested, DecisionMade
from .call_cards.approval import (
    DEV_MODE,
    WHERE_TO_APPROVE,
    head_rows,
    status_word,
    tail_rows,
    tone_of,
    waited,
)
from .call_cards.audit_record import audit_html
from .call_cards.audit_record import visible as audit_visible
from .call_cards.decision import decision_html
from .call_cards.response import FORMATS, response_html
from .call_cards.response import visible as response_visible
from .call_cards.spend import spend_payload
from .coalesce import coalescer
from .escape import clean_text
from .format import fmt_seconds, fmt_time
from .rich import Rich
from .state import IMMEDIATE, CallState
from .summary import OUTCOME_TONES, call_summary, row_title, state_from_result

log = logging.getLogger(__name__)
COMMENT_MAX = 4000  # the browser's textarea has the same maxlength (static/common.js)


class ApprovalActions(Protocol):
    """What Approve / Reject do; `can_decide` False shows the buttons disabled with the reason."""

    can_decide: bool
    disabled_reason: Optional[str]
    decider_label: str

    def approve(self, request_id: str, comment: str) -> None: ...

    def reject(self, request_id: str, comment: str) -> None: ...


class CardHost(Protocol):
    """Who draws a view's card: the view itself, or the code cell that holds it as a row."""

    def redraw(self) -> None: ...


class CallView:
    """One governed call: decision, approval, response and audit, updated from events."""

    def __init__(self, *, prompt: str, model: str, backend: str, simulated: bool,
                 actions: Optional[ApprovalActions], fmt: str = "markdown",
                 describe_policy: Optional[Callable[[str], Optional[str]]] = None,
                 host: Optional[CardHost] = None) -> None:
        self.fmt = fmt if fmt in FORMATS else "markdown"
        self._info = dict(prompt=prompt, model=model, backend=backend, simulated=simulated)
        self._state = CallState(**self._info)
        self._events: list[Any] = []
        self._lock = threading.RLock()
        self._actions = actions
        self._describe = describe_policy
        self._host = host
        self._clicked: Optional[str] = None
        self._seq = 0
        self._card: Any = None
        self._display: Any = None
        self._final = False

    # -- the widget ---------------------------------------------------------------------------
    @property
    def widget(self) -> Any:
        """The live card (created on first use); display it with `display_id=True`."""
        if self._host is not None:
            raise AttributeError("a call inside a code cell is drawn by its CodeCellView")
        with self._lock:
            if self._card is None:
                from .live_widget import CallCard

                self._card = CallCard(kind="call", fallback=self.fallback,
                                      on_message=self._message, calls=[self.payload()])
            return self._card

    def bind_display(self, handle: Any) -> None:
        """The display showing `.widget`: its static fallback is kept current through it."""
        self._display = handle

    @property
    def state(self) -> CallState:
        return self._state

    # -- input --------------------------------------------------------------------------------
    def handle(self, event: Any) -> None:
        """Fold one core event in; safe from any thread."""
        descriptions = self._descriptions(event)
        with self._lock:
            self._events.append(event)
            self._state.descriptions.update(descriptions)
            self._state.apply(event)
        self._request(now=isinstance(event, IMMEDIATE))
        if isinstance(event, ApprovalRequested):
            self._republish()

    def starting(self, text: str) -> None:
        """A phase line shown before the first event (e.g. "loading LiteLLM…")."""
        with self._lock:
            self._state.phase = text
        self._request(now=True)

    def cancelled(self, why: str) -> None:
        with self._lock:
            self._state.cancelled = why or "cancelled"
        self._request(now=True)

    def flush(self) -> None:
        """Push any coalesced update now (tests, and callers about to read the card)."""
        coalescer().flush(self._target())

    def close(self) -> None:
        """Close every widget model the card created (after the summary replaced it)."""
        with self._lock:
            self._final = True
            card = self._card
        coalescer().forget(self)
        if card is not None:
            card.close()  # its traits stay readable; nothing is drawn or sent any more

    # -- output -------------------------------------------------------------------------------
    def summary(self, result: Any) -> Rich:
        """The static object (HTML, Markdown, text + metadata ids) that replaces the card."""
        with self._lock:
            self._final = True  # no fallback republished after this: the summary must win
            state = state_from_result(result, **self._info, fallback_events=list(self._events),
                                      cancelled=self._state.cancelled,
                                      descriptions=self._state.descriptions)
            return call_summary(state, result, fmt=self.fmt, self_approved=self.self_approved)

    def fallback(self) -> Rich:
        """The card's current state as a static bundle (shown where the widget cannot be)."""
        with self._lock:
            return call_summary(self._state, None, fmt=self.fmt, self_approved=self.self_approved)

    @property
    def self_approved(self) -> bool:
        label = getattr(self._actions, "decider_label", "") or ""
        return self._clicked == "approve" and DEV_MODE in label

    # -- drawing ------------------------------------------------------------------------------
    def payload(self, index: int = 1) -> dict:
        """This call's synced state for the browser (static parts as escaped HTML)."""
        with self._lock:
            self._seq += 1
            state = self._state
            bottom = []
            if response_visible(state):
                bottom.append(response_html(state, self.fmt))
            if audit_visible(state):
                bottom.append(audit_html(state))
            outcome = state.outcome()
            return {
                "key": str(id(self)),
                "title": row_title(index, state),
                "outcome_word": outcome.replace("_", " "),
                "tone": OUTCOME_TONES.get(outcome, "mute"),
                "html_top": decision_html(state),
                "html_bottom": "".join(bottom),
                "approval": self._approval_payload() if state.approval_req is not None else None,
                "spend": spend_payload(state),  # drawn by static/call_card.js (spendView)
            }

    def _approval_payload(self) -> dict:
        state, actions = self._state, self._actions
        req = state.approval_req
        elapsed, remaining = state.approval_times()
        if actions is None:
            mode, note = "none", WHERE_TO_APPROVE
        elif not getattr(actions, "can_decide", False):
            mode, note = "disabled", getattr(actions, "disabled_reason", None) or WHERE_TO_APPROVE
        else:
            mode, note = "buttons", ""
        if self._clicked is not None and state.approval_pending:
            verb = "Approval" if self._clicked == "approve" else "Rejection"
            who = getattr(actions, "decider_label", "") or "you"
            note = f"{verb} sent as {who} — waiting for AxonFlow to confirm…"
        return {
            "request_id": state.request_id or "",
            "title": clean_text(f"Human approval — {status_word(state)}"),
            "tone": tone_of(state),
            "head": [[clean_text(k), clean_text(v)] for k, v in head_rows(state)],
            "tail": [[clean_text(k), clean_text(v)] for k, v in tail_rows(state, self.self_approved)],
            "pending": state.approval_pending,
            "elapsed_s": elapsed,
            "remaining_s": remaining,
            "waited": fmt_seconds(waited(state)),
            # a snapshot (a saved notebook, no kernel) shows when, not how long ago
            "requested_at": fmt_time(req.at) if req is not None else "—",
            "waits_until": fmt_time(req.at + req.deadline_s) if req is not None else "—",
            "actions": mode,
            "note": clean_text(note) if state.approval_pending else "",
            "clicked": self._clicked or "",
            "seq": self._seq,
        }

    def redraw(self) -> None:
        """Push the state into the card's synced traits (the coalescer decides when)."""
        with self._lock:
            if self._card is None or self._final:
                return
            self._card.calls = [self.payload()]

    def _target(self) -> Any:
        return self._host if self._host is not None else self

    def _request(self, *, now: bool) -> None:
        coalescer().request(self._target(), now=now)

    def _republish(self) -> None:
        """Refresh the display's static fallback (a held cell saved while it waits says so)."""
        host_republish = getattr(self._host, "republish", None)
        if host_republish is not None:
            host_republish()
            return
        with self._lock:
            if self._display is None or self._card is None or self._final:
                return
            try:
                self._display.update(self._card)
            except Exception:  # the fallback is a courtesy; the live card is already current
                log.debug("AxonFlow: could not refresh the card's static fallback", exc_info=True)

    def _descriptions(self, event: Any) -> dict:
        if self._describe is None or not isinstance(event, DecisionMade) \
                or event.status not in ("blocked", "needs_approval"):
            return {}
        found = {}
        for policy in event.policies:
            try:
                text = self._describe(policy)
            except Exception:  # a missing description must not break the card
                text = None
            if text:
                found[policy] = str(text)
        return found

    # -- clicks -------------------------------------------------------------------------------
    def _message(self, content: dict) -> None:
        if content.get("type") == "decide":
            self.decide(content.get("action"), content.get("request_id"), content.get("comment"))

    def decide(self, action: Any, request_id: Any, comment: Any) -> bool:
        """Approve / Reject from the card: the first valid click wins, later ones do nothing."""
        if action not in ("approve", "reject") or not isinstance(request_id, str):
            return False
        text = comment if isinstance(comment, str) else ""
        with self._lock:
            actions = self._actions
            if self._clicked is not None or actions is None \
                    or not getattr(actions, "can_decide", False) \
                    or not self._state.approval_pending or request_id != self._state.request_id:
                return False
            self._clicked = action
        getattr(actions, action)(request_id, text[:COMMENT_MAX])
        self._request(now=True)
        return True


__all__ = ["ApprovalActions", "CallView"]
