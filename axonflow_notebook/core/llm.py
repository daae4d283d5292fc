"""LiteLLM, imported once in a worker thread and never on the calling event loop.

`import litellm` takes 4–5 s. The first governed call in a notebook used to spend them
on the kernel's loop, so nothing rendered and in-flight pre-checks timed out. Here the
pipeline `await`s `ensure_litellm()` (the loop keeps running while a worker thread
imports); sync paths call `litellm_module()`, which waits in their own thread. The
notebook can `start_litellm_import()` early and show a "loading LiteLLM…" phase while
`litellm_ready()` is False.
"""

from __future__ import annotations

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


def when_litellm_ready(callback: Callable[[], None]) -> None:
    """Run `callback` once LiteLLM is imported (now, if it is)."""
    _LITELLM.on_ready(callback)
    _LITELLM.ready()  # imported by the user already: announce it now


__all__ = ["ensure_litellm", "litellm_ready", "start_litellm_import", "litellm_module", "when_litellm_ready"]
