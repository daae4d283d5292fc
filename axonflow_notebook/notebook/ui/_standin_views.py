"""What today's views lack of the UI the calls layer is written against (nbcalls stand-in):
`CallView.starting` and `describe_policy`, `CodeCellView.close`. The nbui branch provides these
itself; this module goes away with the merge.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..render import FONT, esc
from ..view import CallView as _CallView
from ..view import CodeCellView as _CodeCellView


class CallView(_CallView):
    def __init__(self, *, prompt: str, model: str, backend: str, simulated: bool, actions: Any,
                 fmt: str = "markdown", describe_policy: Optional[Callable[[str], Optional[str]]] = None
                 ) -> None:
        super().__init__(prompt=prompt, model=model, backend=backend, simulated=simulated,
                         actions=actions, fmt=fmt)
        self.describe_policy = describe_policy

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
