"""Which AxonFlow governs this notebook: the configured endpoint, or an embedded agent.

Created on first use, never at `%load_ext` (starting it imports LiteLLM, the AxonFlow SDK and the
agent's web stack, seconds of work). The notebook only talks to AxonFlow through the core, and
only starts the agent; it never reaches into either.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from IPython.core.error import UsageError

from .settings import GovernedSettings, reveal

DEV_CLIENT_ID = "notebook"


@dataclass
class Backend:
    url: str
    embedded: bool
    dev_mode: bool
    client_id: str
    logger: Any
    console: Any
    data_path: Optional[str] = None
    agent: Any = field(default=None, repr=False)
    settings: Any = field(default=None, repr=False)
    _reviewer_console: Any = field(default=None, repr=False)

    def approval_console(self) -> Any:
        """The console Approve / Reject go through: the reviewer's own credentials when a
        reviewer secret is configured (a real AxonFlow attributes decisions to the
        authenticated client), else the notebook's."""
        s = self.settings
        if s is None or not (s.reviewer_id and s.reviewer_secret):
            return self.console
        if self._reviewer_console is None:
            from ..core.review import GovernanceConsole

            self._reviewer_console = GovernanceConsole(_core_config(
                s, endpoint=self.url, client_id=s.reviewer_id, secret=reveal(s.reviewer_secret)))
        return self._reviewer_console

    @property
    def label(self) -> str:
        return f"embedded agent at {self.url}" if self.embedded else self.url

    def describe(self) -> dict:
        out = {
            "backend": "embedded agent (development mode)" if self.embedded else "AxonFlow",
            "url": self.url,
            "client_id": self.client_id,
        }
        if self.data_path:
            out["data"] = self.data_path
        return out

    def reconnect(self) -> None:
        """New logger and console with the current settings (timeouts, fail-open), same URL."""
        old = (self.console, self._reviewer_console, self.logger)
        self.logger, self.console = _connect(self.settings, endpoint=self.url,
                                             client_id=self.client_id, secret=_secret(self.settings))
        self._reviewer_console = None
        _close_all(old)

    def close(self) -> None:
        _close_all((self.console, self._reviewer_console, self.logger))
        if self.agent is not None:
            self.agent.stop()
            self.agent = None


def _close_all(objects: tuple) -> None:
    """Close core objects without blocking a running kernel loop.

    The core's sync `close()` waits on its bridge thread, which may need the caller's loop to
    close a client bound to it: from a cell (on the kernel loop) that would deadlock, so there
    the async `aclose()` is scheduled on the loop instead.
    """
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    for obj in objects:
        if obj is None:
            continue
        try:
            aclose = getattr(obj, "aclose", None)
            if loop is not None and aclose is not None:
                loop.create_task(aclose())
            elif getattr(obj, "close", None) is not None:
                obj.close()
        except Exception:
            pass


def _secret(settings: GovernedSettings) -> str:
    return reveal(settings.effective_client_secret())


def _core_config(settings: GovernedSettings, *, endpoint: str, client_id: str, secret: str) -> Any:
    from pydantic import ValidationError

    from ..core.config import AxonFlowLoggerConfig

    try:
        return AxonFlowLoggerConfig(
            endpoint=endpoint,
            client_id=client_id,
            client_secret=secret,
            fail_open=settings.fail_open,
            call_timeout_seconds=settings.call_timeout_seconds,
            approval_max_wait_seconds=settings.approval_max_wait_seconds,
            approval_poll_interval_seconds=settings.approval_poll_interval_seconds,
        )
    except ValidationError as exc:  # one line naming the setting, not a pydantic traceback
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"AxonFlow configuration (%config GovernedMagics): {problems}") from None


def _connect(settings: GovernedSettings, *, endpoint: str, client_id: str, secret: str) -> tuple:
    from ..core.logger import AxonFlowLogger
    from ..core.review import GovernanceConsole

    logger = AxonFlowLogger(_core_config(settings, endpoint=endpoint, client_id=client_id,
                                         secret=secret))
    return logger, GovernanceConsole(logger)  # the console shares the logger's SDK clients


def start_backend(settings: GovernedSettings, say: Callable[[str], None] = print) -> Backend:
    endpoint = settings.effective_endpoint()
    secret = _secret(settings)
    if endpoint:
        client_id = settings.effective_client_id()
        if not client_id:
            raise UsageError(
                f"AxonFlow at {endpoint} needs a client id: set AXONFLOW_CLIENT_ID "
                "or %config GovernedMagics.client_id = '...'"
            )
        logger, console = _connect(settings, endpoint=endpoint, client_id=client_id, secret=secret)
        return Backend(endpoint, False, False, client_id, logger, console, settings=settings)

    os.environ.setdefault("AXONFLOW_TELEMETRY", "off")  # the embedded path never phones home
    from ..agent import EmbeddedAgent

    data_dir = Path(settings.effective_data_dir()).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "agent.sqlite3"
    agent = EmbeddedAgent(port=0, db_path=str(db_path), policies=settings.effective_policies(), auth=None)
    agent.start()
    try:
        client_id = settings.effective_client_id(DEV_CLIENT_ID)
        logger, console = _connect(settings, endpoint=agent.url, client_id=client_id, secret=secret)
    except BaseException:
        agent.stop()
        raise
    say(f"AxonFlow: embedded agent at {agent.url} (development mode, data in {db_path}). "
        "Set AXONFLOW_ENDPOINT to use your AxonFlow.")
    return Backend(agent.url, True, True, client_id, logger, console, str(db_path), agent,
                   settings=settings)


class BackendHolder:
    """Starts the backend once, on first use, from whichever thread asks first."""

    def __init__(self, settings: GovernedSettings, say: Callable[[str], None] = print) -> None:
        self._settings = settings
        self._say = say
        self._lock = threading.Lock()
        self._backend: Optional[Backend] = None

    @property
    def started(self) -> Optional[Backend]:
        return self._backend

    def get(self) -> Backend:
        with self._lock:
            if self._backend is None:
                from ..agent import AgentConfigError

                try:
                    self._backend = start_backend(self._settings, self._say)
                except AgentConfigError as exc:  # bad policy file, data dir: one clear line
                    raise UsageError(f"AxonFlow embedded agent: {exc}") from None
            return self._backend

    def close(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def reconnect(self) -> None:
        with self._lock:
            if self._backend is not None:
                self._backend.reconnect()
