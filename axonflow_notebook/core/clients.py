"""One AxonFlow SDK client per event loop.

The SDK's httpx AsyncClient pools connections bound to the loop that opened
them, so the user's loop (acompletion) and the runtime's loop (sync calls,
background work) each get their own client. Clients are built with retries off:
the guard bounds every call by `call_timeout_seconds` and an outage must fail fast.

The SDK's httpx client sends through aiohttp (see transport.py), and aiohttp
complains loudly about a session nobody closed, so every client we build is
closed for its owner: by `aclose()`, by the loop's own shutdown (`asyncio.run`
closes the async generator parked for each client), or by the runtime's ordered
shutdown at interpreter exit (runtime.py), after the audits in flight.

Each loop also gets a gate (a semaphore) capping governance requests in flight,
so a burst of calls queues here instead of inside httpx's pool, where the wait
would count against `call_timeout_seconds` and fail calls open.

The SDK (and aiohttp under it) is imported in a worker thread: `await ensure_sdk()`
before the first `get()` on a loop that must not stall (background_import.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

from .background_import import BackgroundImport
from .config import AxonFlowLoggerConfig
from .runtime import ShutdownStep, at_shutdown

if TYPE_CHECKING:
    from .pending import PendingDeliveries
    from .sdk_protocol import AxonFlowClient

_log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 16

_SDK = BackgroundImport("axonflow", "axonflow.hitl", "axonflow.types", "axonflow.policies", "httpx_aiohttp",
                        thread_name="axonflow-import-sdk")


async def ensure_sdk() -> None:
    """Import the AxonFlow SDK (and its transport) without stalling the running loop."""
    await _SDK.wait()


def build_client(config: AxonFlowLoggerConfig) -> "AxonFlowClient":
    _SDK.wait_blocking()
    from axonflow import AxonFlow
    from axonflow.types import RetryConfig

    from .transport import use_aiohttp

    client = AxonFlow(
        endpoint=config.endpoint,
        client_id=config.client_id,
        client_secret=config.secret_value() or None,
        timeout=config.call_timeout_seconds,
        retry_config=RetryConfig(enabled=False, max_attempts=1),
    )
    use_aiohttp(client)
    return client


def _park_closer(client: "AxonFlowClient", before_close: Optional["PendingDeliveries"],
                 forget: Callable[[], None]) -> Any:
    """An async generator parked at its first `yield`, whose `finally` closes `client`.

    The running loop tracks it (asyncgen hooks), so `loop.shutdown_asyncgens()`,
    which `asyncio.run` calls before closing the loop, closes the client while the
    loop still runs, after this loop's deliveries in flight (`before_close`). `aclose()`
    on it is also how we close the client ourselves. `forget` then drops the pool's
    entries for that loop, which the client (its aiohttp session holds the loop)
    would otherwise keep alive.
    """

    async def closer() -> Any:
        try:
            yield
        finally:
            try:
                if before_close is not None:
                    await before_close.wait(this_loop_only=True)  # they still need this client
                await client.close()
            except Exception:
                _log.debug("closing an AxonFlow client failed", exc_info=True)
            finally:
                forget()

    gen = closer()
    try:
        gen.asend(None).send(None)
    except StopIteration:
        pass
    return gen


def _close_on(loop: asyncio.AbstractEventLoop, closer: Any, timeout: float = 2.0) -> None:
    """Close a parked client from outside its loop (sync close, interpreter exit)."""
    if loop.is_closed():
        return
    try:
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(closer.aclose(), loop).result(timeout)
        else:
            loop.run_until_complete(closer.aclose())
    except Exception:
        _log.debug("closing an AxonFlow client failed", exc_info=True)


class ClientPool:
    """SDK clients by event loop; `deliveries` are waited for before a loop's client closes."""

    def __init__(self, config: AxonFlowLoggerConfig, injected: Optional["AxonFlowClient"] = None, *,
                 deliveries: Optional["PendingDeliveries"] = None) -> None:
        self._config = config
        self._injected = injected
        self._deliveries = deliveries
        self._lock = threading.Lock()
        # loop -> (client, the parked generator that closes it)
        self._by_loop: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Tuple[Any, Any]]" = (
            weakref.WeakKeyDictionary()
        )
        self._gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
            weakref.WeakKeyDictionary()
        )
        _POOLS.add(self)

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

    def get(self) -> "AxonFlowClient":
        """The client for the running loop (the injected one, if any)."""
        if self._injected is not None:
            return self._injected
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        if entry is None:
            with self._lock:
                entry = self._by_loop.get(loop)
                if entry is None:
                    client = build_client(self._config)
                    entry = (client, _park_closer(client, self._deliveries, lambda: self._forget(loop)))
                    self._by_loop[loop] = entry
        return entry[0]

    def _forget(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._by_loop.pop(loop, None)
            self._gates.pop(loop, None)

    def take(self, which: Callable[[asyncio.AbstractEventLoop], bool] = lambda loop: True) -> List[tuple]:
        """Remove and return the (loop, closer) pairs of the loops `which` accepts, for closing.

        A pair left out stays here: dropping a parked closer unclosed would let the garbage
        collector close it, as a task its (idle) loop never finishes.
        """
        with self._lock:
            pairs = [(loop, closer) for loop, (_, closer) in self._by_loop.items() if which(loop)]
            for loop, _ in pairs:
                self._by_loop.pop(loop, None)
        return pairs

    async def aclose_all(self) -> None:
        """Close the clients of running loops: on this loop awaited, on another scheduled.

        Scheduled, not awaited: that loop's thread may be the one blocked on us (a sync
        close() from a notebook cell). A loop that is not running (the main thread's own,
        between sync calls) cannot be run from here; `close_idle` or exit closes its client.
        """
        current = asyncio.get_running_loop()
        for loop, closer in self.take(lambda loop: loop is current or (loop.is_running() and not loop.is_closed())):
            try:
                if loop is current:
                    await closer.aclose()
                else:
                    asyncio.run_coroutine_threadsafe(closer.aclose(), loop)
            except Exception:
                _log.debug("closing an AxonFlow client failed", exc_info=True)

    def close_idle(self) -> None:
        """Close, from this thread, the clients of loops that are not running (sync close())."""
        for loop, closer in self.take(lambda loop: not loop.is_running()):
            _close_on(loop, closer)

    def close_everything(self) -> None:
        for loop, closer in self.take():
            _close_on(loop, closer)


_POOLS: "weakref.WeakSet[ClientPool]" = weakref.WeakSet()


def _close_all_pools() -> None:
    for pool in list(_POOLS):
        if pool.owns_clients:
            pool.close_everything()


at_shutdown(ShutdownStep.CLIENTS, _close_all_pools)


__all__ = ["ClientPool", "build_client", "ensure_sdk", "MAX_IN_FLIGHT"]
