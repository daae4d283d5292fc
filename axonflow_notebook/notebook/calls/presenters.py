"""Where a call's events go: a live card, plain terminal lines, or one compact row.

Every presenter is fed the core's events from any thread, and is told how the call ended
(`finish`), that it was cancelled, or that it never started (`abandon`).
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Optional

from IPython.display import display

from ...core.events import ApprovalDecided, ApprovalProgress, ApprovalRequested, CallFailed, CompletionChunk

_UNWINDING = ("CancelledError", "KeyboardInterrupt")


def approve_elsewhere(request_id: str) -> str:
    return (f"approve it from another notebook or IPython: %axonflow approve {request_id} "
            f"(or %axonflow reject {request_id}), or in the reviewer queue (%axonflow queue)")


class CardPresenter:
    """A live CallView displayed with a display_id, replaced by its static summary at the end."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self._display = display(view.widget, display_id=True)
        view.bind_display(self._display)  # the card keeps the display's static fallback current

    def starting(self, text: str) -> None:
        self.view.starting(text)

    def handle(self, event: Any) -> None:
        self.view.handle(event)

    def cancelled(self, why: str) -> None:
        self.view.cancelled(why)

    def finish(self, result: Any) -> None:
        summary = self.view.summary(result)
        self._display.update(summary)
        self.view.close()  # the static summary has replaced every widget of the card

    def abandon(self, why: str) -> None:
        """The call never started (a setting or the backend refused): a one-line note stays."""
        self._display.update(PlainLine(f"AxonFlow: not sent — {why}"))
        self.view.close()


class RowPresenter:
    """One line per call, updated in place: what a loop of `%governed` lines shows."""

    def __init__(self, *, prompt: str, model: str) -> None:
        self.prompt, self.model = prompt, model
        self._display = display(self._line("checking…"), display_id=True)

    def _line(self, text: str) -> "PlainLine":
        preview = " ".join(self.prompt.split())
        preview = preview if len(preview) <= 60 else preview[:59] + "…"
        return PlainLine(f"{preview} → AxonFlow: {text}")

    def starting(self, text: str) -> None:
        self._display.update(self._line(text))

    def handle(self, event: Any) -> None:
        if isinstance(event, ApprovalRequested):
            self._display.update(self._line(f"held for approval (request {event.request_id}); "
                                            + approve_elsewhere(event.request_id)))

    def cancelled(self, why: str) -> None:
        self._display.update(self._line(f"cancelled ({why})"))

    def finish(self, result: Any) -> None:
        from ..ui import compact_row

        self._display.update(compact_row(result, prompt=self.prompt, model=self.model))

    def abandon(self, why: str) -> None:
        self._display.update(self._line(f"not sent — {why}"))


class TerminalPresenter:
    """Terminal IPython: one plain line per event, approval progress rewritten in place, the
    answer printed at the end (streamed as it arrives with --stream)."""

    def __init__(self, *, model: str, simulated: bool, backend: str, out: Any = None) -> None:
        from ..ui import render_event_text

        self._render = render_event_text
        self._out = out or sys.stdout
        self._lock = threading.Lock()
        self._in_place = False
        self._streamed = False
        self._stopped = False
        badge = " [simulated]" if simulated else ""
        self._write(f"AxonFlow: {model}{badge} via {backend}\n")

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def _line(self, line: str) -> None:
        with self._lock:
            if self._in_place or self._streamed:
                self._write("\n")
                self._in_place = self._streamed = False
            self._write(line + "\n")

    def starting(self, text: str) -> None:
        self._line(f"AxonFlow: {text}")

    def handle(self, event: Any) -> None:
        if _unwinding(event):  # an interrupt: the cell's own one or two lines say what happened
            return
        if isinstance(event, CompletionChunk):
            with self._lock:
                if self._in_place:
                    self._write("\n")
                    self._in_place = False
                self._write(event.delta)
                self._streamed = True
            return
        line = self._render(event)
        if not line:
            return
        if isinstance(event, ApprovalProgress):
            with self._lock:
                self._write("\r\033[K" + line)
                self._in_place = True
            return
        self._line(line)
        if isinstance(event, ApprovalRequested):
            self._line("  " + approve_elsewhere(event.request_id))

    def cancelled(self, why: str) -> None:
        with self._lock:  # the exception that follows says what happened, on a line of its own
            if self._in_place or self._streamed:
                self._write("\n")
                self._in_place = self._streamed = False
        self._stopped = True

    def finish(self, result: Any) -> None:
        if self._stopped:
            return
        streamed = self._streamed
        if self._in_place or streamed:
            self._line("")
        text = getattr(result, "text", None)
        if text and not streamed:
            self._line(text)

    def abandon(self, why: str) -> None:
        self._line(f"AxonFlow: not sent — {why}")


def _unwinding(event: Any) -> bool:
    """The core's own report of an interrupt as it unwinds (cancelled approval, failed call)."""
    if isinstance(event, ApprovalDecided):
        return event.status == "cancelled"
    return isinstance(event, CallFailed) and event.error_type in _UNWINDING


class PlainLine:
    """A line of progress as text/plain only: nothing a frontend could render as markup or
    typeset as maths (the final summaries come from the UI package)."""

    def __init__(self, text: str) -> None:
        self.text = " ".join(str(text).split())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"text/plain": self.text}

    def __repr__(self) -> str:
        return self.text


def open_presenter(kind: Any, *, prompt: str, model: str, backend: str, simulated: bool,
                   fmt: str, actions: Optional[Any],
                   describe_policy: Optional[Callable[[str], Optional[str]]] = None) -> Any:
    """The presenter for a call of view `kind` (context.ViewKind)."""
    from .context import ViewKind

    if kind is ViewKind.TERMINAL:
        return TerminalPresenter(model=model, simulated=simulated, backend=backend)
    if kind is ViewKind.ROW:
        return RowPresenter(prompt=prompt, model=model)
    from ..ui import CallView

    return CardPresenter(CallView(prompt=prompt, model=model, backend=backend, simulated=simulated,
                                  actions=actions, fmt=fmt, describe_policy=describe_policy))
