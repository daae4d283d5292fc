"""Live views of governed calls, built only from core events.

`CallView` is one call's cards in a VBox; `CodeCellView` is a `%%governed --code` cell, one
compact row per LiteLLM call that expands into that call's cards. Events may come from any thread;
state is folded under a lock and pushed into widget traits by a `Throttle` (≤ N updates/s,
coalesced), with stage-ending events flushed at once. When a call ends the caller replaces the
live view with `summary(result)`, a static rich object that needs no widget state.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Optional, Protocol

import ipywidgets as W

from ..core.events import ApprovalRequested
from .render import FONT, clean_text, esc
from .throttle import Throttle
from .widgets.approval import ApprovalPanel
from .widgets.audit import audit_html
from .widgets.audit import visible as audit_visible
from .widgets.decision import decision_html
from .widgets.response import FORMATS, response_html
from .widgets.response import visible as response_visible
from .widgets.state import IMMEDIATE, CallState
from .widgets.summary import call_summary, code_cell_summary, state_from_result

__all__ = ["ApprovalActions", "CallView", "CodeCellView"]

TICK_S = 1.0  # the approval countdown moves once a second between events


class ApprovalActions(Protocol):
    can_decide: bool
    disabled_reason: Optional[str]
    decider_label: str

    def approve(self, request_id: str, comment: str) -> None: ...

    def reject(self, request_id: str, comment: str) -> None: ...


def _show(widget: W.DOMWidget, shown: bool) -> None:
    widget.layout.display = None if shown else "none"


class CallView:
    """One governed call: decision, approval, response and audit cards, updated from events."""

    def __init__(self, *, prompt: str, model: str, backend: str, simulated: bool,
                 actions: Optional[ApprovalActions], fmt: str = "markdown",
                 max_updates_per_s: float = 10) -> None:
        self.fmt = fmt if fmt in FORMATS else "markdown"
        self._info = dict(prompt=prompt, model=model, backend=backend, simulated=simulated)
        self._state = CallState(**self._info)
        self._events: list[Any] = []
        self._lock = threading.RLock()
        self._clock: Callable[[], float] = time.time
        self._listeners: list[Callable[[CallState], None]] = []
        self._stop_ticker = threading.Event()
        self._ticker: Optional[threading.Thread] = None

        self.decision = W.HTML()
        self.decision.add_class("axonflow-decision")
        self.approval = ApprovalPanel(actions, on_click=lambda: self._throttle.request(now=True))
        self.response = W.HTML(layout=W.Layout(display="none"))
        self.response.add_class("axonflow-response")
        self.audit = W.HTML(layout=W.Layout(display="none"))
        self.audit.add_class("axonflow-audit")
        self.widget = W.VBox([self.decision, self.approval.widget, self.response, self.audit],
                             layout=W.Layout(max_width="900px"))
        self.widget.add_class("axonflow-call")
        self._throttle = Throttle(self._flush, max_updates_per_s)
        self._throttle.request(now=True)

    @property
    def state(self) -> CallState:
        return self._state

    # -- input --------------------------------------------------------------------------------
    def handle(self, event: Any) -> None:
        """Fold one core event in; safe from any thread."""
        with self._lock:
            self._events.append(event)
            self._state.apply(event)
        if isinstance(event, ApprovalRequested):
            self._start_ticker()
        self._throttle.request(now=isinstance(event, IMMEDIATE))
        if self._state.approval_req is not None and not self._state.approval_pending:
            self._stop_ticker.set()

    def cancelled(self, why: str) -> None:
        with self._lock:
            self._state.cancelled = why or "cancelled"
        self._stop_ticker.set()
        self._throttle.request(now=True)

    def flush(self) -> None:
        """Push any coalesced update now (tests, and callers about to read the traits)."""
        self._throttle.flush()

    def close(self) -> None:
        """Stop the ticker and the throttle and close the widgets (after the summary replaced them)."""
        self._stop_ticker.set()
        self._throttle.close()
        self._close_widgets()

    # -- output -------------------------------------------------------------------------------
    def summary(self, result: Any) -> Any:
        """A static rich object (html/markdown/plain + metadata ids) for the end of the call."""
        self._stop_ticker.set()
        self._throttle.flush()
        with self._lock:
            state = state_from_result(result, **self._info, fallback_events=list(self._events),
                                      cancelled=self._state.cancelled)
        return call_summary(state, result, fmt=self.fmt,
                            self_approved=self.approval.self_approved)

    # -- internals ----------------------------------------------------------------------------
    def _flush(self) -> None:
        with self._lock:
            state = self._state
            decision = decision_html(state, tagged=False)
            show_response, show_audit = response_visible(state), audit_visible(state)
            response = response_html(state, self.fmt, tagged=False) if show_response else None
            audit = audit_html(state, tagged=False) if show_audit else None
            with contextlib.ExitStack() as stack:
                for w in (self.decision, self.response, self.audit, self.approval.info):
                    stack.enter_context(w.hold_sync())
                self.decision.value = decision
                self.approval.render(state, self._clock())
                if response is not None:
                    self.response.value = response
                _show(self.response, show_response)
                if audit is not None:
                    self.audit.value = audit
                _show(self.audit, show_audit)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(state)

    def _start_ticker(self) -> None:
        with self._lock:
            if self._ticker is not None:
                return
            self._ticker = threading.Thread(target=self._tick, name="axonflow-approval-ticker",
                                            daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        """Once a second while the request is pending; stops at the deadline even if no event
        ever says so (the core's own timeout event then has nothing left to correct)."""
        while not self._stop_ticker.wait(TICK_S):
            if not self._state.approval_pending:
                break
            self._throttle.request()
            if self._state.approval_times(self._clock())[1] <= 0:
                break

    def _close_widgets(self) -> None:
        for w in (self.decision, self.approval.info, self.approval.comment,
                  self.approval.approve_button, self.approval.reject_button,
                  self.approval.buttons, self.approval.note, self.approval.widget,
                  self.response, self.audit, self.widget):
            w.close()


class CodeCellView:
    """`%%governed --code`: one accordion row per LiteLLM call, each holding that call's CallView."""

    def __init__(self, actions: Optional[ApprovalActions]) -> None:
        self._actions = actions
        self._views: list[CallView] = []
        self._lock = threading.Lock()
        self.header = W.HTML(value=self._header_html())
        self.rows = W.Accordion(children=[])
        self.widget = W.VBox([self.header, self.rows], layout=W.Layout(max_width="920px"))
        self.widget.add_class("axonflow-code")

    def call_view(self, *, prompt: str, model: str, backend: str, simulated: bool) -> CallView:
        view = CallView(prompt=prompt, model=model, backend=backend, simulated=simulated,
                        actions=self._actions)
        with self._lock:
            self._views.append(view)
            index = len(self._views) - 1
            self.rows.children = tuple(v.widget for v in self._views)
            self.rows.set_title(index, self._title(index, view.state))
            self.header.value = self._header_html()
        view._listeners.append(lambda state, i=index: self._update_row(i, state))
        return view

    def summary(self, results: list) -> Any:
        states = []
        results = list(results or [])
        with self._lock:
            views = list(self._views)
        for i in range(max(len(results), len(views))):  # a call that never returned still shows
            result = results[i] if i < len(results) else None
            view = views[i] if i < len(views) else None
            if view is not None:
                view._stop_ticker.set()
                states.append(state_from_result(result, **view._info,
                                                fallback_events=list(view._events),
                                                cancelled=view.state.cancelled))
            else:
                states.append(state_from_result(result))
        return code_cell_summary(states, results)

    def _update_row(self, index: int, state: CallState) -> None:
        with self._lock:
            self.rows.set_title(index, self._title(index, state))
            if state.approval_pending and self.rows.selected_index is None:
                self.rows.selected_index = index  # a held call's buttons must be in view
            self.header.value = self._header_html()

    @staticmethod
    def _title(index: int, state: CallState) -> str:
        prompt = " ".join(clean_text(state.prompt).split())
        prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
        sim = " [simulated]" if state.simulated else ""
        title = f"{index + 1}. {state.outcome().replace('_', ' ')} — {state.model}{sim} — {prompt}"
        return clean_text(title)

    def _header_html(self) -> str:
        n = len(getattr(self, "_views", []))
        text = f"AxonFlow — {n} governed LiteLLM call{'s' if n != 1 else ''} in this cell"
        return f'<div style="{FONT};font-weight:600;margin:2px 0">{esc(text)}</div>'
