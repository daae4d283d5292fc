"""Per-call event fan-out: logger subscribers, the per-call listener, a result.

A listener that raises is logged and ignored: observers never break a call.
`active` lets the hot path skip building events nobody will see.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional, Sequence

from .events import GovernanceEvent
from .result import GovernedResult

_log = logging.getLogger("axonflow_notebook.core")

Listener = Callable[[GovernanceEvent], None]


class Emitter:
    __slots__ = ("call_id", "_listeners", "_result", "active")

    def __init__(
        self, call_id: str, listeners: Sequence[Listener], result: Optional[GovernedResult] = None
    ) -> None:
        self.call_id = call_id
        self._listeners = tuple(listeners)
        self._result = result
        self.active = bool(self._listeners) or result is not None

    def __call__(self, event: GovernanceEvent) -> None:
        if self._result is not None:
            self._result.record(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                _log.warning("event listener %r failed on %s", listener, type(event).__name__, exc_info=True)


__all__ = ["Emitter", "Listener"]
