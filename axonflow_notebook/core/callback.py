"""Audit-only callback mode: `litellm.callbacks = [logger]` audits plain LiteLLM calls.

LiteLLM calls the logger's hooks after each call; each goes through the pipeline's
`audit_only` (the same pre-check and audit steps as a governed call, never blocking).
A call the logger itself governed carries a tag in its metadata and is skipped here,
and a call LiteLLM reports through both its sync and async hook is audited once.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any, Callable, Coroutine, Optional

from .call import CONTEXT_KEY, GOVERNED_KEY
from .emitter import Emitter
from .pipeline import Governor
from .runtime import get_runtime

_log = logging.getLogger("axonflow_notebook.core")

SEEN_CALLS = 4096


class CallbackAudits:
    def __init__(self, governor: Governor, new_emitter: Callable[[], Emitter]) -> None:
        self._governor = governor
        self._new_emitter = new_emitter
        self._seen: "OrderedDict[str, None]" = OrderedDict()
        self._lock = threading.Lock()

    async def audit(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any, *, failed: bool) -> None:
        """Audit one plain LiteLLM call; never raises into LiteLLM."""
        try:
            if not isinstance(kwargs, dict) or _is_governed(kwargs) or not self._first_time(kwargs):
                return
            response = None if isinstance(response_obj, BaseException) else response_obj
            error = _error_text(kwargs, response_obj) if failed else None
            await self._governor.audit_only(kwargs, response, self._new_emitter(), error=error,
                                            latency_ms=_elapsed_ms(start_time, end_time))
        except Exception:
            _log.warning("AxonFlow audit-only hook failed", exc_info=True)

    def audit_blocking(self, coro: Coroutine[Any, Any, None]) -> None:
        """LiteLLM's sync hooks: run the audit on the runtime's loop (inline there if called from it)."""
        runtime = get_runtime()
        if runtime.in_loop_thread():
            runtime.loop.create_task(coro)
            return
        try:
            runtime.run(coro)
        except Exception:
            _log.warning("AxonFlow audit-only hook failed", exc_info=True)

    def _first_time(self, kwargs: dict) -> bool:
        """LiteLLM may call both the sync and async hook for one call: audit once."""
        call_id = kwargs.get("litellm_call_id")
        if not call_id:
            return True
        with self._lock:
            if call_id in self._seen:
                return False
            self._seen[call_id] = None
            while len(self._seen) > SEEN_CALLS:
                self._seen.popitem(last=False)
        return True


def _is_governed(kwargs: dict) -> bool:
    params = kwargs.get("litellm_params") or {}
    for metadata in (params.get("metadata"), kwargs.get("metadata")):
        if isinstance(metadata, dict) and (metadata.get(GOVERNED_KEY) or metadata.get(CONTEXT_KEY)):
            return True
    return False


def _error_text(kwargs: dict, response_obj: Any) -> str:
    exc: Optional[BaseException] = kwargs.get("exception")
    if exc is None and isinstance(response_obj, BaseException):
        exc = response_obj
    if exc is None:
        return "LLM call failed"
    return f"{type(exc).__name__}: {exc}"[:2000]


def _elapsed_ms(start_time: Any, end_time: Any) -> float:
    try:
        return (end_time - start_time).total_seconds() * 1000.0
    except Exception:
        return 0.0


__all__ = ["CallbackAudits"]
