"""Where evidence is read from when a caller does not say: the notebook's AxonFlow and journal.

In a notebook, `%load_ext axonflow_notebook` registers the kernel's own backend and journal
(axonflow_notebook/notebook/evidence_hooks.py), so `audit_frame()` reads the AxonFlow the magics
use. Elsewhere (scripts, the command line): `AXONFLOW_ENDPOINT` and friends if set, else the
user's local agent if one is running (never started from here), and the journal in the user's
data directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional, Tuple

ConsoleFactory = Callable[[], Any]  # -> a core GovernanceConsole
_console: Optional[ConsoleFactory] = None
_journal: Optional[Callable[[], Optional[Path]]] = None
_data_dir: Optional[Callable[[], Path]] = None


class NoSource(RuntimeError):
    """There is nothing to read the evidence from; the message says what to set."""


def register(*, console: Optional[ConsoleFactory] = None, journal: Optional[Callable[[], Optional[Path]]] = None,
             data_dir: Optional[Callable[[], Path]] = None) -> Callable[[], None]:
    """Make these the defaults (the notebook does, on `%load_ext`); returns an unregister."""
    global _console, _journal, _data_dir
    _console, _journal, _data_dir = console, journal, data_dir

    def unregister() -> None:
        global _console, _journal, _data_dir
        if _console is console and _journal is journal:
            _console = _journal = _data_dir = None

    return unregister


def default_data_dir() -> Path:
    if _data_dir is not None:
        return Path(_data_dir())
    from platformdirs import user_data_dir

    return Path(user_data_dir("axonflow-notebook"))


def journal_path() -> Path:
    """The journal the notebook writes, else the one in the user's data directory."""
    if _journal is not None:
        found = _journal()
        if found is None:
            raise NoSource("the local audit journal is off (AXONFLOW_JOURNAL=off)")
        return Path(found)
    return default_data_dir() / "journal.sqlite3"


def agent_store() -> Optional[Path]:
    """The local agent's database in the data directory, if there is one."""
    folder = default_data_dir()
    for name in ("agent.sqlite3", "agent.db"):  # the local agent's, `axonflow-notebook agent`'s
        if (folder / name).exists():
            return folder / name
    return None


def console() -> Tuple[Any, Callable[[], None]]:
    """(a GovernanceConsole, its closer): the notebook's, else the environment's or the local agent's."""
    if _console is not None:
        return _console(), lambda: None
    from ..core.config import AxonFlowLoggerConfig
    from ..core.review import GovernanceConsole

    if AxonFlowLoggerConfig.environment_values().get("endpoint"):
        config = AxonFlowLoggerConfig.from_env()
    else:
        from ..agent import find_local_agent

        agent = find_local_agent(default_data_dir())
        if agent is None:
            raise NoSource("no AxonFlow to read the trail from: set AXONFLOW_ENDPOINT (and AXONFLOW_CLIENT_ID, "
                           "AXONFLOW_CLIENT_SECRET), start the local agent (axonflow-notebook agent), "
                           "or read this machine's journal with source='local'")
        os.environ.setdefault("AXONFLOW_TELEMETRY", "off")
        config = AxonFlowLoggerConfig.from_env(endpoint=agent.url, client_id="notebook",
                                               client_secret=agent.secret)
    made = GovernanceConsole(config)
    return made, made.close


__all__ = ["register", "console", "journal_path", "agent_store", "default_data_dir", "NoSource"]
