"""The backend of this kernel: started once, on first use, from whichever thread asks first.

Settings arrive as snapshots (`configure`); what changed decides what happens, from the next call
on: a new endpoint or credential connects anew, a new timing makes a new logger for the same
AxonFlow, a new policy file is loaded into the running local agent in place. Nothing a kernel
replaces is closed before the kernel is done (`close`): an earlier output, such as a reviewer
queue, keeps working with the console it was given.
"""

from __future__ import annotations

import threading
from typing import Callable, List, Optional

from .backend import Backend, BackendSettings, reload_policies, start_backend


class BackendHolder:
    def __init__(self, settings: BackendSettings, say: Callable[[str], None] = print) -> None:
        self._settings = settings
        self._say = say
        self._lock = threading.RLock()
        self._backend: Optional[Backend] = None
        self._retired: List[Backend] = []
        self._policies_pending = False

    @property
    def started(self) -> Optional[Backend]:
        return self._backend

    @property
    def settings(self) -> BackendSettings:
        return self._settings

    def configure(self, settings: BackendSettings) -> None:
        with self._lock:
            old, self._settings = self._settings, settings
            backend = self._backend
            if backend is None or old == settings:
                return
            if old.connection() != settings.connection():
                self._retire(backend)  # connects anew at the next call
                return
            if old.policies != settings.policies and backend.local:
                self._policies_pending = True
            if old.timing() != settings.timing():
                self._backend = backend.with_logger(settings.overrides)
                self._backend.policy_descriptions.prefetch()
                backend.agent = None  # the agent goes on with the new logger; only its clients retire
                self._retired.append(backend)
            if (old.reviewer, old.reviewer_secret) != (settings.reviewer, settings.reviewer_secret):
                self._backend.reviewer = settings.reviewer
                self._backend.reviewer_secret = settings.reviewer_secret
                self._backend._reviewer_console = None

    def _retire(self, backend: Backend) -> None:
        self._backend = None
        self._policies_pending = False
        self._retired.append(backend)  # earlier outputs keep its console until unload

    def get(self) -> Backend:
        """The backend, started (or its policies reloaded) first if need be. Blocks."""
        with self._lock:
            if self._backend is None:
                self._backend = start_backend(self._settings, self._say)
                self._backend.policy_descriptions.prefetch()  # for the cards' "Reason"
            elif self._policies_pending:
                reload_policies(self._backend, self._settings.policies, self._say)
                self._policies_pending = False
            return self._backend

    async def aget(self) -> Backend:
        """`get()` without blocking the running loop (the first cell of a kernel)."""
        import asyncio

        backend = self._backend
        if backend is not None and not self._policies_pending:
            return backend
        return await asyncio.to_thread(self.get)

    def close(self) -> None:
        with self._lock:
            backends = self._retired + ([self._backend] if self._backend is not None else [])
            self._backend, self._retired = None, []
        for backend in backends:
            backend.close()
