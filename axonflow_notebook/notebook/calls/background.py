"""The live handle a `%%governed --background` cell returns.

The call runs as a task on the core's background loop, so the handle works the same in a
kernel, in terminal IPython and from a plain script: `await handle` on any loop,
`handle.result(timeout=...)` from sync code, `.status` at any time, `.cancel()` to give up (the
call ends as cancelled, and AxonFlow's approval request with it). Where the handle is displayed,
the display is updated when the call ends, so a saved notebook never says "running" for a call
that finished.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, List, Optional

from ...core.events import ApprovalDecided, ApprovalRequested, CallFailed, DecisionMade

_ACTIVE = ("running", "pending approval", "pending")
_DECIDED_AGAINST = ("rejected", "blocked", "expired", "timeout")  # how it ended, not "failed"


class GovernedHandle:
    def __init__(self, *, prompt_preview: str, model: str, deadline_s: float) -> None:
        self._future: "concurrent.futures.Future[Any]" = concurrent.futures.Future()
        self._task: Optional["concurrent.futures.Future[Any]"] = None
        self._status = "running"
        self._prompt_preview = prompt_preview
        self._model = model
        self.deadline_s = deadline_s
        self.request_id: Optional[str] = None
        self._displays: List[Any] = []
        self._lock = threading.Lock()

    # -- fed by the call -------------------------------------------------------------------
    def attach(self, task: "concurrent.futures.Future[Any]") -> None:
        self._task = task

    def observe(self, event: Any) -> None:
        if isinstance(event, DecisionMade):
            self._status = {"approved": "running", "blocked": "blocked"}.get(event.status, "pending")
        elif isinstance(event, ApprovalRequested):
            self._status = "pending approval"
            self.request_id = event.request_id
        elif isinstance(event, ApprovalDecided):
            self._status = event.status
        elif isinstance(event, CallFailed) and self._status not in _DECIDED_AGAINST:
            self._status = "failed"

    def set_result(self, result: Any, *, cancelled: bool = False) -> None:
        if cancelled:
            self._status = "cancelled"
        elif result.error is None:
            self._status = "done"
        elif self._status in _ACTIVE:
            self._status = "failed"
        self._future.set_result(result)
        self._refresh_displays()

    def set_exception(self, exc: BaseException) -> None:
        self._status = "cancelled" if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)) else "failed"
        self._future.set_exception(exc)
        self._refresh_displays()

    # -- user API --------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """running | pending approval | approved | rejected | blocked | done | failed | cancelled"""
        return self._status

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> bool:
        """Give up on the call: it ends as cancelled (its result says so). False if it ended."""
        if self._task is None or self.done():
            return False
        return self._task.cancel() or not self._task.done()

    def result(self, timeout: Optional[float] = None) -> Any:
        """The GovernedResult; waits up to `timeout` (default: the configured deadline)."""
        wait = self.deadline_s if timeout is None else timeout
        try:
            return self._future.result(timeout=wait)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"no decision within {wait:g} s (status: {self._status})") from None

    def __await__(self):
        return asyncio.wait_for(asyncio.wrap_future(self._future), self.deadline_s).__await__()

    # -- display ---------------------------------------------------------------------------
    def _summary_line(self) -> str:
        rid = f", request {self.request_id}" if self.request_id else ""
        return f"GovernedHandle({self._model}: {self._status}{rid})"

    def __repr__(self) -> str:
        return self._summary_line()

    def _rich(self) -> Any:
        from ..ui import handle_summary

        return handle_summary(model=self._model, status=self._status, request_id=self.request_id,
                              done=self.done())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self._rich()._repr_mimebundle_(include, exclude)

    def _ipython_display_(self) -> None:
        """Shown with a display id, so the display can say how the call ended."""
        from IPython.display import display

        with self._lock:
            self._displays.append(display(self._rich(), display_id=True))

    def _refresh_displays(self) -> None:
        with self._lock:
            displays = list(self._displays)
        for handle in displays:
            try:
                handle.update(self._rich())
            except Exception:  # the kernel is shutting down: nothing left to update
                pass
