"""The user's local AxonFlow agent: one per user and data directory, shared by their kernels.

Found (or started, in a process of its own) through the runtime file the agent package keeps,
as Jupyter finds its servers; the kernel connects with the secret kept there, so there is nothing
to configure. The notebook only uses the agent package's public names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from IPython.core.error import UsageError


@dataclass
class InProcessAgent:
    """An embedded agent on a thread of this kernel: the stand-in used while the agent package
    has no `ensure_local_agent` yet. Unlike the shared agent, the kernel stops it when done."""

    agent: Any = field(repr=False)
    data_dir: str
    db_path: str
    policies: Optional[str]
    secret: Optional[str] = field(default=None, repr=False)
    started_now: bool = True

    @property
    def url(self) -> str:
        return self.agent.url

    @property
    def pid(self) -> int:
        return os.getpid()

    def stop(self) -> None:
        self.agent.stop()


def _in_process(data_dir: Path, policies: Optional[str]) -> InProcessAgent:
    from ...agent import EmbeddedAgent

    db_path = data_dir / "agent.sqlite3"
    agent = EmbeddedAgent(port=0, db_path=str(db_path), policies=policies, auth=None).start()
    return InProcessAgent(agent, str(data_dir), str(db_path), policies)


def local_agent(data_dir: Path, policies: Optional[str]) -> Any:
    """The live local agent of `data_dir`, started if need be; `.url`, `.secret`, `.db_path`,
    `.policies`, `.started_now`. A bad policy file or data dir is one UsageError."""
    from ...agent import AgentConfigError

    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        try:
            from ...agent import ensure_local_agent
        except ImportError:  # stand-in until the agent branch provides it
            return _in_process(data_dir, policies)
        return ensure_local_agent(data_dir, policies=policies)
    except AgentConfigError as exc:  # bad policy file, data dir: one clear line
        raise UsageError(f"AxonFlow embedded agent: {exc}") from None


def owned_by_kernel(agent: Any) -> bool:
    """Whether this kernel stops `agent` when it is done with it (never the shared agent)."""
    return isinstance(agent, InProcessAgent)


def stop_local_agents(data_dir: Path) -> None:
    """Stop the shared agent of `data_dir`, if any (tests; `axonflow-notebook agent` users)."""
    try:
        from ...agent import stop_local_agent
    except ImportError:
        return
    stop_local_agent(data_dir)
