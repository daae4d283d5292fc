"""What today's views lack of the UI the calls layer is written against (nbcalls stand-in):
`CallView.starting` and `describe_policy`, `CodeCellView.close`. The nbui branch provides these
itself; this module goes away with the merge.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..render import FONT, esc
from ..view import CallView as _CallView
from ..widgets.approval import WHERE_TO_APPROVE, _note
from ..view import CodeCellView as _CodeCellView


class _Undecided:
    """What today's approval panel is given at first: it asks `can_decide` when it is built,
    and the calls layer knows who decides only once the backend has started."""

    can_decide = True
    disabled_reason = None
    decider_label = ""


class CallView(_CallView):
    def __init__(self, *, prompt: str, model: str, backend: str, simulated: bool, actions: Any,
                 fmt: str = "markdown", describe_policy: Optional[Callable[[str], Optional[str]]] = None
                 ) -> None:
        super().__init__(prompt=prompt, model=model, backend=backend, simulated=simulated,
                         actions=_Undecided() if actions is not None else None, fmt=fmt)
        self._actions = actions
        self.describe_policy = describe_policy

    def handle(self, event: Any) -> None:
        panel = self.approval
        if isinstance(panel._actions, _Undecided) and type(event).__name__ == "ApprovalRequested":
            panel._actions = self._actions  # who decides is known now: the request came from it
            if not self._actions.can_decide:
                panel._disable()
                panel.note.value = _note(self._actions.disabled_reason or WHERE_TO_APPROVE)
        super().handle(event)

    def starting(self, text: str) -> None:
        """A phase line before the first event ("loading LiteLLM…")."""
        self.decision.value = (f'<div class="axonflow-starting" style="{FONT};opacity:.8;'
                               f'margin:4px 0">AxonFlow: {esc(text)}</div>')


class CodeCellView(_CodeCellView):
    def close(self) -> None:
        with self._lock:
            views = list(self._views)
        for view in views:
            view.close()
        for w in (self.header, self.rows, self.widget):
            w.close()


__all__ = ["CallView", "CodeCellView"]
