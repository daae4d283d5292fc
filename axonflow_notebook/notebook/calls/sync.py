"""The core's coroutines from sync code (magics, click threads): run on the core's one loop.

The core owns a long-lived background loop and its SDK clients (axonflow_notebook/core/runtime.py);
blocking on it works from a sync magic on the kernel's loop, from a click handler and from worker
threads alike.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Coroutine

from ...core.runtime import get_runtime

if TYPE_CHECKING:
    import concurrent.futures


def resolve(value: Any) -> Any:
    """The value of a console call: awaited on the core's loop when it is awaitable."""
    if not inspect.isawaitable(value):
        return value
    return get_runtime().run(_awaited(value))


def submit(coro: Coroutine[Any, Any, Any]) -> "concurrent.futures.Future[Any]":
    """Start `coro` on the core's loop; its future at once (cancel() cancels the coroutine)."""
    return get_runtime().submit(coro)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
