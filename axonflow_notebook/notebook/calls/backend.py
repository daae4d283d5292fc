"""Which AxonFlow governs this notebook: the configured endpoint, or the user's local agent.

Configuration is read in one place, the core's `AxonFlowLoggerConfig.from_env`: the settings a
user set in the notebook are its overrides, the environment comes next, and the notebook's own
defaults (the local agent, the client id `notebook`) last. Starting a backend imports LiteLLM,
the AxonFlow SDK and maybe the agent: never at `%load_ext`, and off the kernel's loop when a cell
awaits it (see holder.py).
"""

from __future__ import annotations

import os
from collections import ChainMap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from IPython.core.error import UsageError

from .approvals import Reviewer
from .local_agent import local_agent

DEV_CLIENT_ID = "notebook"
LOCAL = "(local agent)"  # placeholder endpoint: nothing configured, use the local agent
_ENV_PREFIX = "AXONFLOW_"


@dataclass(frozen=True)
class BackendSettings:
    """A snapshot of the notebook's settings that decide the backend (the magics build it)."""

    overrides: Mapping[str, Any] = field(default_factory=dict)  # AxonFlowLoggerConfig fields set
    policies: Optional[str] = None  # the local agent's policy file (None: built-in catalogue)
    data_dir: str = ""
    reviewer: Reviewer = Reviewer()
    reviewer_secret: Optional[Any] = field(default=None, repr=False)  # a pydantic SecretStr
    journal_retention_days: Optional[float] = None  # None: AXONFLOW_JOURNAL_RETENTION_DAYS, else 183

    CONNECTION = ("endpoint", "client_id", "client_secret")

    def connection(self) -> tuple:
        return (tuple((k, self.overrides.get(k)) for k in self.CONNECTION), self.data_dir)

    def timing(self) -> tuple:
        return tuple(sorted((k, v) for k, v in self.overrides.items() if k not in self.CONNECTION))


def read_config(overrides: Mapping[str, Any], defaults: Optional[Mapping[str, str]] = None) -> Any:
    """`AxonFlowLoggerConfig.from_env(**overrides)` with `defaults` under the environment; a
    value it refuses is one UsageError naming the setting (never the value: it may be a secret)."""
    from pydantic import ValidationError

    from ...core.config import AxonFlowLoggerConfig

    layer = {_ENV_PREFIX + k.upper(): v for k, v in (defaults or {}).items()}
    try:
        return AxonFlowLoggerConfig.from_env(ChainMap(os.environ, layer), **overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"AxonFlow configuration (%config GovernedMagics or AXONFLOW_*): "
                         f"{problems}") from None
    except ValueError as exc:  # AXONFLOW_EXTRA_CONTEXT that is not JSON
        raise UsageError(f"AxonFlow configuration: {exc}") from None


def wants_local_agent(overrides: Mapping[str, Any]) -> bool:
    """True when no endpoint is configured, in the notebook or the environment."""
    return read_config(overrides, {"endpoint": LOCAL, "client_id": DEV_CLIENT_ID}).endpoint == LOCAL


def remote_config(overrides: Mapping[str, Any]) -> Any:
    try:
        return read_config(overrides)
    except UsageError as exc:
        endpoint = read_config(overrides, {"client_id": "x"}).endpoint
        if "client_id" in str(exc):
            raise UsageError(
                f"AxonFlow at {endpoint} needs a client id: %axonflow connect {endpoint} "
                "--reviewer ID, or set AXONFLOW_CLIENT_ID or %config GovernedMagics.client_id"
            ) from None
        raise


@dataclass(eq=False)
class Backend:
    url: str
    local: bool  # the user's local agent, in development mode (self-approval allowed)
    client_id: str
    logger: Any = field(repr=False)
    console: Any = field(repr=False)
    data_path: Optional[str] = None
    agent: Any = field(default=None, repr=False)
    reviewer: Reviewer = Reviewer()
    reviewer_secret: Optional[Any] = field(default=None, repr=False)  # a pydantic SecretStr
    _reviewer_console: Any = field(default=None, repr=False)
    _descriptions: Any = field(default=None, repr=False)

    @property
    def dev_mode(self) -> bool:
        return self.local

    @property
    def label(self) -> str:
        return f"embedded agent at {self.url}" if self.local else self.url

    @property
    def policy_descriptions(self) -> Any:
        """Policy id -> description, read once from this AxonFlow (policy_descriptions.py)."""
        if self._descriptions is None:
            from .policy_descriptions import PolicyDescriptions

            self._descriptions = PolicyDescriptions(self.console)
        return self._descriptions

    def approval_console(self) -> Any:
        """The console Approve / Reject go through: the reviewer's own credentials when a
        reviewer secret is configured (a real AxonFlow attributes decisions to the
        authenticated client), else the notebook's."""
        if self.local or not (self.reviewer.id and self.reviewer_secret):
            return self.console
        if self._reviewer_console is None:
            from ...core.review import GovernanceConsole

            config = read_config({"endpoint": self.url, "client_id": self.reviewer.id,
                                  "client_secret": self.reviewer_secret})
            self._reviewer_console = GovernanceConsole(config)
        return self._reviewer_console

    def describe(self) -> dict:
        out = {
            "backend": ("embedded agent (development mode, shared by your kernels)" if self.local
                        else "AxonFlow"),
            "url": self.url,
            "client_id": self.client_id,
        }
        if self.data_path:
            out["data"] = self.data_path
        return out

    def with_logger(self, overrides: Mapping[str, Any]) -> "Backend":
        """The same AxonFlow (same agent, URL, data) with a new logger and console: timing and
        fail-open settings apply from the next call; earlier outputs keep the old console."""
        config = self.logger.config.model_copy(update=_timing_fields(overrides, self.logger.config))
        logger, console = connect(config)
        return Backend(self.url, self.local, self.client_id, logger, console, self.data_path,
                       self.agent, self.reviewer, self.reviewer_secret)

    def close(self) -> None:
        """Close this kernel's clients; the shared local agent goes on serving other kernels."""
        close_quietly((self.console, self._reviewer_console, self.logger))


def _timing_fields(overrides: Mapping[str, Any], current: Any) -> dict:
    """The non-connection fields as the environment and `overrides` say now."""
    fresh = read_config({**overrides, "endpoint": current.endpoint, "client_id": current.client_id,
                         "client_secret": current.client_secret})
    keep = set(BackendSettings.CONNECTION)
    return {k: getattr(fresh, k) for k in type(fresh).model_fields if k not in keep}


def connect(config: Any) -> tuple:
    from ...core.logger import AxonFlowLogger
    from ...core.review import GovernanceConsole

    logger = AxonFlowLogger(config)
    return logger, GovernanceConsole(logger)  # the console shares the logger's SDK clients


def start_backend(settings: BackendSettings, say: Callable[[str], None] = print) -> Backend:
    """Connect to the configured AxonFlow, or find (or start) the user's local agent."""
    if not wants_local_agent(settings.overrides):
        config = remote_config(settings.overrides)
        logger, console = connect(config)
        return Backend(config.endpoint, False, config.client_id, logger, console,
                       reviewer=settings.reviewer, reviewer_secret=settings.reviewer_secret)

    os.environ.setdefault("AXONFLOW_TELEMETRY", "off")  # the local path never phones home
    data_dir = Path(settings.data_dir).expanduser()
    agent = local_agent(data_dir, settings.policies)
    overrides = dict(settings.overrides, endpoint=agent.url)
    if agent.secret:  # the agent's own secret, from its runtime file: nothing to configure
        from pydantic import SecretStr

        overrides["client_secret"] = SecretStr(agent.secret)
    config = read_config(overrides, {"client_id": DEV_CLIENT_ID})
    logger, console = connect(config)
    backend = Backend(agent.url, True, config.client_id, logger, console, str(agent.db_path), agent,
                      settings.reviewer, settings.reviewer_secret)
    verb = "started" if agent.started_now else "found"
    say(f"AxonFlow: embedded agent at {agent.url} ({verb}; development mode, shared by your "
        f"kernels, data in {agent.db_path}). Set AXONFLOW_ENDPOINT to use your AxonFlow.")
    return backend


def reload_policies(backend: Backend, policies: Optional[str], say: Callable[[str], None]) -> None:
    """Swap the local agent's policies in place (same URL, same data) and say what changed."""
    from .sync import resolve

    source = policies or "the built-in catalogue"
    try:
        text = Path(policies).expanduser().read_text(encoding="utf-8") if policies else ""
    except OSError as exc:
        raise UsageError(f"AxonFlow policy file {policies}: {exc.strerror or exc}") from None
    try:
        change = resolve(backend.console.reload_policies(text, source))
    except Exception as exc:  # the agent's 400 names each problem, one per line
        lines = [line for line in str(exc).splitlines() if line.strip()][:3]
        raise UsageError(f"AxonFlow policies from {source} were not loaded: " + " | ".join(lines)) from None
    backend.policy_descriptions.forget()  # the cards' "Reason" follows the new set
    counts = ", ".join(f"{len(getattr(change, k, ()) or ())} {k}" for k in ("added", "changed", "removed"))
    say(f"AxonFlow: policies from {source} now in force ({counts}; same agent at {backend.url}).")


def close_quietly(objects: tuple) -> None:
    """Close core objects without blocking a running kernel loop.

    The core's sync `close()` waits on its background loop, which may need the caller's loop to
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
