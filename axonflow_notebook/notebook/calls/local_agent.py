"""The user's local AxonFlow agent: one per user and data directory, shared by their kernels.

Found (or started, in a process of its own) through the runtime file the agent package keeps,
as Jupyter finds its servers (axonflow_notebook/agent/local.py); the kernel connects with the
secret kept there, so there is nothing to configure. A kernel never stops it: other kernels of
the same user use it too, and it exits by itself when idle. The notebook only uses the agent
package's public names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from IPython.core.error import UsageError


def local_agent(data_dir: Path, policies: Optional[str]) -> Any:
    """The live `LocalAgent` of `data_dir`, started if need be, enforcing `policies` (a file,
    or None for the built-in catalogue). A bad policy file or data dir is one UsageError."""
    from ...agent import AgentConfigError, ensure_local_agent

    try:
        return ensure_local_agent(data_dir, policies=policies)
    except AgentConfigError as exc:  # bad policy file, data dir: one clear line
        raise UsageError(f"AxonFlow embedded agent: {exc}") from None


def stop_local_agents(data_dir: Path) -> None:
    """Stop the shared agent of `data_dir`, if any (tests; `axonflow-notebook agent` users)."""
    from ...agent import stop_local_agent

    stop_local_agent(data_dir)
