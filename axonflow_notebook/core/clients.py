"""One AxonFlow SDK client per event loop.

The SDK's httpx AsyncClient pools connections bound to the loop that opened
them, so the user's loop (acompletion) and the sync bridge's loop (completion)
each get their own client. Clients are built with retries off: the guard bounds
every call by `call_timeout_seconds` and an outage must fail fast.

Each loop also gets a gate (a semaphore) capping governance requests in
flight, so a burst of calls queues here instead of inside httpx's pool, where
the wait would count against `call_timeout_seconds` and fail calls open.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import Any, List, Optional

from .config import AxonFlowLoggerConfig

_log = logging.getLogger(__name__)


def build_client(config: AxonFlowLoggerConfig) -> Any:
    from axonflow import AxonFlow
    from axonflow.types import RetryConfig

    return AxonFlow(
        endpoint=config.endpoint,
        client_id=config.client_id,
        client_secret=config.secret_value() or None,
        timeout=config.call_timeout_seconds,
        retry_config=RetryConfig(enabled=False, max_attempts=1),
    )


MAX_IN_FLIGHT = 16


class ClientPool:
    def __init__(self, config: AxonFlowLoggerConfig, injected: Any = None) -> None:
        self._config = config
        self._injected = injected
        self._lock = threading.Lock()
        self._by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]" = (
            weakref.WeakKeyDictionary()
        )
        self._gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
            weakref.WeakKeyDictionary()
        )

    def gate(self) -> asyncio.Semaphore:
        """The in-flight cap for the running loop."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            with self._lock:
                gate = self._gates.setdefault(loop, asyncio.Semaphore(MAX_IN_FLIGHT))
        return gate

    @property
    def owns_clients(self) -> bool:
        return self._injected is None

    def get(self) -> Any:
        """The client for the running loop (the injected one, if any)."""
        if self._injected is not None:
            return self._injected
        loop = asyncio.get_running_loop()
        client = self._by_loop.get(loop)
        if client is None:
            with self._lock:
                client = self._by_loop.get(loop)
                if client is None:
                    client = build_client(self._config)
                    self._by_loop[loop] = client
        return client

    def take_all(self) -> List[tuple]:
        """Remove and return (loop, client) pairs, for closing."""
        with self._lock:
            pairs = list(self._by_loop.items())
            self._by_loop = weakref.WeakKeyDictionary()
        return pairs

    async def aclose_all(self) -> None:
        """Close every client: on this loop awaited, on another running loop scheduled.

        Scheduled, not awaited: that loop's thread may be the one blocked on us (a sync
        close() from a notebook cell).
        """
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, client in self.take_all():
            try:
                if loop is current:
                    await client.close()
                elif not loop.is_closed() and loop.is_running():
                    asyncio.run_coroutine_threadsafe(client.close(), loop)
            except Exception:
                _log.debug("closing an AxonFlow client failed", exc_info=True)

    def current_loop_client(self) -> Optional[Any]:
        try:
            return self._by_loop.get(asyncio.get_running_loop())
        except RuntimeError:
            return None


__all__ = ["ClientPool", "build_client"]
