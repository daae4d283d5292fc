"""The backend of this kernel: started once, on first use, from whichever thread asks first.

Settings arrive as snapshots (`configure`); what changed decides what happens, from the next call
on: a new endpoint or credential connects anew, a new timing makes a new logger for the same
AxonFlow, a new policy file is loaded into the running local agent in place. Nothing a kernel
replaces is closed before the kernel is done (`close`): an earlier output, such as a reviewer
queue, keeps working with the console it was given.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, List, Optional

from .backend import (
    Backend,
    BackendSettings,
    can_reload_policies,
    read_config,
    reload_policies,
    start_backend,
    wants_local_agent,
)


@dataclass(frozen=True)
class BackendPlan:
    """What `get()` connects to, known without starting anything (for the first card)."""

    local: bool
    label: str
    client_id: Optional[str]


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
            if old.connection() != settings.connection() or (
                    old.policies != settings.policies and backend.local
                    and not can_reload_policies(backend)):
                self._retire(backend, stop_agent=True)  # connects anew at the next call
                return
            if old.policies != settings.policies and backend.local:
                self._policies_pending = True
            if old.timing() != settings.timing():
                self._backend = backend.with_logger(settings.overrides)
                self._retired.append(backend)
            if (old.reviewer, old.reviewer_secret) != (settings.reviewer, settings.reviewer_secret):
                self._backend.reviewer = settings.reviewer
                self._backend.reviewer_secret = settings.reviewer_secret
                self._backend._reviewer_console = None

    def _retire(self, backend: Backend, *, stop_agent: bool) -> None:
        self._backend = None
        self._policies_pending = False
        if stop_agent and backend.agent is not None and not can_reload_policies(backend):
            backend.close(stop_agent=True)  # an agent of this kernel's own: one per data file
        else:
            self._retired.append(backend)

    def get(self) -> Backend:
        """The backend, started (or its policies reloaded) first if need be. Blocks."""
        with self._lock:
            if self._backend is None:
                self._backend = start_backend(self._settings, self._say)
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

    def plan(self) -> BackendPlan:
        backend = self._backend
        if backend is not None:
            return BackendPlan(backend.local, backend.label, backend.client_id)
        overrides = self._settings.overrides
        if wants_local_agent(overrides):
            client_id = read_config({**overrides, "endpoint": "http://local"},
                                    {"client_id": "notebook"}).client_id
            return BackendPlan(True, "embedded agent", client_id)
        try:
            config = read_config(overrides)
        except Exception:  # reported when the call starts the backend
            return BackendPlan(False, "AxonFlow", None)
        return BackendPlan(False, config.endpoint, config.client_id)

    def close(self) -> None:
        with self._lock:
            backends = self._retired + ([self._backend] if self._backend is not None else [])
            self._backend, self._retired = None, []
        for backend in backends:
            backend.close()
