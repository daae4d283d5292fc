"""The live handle a `%%governed --background` cell returns.

The call runs on a worker thread through the core's sync bridge, so the handle works the same in
a kernel, in terminal IPython and from a plain script: `await handle` on any loop,
`handle.result(timeout=...)` from sync code, `.status` at any time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any, Optional

from ..core.events import ApprovalDecided, ApprovalRequested, CallFailed, DecisionMade


class GovernedHandle:
    def __init__(self, *, prompt_preview: str, model: str, deadline_s: float) -> None:
        self._future: concurrent.futures.Future = concurrent.futures.Future()
        self._status = "running"
        self._prompt_preview = prompt_preview
        self._model = model
        self.deadline_s = deadline_s
        self.request_id: Optional[str] = None
        self._displays: list = []  # where it was shown: updated to the final state at the end

    # -- fed by the runner -----------------------------------------------------------------
    def observe(self, event: Any) -> None:
        if isinstance(event, DecisionMade):
            self._status = {"approved": "running", "blocked": "blocked"}.get(event.status, "pending")
        elif isinstance(event, ApprovalRequested):
            self._status = "pending approval"
            self.request_id = event.request_id
        elif isinstance(event, ApprovalDecided):
            self._status = event.status
        elif isinstance(event, CallFailed):
            self._status = "failed"

    def set_result(self, result: Any) -> None:
        if result.error is None:
            self._status = "done"
        elif self._status in ("running", "pending approval", "pending"):
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
        """running | pending approval | approved | rejected | blocked | done | failed | …"""
        return self._status

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: Optional[float] = None) -> Any:
        """The GovernedResult; waits up to `timeout` (default: the configured deadline)."""
        wait = self.deadline_s if timeout is None else timeout
        try:
            return self._future.result(timeout=wait)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"no decision within {wait:g} s (status: {self._status})") from None

    def __await__(self):
        return asyncio.wait_for(asyncio.wrap_future(self._future), self.deadline_s).__await__()

    def _summary_line(self) -> str:
        rid = f", request {self.request_id}" if self.request_id else ""
        return f"GovernedHandle({self._model}: {self._status}{rid})"

    def __repr__(self) -> str:
        return self._summary_line()

    def _rich(self):
        from .ui import handle_summary

        return handle_summary(model=self._model, status=self._status, request_id=self.request_id,
                              done=self.done())

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self._displays.append(display(self._rich(), display_id=True))

    def _refresh_displays(self) -> None:
        for shown in self._displays:
            shown.update(self._rich())

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self._rich()._repr_mimebundle_(include, exclude)
