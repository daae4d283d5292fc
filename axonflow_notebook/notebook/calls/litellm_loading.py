"""LiteLLM, imported once in a worker thread and never on the kernel's loop.

`import litellm` takes seconds; the first governed cell shows its card at once and awaits this
while the loop keeps serving. Stand-in with the behaviour of the core branch's `core.llm`, which
it defers to once that module exists.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any, Optional

try:
    from ...core.llm import ensure_litellm, litellm_ready, start_litellm_import
except ImportError:  # stand-in until the core branch's core/llm.py lands
    _lock = threading.Lock()
    _thread: Optional[threading.Thread] = None
    _done = threading.Event()
    _error: list = []

    def litellm_ready() -> bool:
        """Whether LiteLLM is imported (by us or by the user's own `import litellm`)."""
        return _done.is_set() or ("litellm" in sys.modules and not _importing())

    def _importing() -> bool:
        return _thread is not None and _thread.is_alive()

    def _import() -> None:
        try:
            import litellm  # noqa: F401
        except BaseException as exc:  # re-raised to whoever waits for it
            _error.append(exc)
        finally:
            _done.set()

    def start_litellm_import() -> None:
        """Start importing LiteLLM in the background; returns at once."""
        global _thread
        with _lock:
            if _thread is None and not _done.is_set():
                _thread = threading.Thread(target=_import, name="axonflow-import-litellm", daemon=True)
                _thread.start()

    async def ensure_litellm() -> Any:
        """LiteLLM, imported off the running loop if it is not imported yet."""
        if not litellm_ready():
            start_litellm_import()
            while not _done.is_set():
                await asyncio.sleep(0.02)
        if _error:
            raise _error[0]
        import litellm

        return litellm


def litellm_blocking() -> Any:
    """LiteLLM for sync code (terminal, loops of line magics): imported in this thread."""
    import litellm

    return litellm


__all__ = ["ensure_litellm", "litellm_blocking", "litellm_ready", "start_litellm_import"]
