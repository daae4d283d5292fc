"""CodeCellView: a `%%governed --code` cell, one row per LiteLLM call in a single live card.

Each call is a `CallView` hosted by this view: its events fold into its own state, and this view
redraws the card (all rows, ≤ 10 times a second) through the same coalescer. A held call's row
opens by itself so its Approve / Reject are in view.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional, Sequence

from .call_view import ApprovalActions, CallView
from .coalesce import coalescer
from .rich import Rich
from .summary import code_cell_summary, state_from_result

log = logging.getLogger(__name__)


class CodeCellView:
    def __init__(self, actions: Optional[ApprovalActions], *,
                 describe_policy: Optional[Callable[[str], Optional[str]]] = None) -> None:
        self._actions = actions
        self._describe = describe_policy
        self._views: list[CallView] = []
        self._lock = threading.RLock()
        self._card: Any = None
        self._display: Any = None
        self._final = False

    @property
    def widget(self) -> Any:
        """The live card (created on first use); display it with `display_id=True`."""
        with self._lock:
            if self._card is None:
                from .live_widget import CallCard

                self._card = CallCard(kind="code", fallback=self.fallback,
                                      on_message=self._message, header=self._header(),
                                      calls=self._payloads())
            return self._card

    def bind_display(self, handle: Any) -> None:
        """The display showing `.widget`: its static fallback is kept current through it."""
        self._display = handle

    def call_view(self, *, prompt: str, model: str, backend: str, simulated: bool) -> CallView:
        view = CallView(prompt=prompt, model=model, backend=backend, simulated=simulated,
                        actions=self._actions, describe_policy=self._describe, host=self)
        with self._lock:
            self._views.append(view)
        coalescer().request(self, now=True)
        return view

    @property
    def views(self) -> list[CallView]:
        with self._lock:
            return list(self._views)

    def summary(self, results: Sequence[Any]) -> Rich:
        """Static rows for every call, including calls that never returned a result."""
        results = list(results or [])
        with self._lock:
            self._final = True
            views = list(self._views)
        states = []
        for i in range(max(len(results), len(views))):
            result = results[i] if i < len(results) else None
            view = views[i] if i < len(views) else None
            if view is not None:
                with view._lock:
                    states.append(state_from_result(
                        result, **view._info, fallback_events=list(view._events),
                        cancelled=view.state.cancelled, descriptions=view.state.descriptions))
            else:
                states.append(state_from_result(result))
        return code_cell_summary(states, results)

    def fallback(self) -> Rich:
        with self._lock:
            views = list(self._views)
        return code_cell_summary([v.state for v in views], [])

    def close(self) -> None:
        with self._lock:
            self._final = True
            card = self._card
            views = list(self._views)
        coalescer().forget(self)
        for view in views:
            view.close()
        if card is not None:
            card.close()

    # -- drawing ------------------------------------------------------------------------------
    def _header(self) -> str:
        n = len(self._views)
        return f"AxonFlow — {n} governed LiteLLM call{'s' if n != 1 else ''} in this cell"

    def _payloads(self) -> list[dict]:
        return [v.payload(i) for i, v in enumerate(self._views, 1)]

    def redraw(self) -> None:
        with self._lock:
            if self._card is None or self._final:
                return
            with self._card.hold_sync():
                self._card.header = self._header()
                self._card.calls = self._payloads()

    def republish(self) -> None:
        """Refresh the display's static fallback (a held row saved while it waits says so)."""
        with self._lock:
            if self._display is None or self._card is None or self._final:
                return
            try:
                self._display.update(self._card)
            except Exception:  # the fallback is a courtesy; the live card is already current
                log.debug("AxonFlow: could not refresh the code cell's fallback", exc_info=True)

    def _message(self, content: dict) -> None:
        if content.get("type") != "decide":
            return
        for view in self.views:
            if view.state.request_id == content.get("request_id"):
                view.decide(content.get("action"), content.get("request_id"),
                            content.get("comment"))
                return


__all__ = ["CodeCellView"]
