"""BatchView: one batch's live widget (progress, last rows, one approval panel), then its summary.

Events come from any thread (the batch runs on the kernel's loop or the core's); they fold into a
`BatchState` under a lock, and the widget's synced traits are redrawn through the process's one
coalescer, at most ten times a second whatever the row rate (coalesce.py; routine ones about five a second). One anywidget model
(`static/batch.js`) draws the progress bar and the approval panel: held rows grouped by policy
with prompt previews, Approve all / Reject all, a decision per row and one comment; clicks
arrive as messages, like the call card's. `summary(result)` is the static form that replaces it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional, Protocol, Sequence

import traitlets as t

from ...core.events import BatchFinished, BatchPaused, BatchStarted
from .batch_state import BatchState
from .batch_summary import batch_summary, held_payload, progress_payload, recent_payload
from .call_cards.approval import WHERE_TO_APPROVE
from .coalesce import coalescer
from .escape import clean_text
from .live_widget import LiveWidget, es_module
from .rich import Rich

log = logging.getLogger(__name__)
COMMENT_MAX = 4000
REPUBLISH_EVERY_S = 2.0  # the display's static fallback follows the held rows, no faster than this
# Routine redraws at least this far apart: on the coalescer's 0.1 s ticks that is every other tick,
# about five a second, so the few that may not wait (the start, a stop, a click, the end) and the
# display's own updates keep every second well under ten messages.
ROUTINE_GAP_S = 0.15
IMMEDIATE = (BatchStarted, BatchPaused, BatchFinished)


class BatchActions(Protocol):
    """What the approval panel's buttons do: one decision per request, sent in the background."""

    can_decide: bool
    disabled_reason: Optional[str]
    decider_label: str

    def decide(self, action: str, request_ids: Sequence[str], comment: str,
               failed: Callable[[str, str], None]) -> None: ...


class BatchWidget(LiveWidget):
    """The batch's model: `progress`, `recent` rows, `held` groups and the panel's `approval`."""

    _esm = es_module("batch.js")

    header = t.Unicode("").tag(sync=True)
    progress = t.Dict().tag(sync=True)
    recent = t.List(t.Dict()).tag(sync=True)
    held = t.List(t.Dict()).tag(sync=True)
    approval = t.Dict().tag(sync=True)


class BatchView:
    def __init__(self, *, total: int, model: str, backend: str, simulated: bool,
                 preview: Callable[[int], str], actions: Optional[BatchActions], where: str = "_governed") -> None:
        self._state = BatchState(total=total, model=model, preview=preview, simulated=simulated)
        self._model, self._backend = model, backend
        self._header = self._header_text(simulated)
        self._actions = actions
        self._where = where
        self._lock = threading.RLock()
        self._widget: Optional[BatchWidget] = None
        self._display: Any = None
        self._final = False
        self._sending: set = set()
        self._errors: list = []
        self._published_held = 0
        self._published_at = 0.0
        self._sent_at = 0.0
        self._urgent = False
        self.redraws = 0  # how many times the widget's state was sent (benchmarks read it)

    @property
    def widget(self) -> BatchWidget:
        with self._lock:
            if self._widget is None:
                self._widget = BatchWidget(kind="batch", fallback=self.fallback, on_message=self._message,
                                           header=clean_text(self._header), **self._traits())
            return self._widget

    def bind_display(self, handle: Any) -> None:
        self._display = handle

    @property
    def state(self) -> BatchState:
        return self._state

    def _header_text(self, simulated: bool) -> str:
        badge = " [simulated]" if simulated else ""
        return f"AxonFlow batch — {self._state.total} rows of {self._model}{badge} via {self._backend}"

    def set_simulated(self, simulated: bool) -> None:
        """Whether the answers are simulated, once that is known (after LiteLLM has loaded)."""
        with self._lock:
            self._state.simulated = simulated
            self._header = self._header_text(simulated)
            widget = self._widget
        if widget is not None and not self._final:
            widget.header = clean_text(self._header)

    # -- input --------------------------------------------------------------------------------
    def handle(self, event: Any) -> None:
        """Fold one core event in; safe from any thread."""
        urgent = isinstance(event, IMMEDIATE)
        with self._lock:
            self._state.apply(event)
            self._urgent = self._urgent or urgent
        coalescer().request(self, now=urgent)

    def starting(self, text: str) -> None:
        with self._lock:
            self._state.phase = text
        self._now()

    def cancelled(self, why: str) -> None:
        with self._lock:
            self._state.cancelled = why or "cancelled"
        self._now()

    def _now(self) -> None:
        with self._lock:
            self._urgent = True
        coalescer().request(self, now=True)

    def flush(self) -> None:
        coalescer().flush(self)

    def close(self) -> None:
        with self._lock:
            self._final = True
            widget = self._widget
        coalescer().forget(self)
        if widget is not None:
            widget.close()

    # -- output -------------------------------------------------------------------------------
    def summary(self, result: Any = None) -> Rich:
        with self._lock:
            self._final = True
            return batch_summary(self._state, result, where=self._where)

    def fallback(self) -> Rich:
        with self._lock:
            return batch_summary(self._state, None, where=self._where)

    def _traits(self) -> dict:
        state = self._state
        return {"progress": progress_payload(state), "recent": recent_payload(state),
                "held": held_payload(state, tuple(self._sending)), "approval": self._approval()}

    def _approval(self) -> dict:
        actions, pending = self._actions, len(self._state.pending_held())
        if actions is None:
            mode, note = "none", WHERE_TO_APPROVE
        elif not getattr(actions, "can_decide", False):
            mode, note = "disabled", getattr(actions, "disabled_reason", None) or WHERE_TO_APPROVE
        else:
            mode, note = "buttons", ""
        if self._errors:
            note = (note + " " if note else "") + "Not sent: " + "; ".join(self._errors[-3:])
        return {"actions": mode, "note": clean_text(note), "pending": pending,
                "decider": clean_text(getattr(actions, "decider_label", "") or "")}

    def redraw(self) -> None:
        """Push the state into the widget (the coalescer decides when)."""
        with self._lock:
            widget = self._widget
            if widget is None or self._final:
                return
            if not self._urgent and time.monotonic() - self._sent_at < ROUTINE_GAP_S:
                coalescer().request(self)  # again once the gap is over
                return
            self._urgent, self._sent_at = False, time.monotonic()
            traits = self._traits()
            republish = (self._state.held_version != self._published_held
                         and time.monotonic() - self._published_at >= REPUBLISH_EVERY_S)
            if republish:
                self._published_held, self._published_at = self._state.held_version, time.monotonic()
        with widget.hold_sync():
            for name, value in traits.items():
                setattr(widget, name, value)
        self.redraws += 1
        if republish and self._display is not None:
            try:  # a notebook saved while rows wait for a reviewer says so in its static form
                self._display.update(widget)
            except Exception:
                log.debug("AxonFlow: could not refresh the batch's static fallback", exc_info=True)

    # -- clicks -------------------------------------------------------------------------------
    def _message(self, content: dict) -> None:
        if content.get("type") == "decide":
            ids = content.get("request_ids")
            self.decide(content.get("action"), ids if isinstance(ids, list) else [], content.get("comment"))

    def decide(self, action: Any, request_ids: Sequence[Any], comment: Any) -> list:
        """Approve or reject held rows (one request each); returns the ids actually sent."""
        if action not in ("approve", "reject"):
            return []
        text = comment[:COMMENT_MAX] if isinstance(comment, str) else ""
        with self._lock:
            actions = self._actions
            if actions is None or not getattr(actions, "can_decide", False):
                return []
            pending = {row.request_id for row in self._state.pending_held()}
            ids = [i for i in dict.fromkeys(request_ids) if isinstance(i, str) and i in pending
                   and i not in self._sending]
            self._sending.update(ids)
        if ids:
            actions.decide(action, ids, text, self._failed)
            self._now()
        return ids

    def _failed(self, request_id: str, message: str) -> None:
        with self._lock:
            self._sending.discard(request_id)
            self._errors.append(f"{request_id}: {message}"[:300])
        self._now()


__all__ = ["BatchView", "BatchWidget", "BatchActions"]
