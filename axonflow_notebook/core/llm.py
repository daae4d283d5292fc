"""LiteLLM, imported once in a worker thread and never on the calling event loop.

`import litellm` takes 4–5 s. The first governed call in a notebook used to spend them
on the kernel's loop, so nothing rendered and in-flight pre-checks timed out. Here the
pipeline `await`s `ensure_litellm()` (the loop keeps running while a worker thread
imports); sync paths call `litellm_module()`, which waits in their own thread. The
notebook can `start_litellm_import()` early and show a "loading LiteLLM…" phase while
`litellm_ready()` is False.
"""

from __future__ import annotations

import asyncio
import sys
from types import ModuleType
from typing import Callable

from .background_import import BackgroundImport

_LITELLM = BackgroundImport("litellm", thread_name="axonflow-import-litellm")


def litellm_ready() -> bool:
    """Whether LiteLLM is imported (by us or by the user's own `import litellm`)."""
    return _LITELLM.ready()


def start_litellm_import() -> None:
    """Start importing LiteLLM in the background; returns at once."""
    _LITELLM.start()


async def ensure_litellm() -> ModuleType:
    """LiteLLM, imported off the running loop if it is not imported yet."""
    await _LITELLM.wait()
    import litellm

    return litellm


def litellm_module() -> ModuleType:
    """LiteLLM for sync code: waits in this thread for the import (started if need be)."""
    _LITELLM.wait_blocking()
    import litellm

    return litellm


def settle_logging_worker() -> None:
    """Stop LiteLLM's logging worker on its old loop before a call rebinds it to this one.

    LiteLLM binds its async logging worker to the loop of the last call. A call from another loop
    (a notebook's awaited cells run on the kernel's loop, `--background` calls on the runtime's)
    moves the queue and drops the old worker task without stopping it, and when that task is
    garbage-collected asyncio prints "Task was destroyed but it is pending!" into whatever cell
    is running (`LoggingWorker._ensure_queue` in litellm/litellm_core_utils/logging_worker.py).
    Cancelling it on its own loop first ends it cleanly; queued items still move to the new loop.
    Best effort: a LiteLLM without this worker is left alone.
    """
    module = sys.modules.get("litellm.litellm_core_utils.logging_worker")
    worker = getattr(module, "GLOBAL_LOGGING_WORKER", None)
    try:
        current = asyncio.get_running_loop()
    except RuntimeError:
        current = None
    bound = getattr(worker, "_bound_loop", None)
    task = getattr(worker, "_worker_task", None)
    if bound is None or bound is current or task is None or task.done() or bound.is_closed():
        return
    try:
        bound.call_soon_threadsafe(task.cancel)
    except RuntimeError:  # the old loop closed meanwhile: nothing left to stop
        pass


def when_litellm_ready(callback: Callable[[], None]) -> None:
    """Run `callback` once LiteLLM is imported (now, if it is)."""
    _LITELLM.on_ready(callback)
    _LITELLM.ready()  # imported by the user already: announce it now


__all__ = ["ensure_litellm", "litellm_ready", "start_litellm_import", "litellm_module", "when_litellm_ready",
           "settle_logging_worker"]
