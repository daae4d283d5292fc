"""The core's coroutines from sync code (magics, click threads): run on the core's one loop.

The core owns a long-lived background loop and its SDK clients; blocking on it works from a sync
magic on the kernel's loop, from a click handler and from worker threads alike.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Coroutine

if TYPE_CHECKING:
    import concurrent.futures


def _core_loop() -> Any:
    try:
        from ...core.runtime import get_runtime
    except ImportError:  # stand-in until the core branch's runtime lands: its sync bridge
        from ...core.bridge import get_bridge

        return get_bridge()
    return get_runtime()


def resolve(value: Any) -> Any:
    """The value of a console call: awaited on the core's loop when it is awaitable."""
    if not inspect.isawaitable(value):
        return value
    return _core_loop().run(_awaited(value))


def submit(coro: Coroutine[Any, Any, Any]) -> "concurrent.futures.Future[Any]":
    """Start `coro` on the core's loop; its future at once (cancel() cancels the coroutine)."""
    import asyncio

    loop = _core_loop()
    if hasattr(loop, "submit"):
        return loop.submit(coro)
    return asyncio.run_coroutine_threadsafe(coro, loop.loop)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
