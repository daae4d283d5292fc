"""This kernel's share of the extension: its backend, its journal and the results of its calls."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Callable, List, Optional

from .backend import Backend, BackendSettings
from .holder import BackendHolder


class KernelResults:
    """Thread-safe list of the GovernedResults made in this kernel (background calls included),
    for `%axonflow audit`'s "this kernel" summary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: List[Any] = []

    def add(self, result: Any) -> None:
        with self._lock:
            self._results.append(result)

    @property
    def results(self) -> List[Any]:
        with self._lock:
            return list(self._results)

    def clear(self) -> None:
        with self._lock:
            self._results.clear()


class NotebookRuntime:
    """The lazily started backend, the local audit journal, and this kernel's results."""

    def __init__(self, settings: BackendSettings, say: Callable[[str], None] = print) -> None:
        self.backends = BackendHolder(settings, say)
        self.session = KernelResults()
        self._say = say
        self._journal_refused: Optional[str] = None
        self._live_queue: Optional[Any] = None  # the one `%axonflow queue` that refreshes itself

    def show_queue(self, queue: Any) -> None:
        """A new live reviewer queue replaces the last one, which stops polling and stays in its
        cell as its static snapshot: one refresh task per kernel, stopped by `close()` at the latest."""
        previous, self._live_queue = self._live_queue, queue
        if previous is not None:
            previous.close()

    def backend(self) -> Backend:
        backend = self.backends.get()
        self._attach_journal(backend)
        return backend

    def started_backend(self) -> Optional[Backend]:
        """The backend if it has started; never starts it."""
        return self.backends.started

    async def abackend(self) -> Backend:
        backend = await self.backends.aget()
        self._attach_journal(backend)
        return backend

    def starting_text(self) -> str:
        """What a card says while the backend starts (the first call of a kernel)."""
        from .backend import wants_local_agent

        try:
            local = wants_local_agent(self.backends.settings.overrides)
        except Exception:  # a bad setting: the start itself says what is wrong
            local = False
        return "starting the embedded agent…" if local else "connecting to AxonFlow…"

    def describe_policy(self, policy_id: str) -> Optional[str]:
        """The policy's description, for a held or blocked card's "Reason" (None before the
        backend has started: no decision can have arrived then)."""
        backend = self.backends.started
        return backend.policy_descriptions.describe(policy_id) if backend is not None else None

    def _attach_journal(self, backend: Backend) -> None:
        journal = self.journal()
        if journal is not None:
            journal.attach(backend.logger)  # idempotent; a reconnect brings a new logger

    def journal(self) -> Optional[Any]:
        """The local audit journal in the data dir (AXONFLOW_JOURNAL=off disables it)."""
        if os.environ.get("AXONFLOW_JOURNAL", "").strip().lower() in ("off", "0", "false", "no"):
            return None
        from ...core.journal import default_journal

        settings = self.backends.settings
        try:
            return default_journal(Path(settings.data_dir).expanduser() / "journal.sqlite3",
                                   retention_days=settings.journal_retention_days)
        except ValueError as exc:  # the journal's chain key is not the one configured (journal_chain.py)
            if self._journal_refused != str(exc):
                self._journal_refused = str(exc)
                self._say(f"AxonFlow: the local audit journal is not recording: {exc}")
            return None

    def close(self) -> None:
        queue, self._live_queue = self._live_queue, None
        if queue is not None:
            queue.close()
        self.backends.close()
