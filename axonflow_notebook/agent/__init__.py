"""The embedded AxonFlow-compatible agent (HTTP app, policy engine, SQLite store, HITL, audit).

Importing this package is cheap: every public name loads on first use, and the server stack
(Starlette, uvicorn, the policy engine) only when an agent starts.

- ``EmbeddedAgent``: an agent on a background thread of this process.
- ``ensure_local_agent(data_dir)``, ``find_local_agent``, ``stop_local_agent``, ``LocalAgent``:
  one agent per user and data directory, in a process of its own, found through a runtime
  file only that user can read (as Jupyter finds its servers).
- ``PolicySet`` (and its ``Evaluation``): the set in force or a draft, evaluating prompts
  exactly as the pre-check does, with no agent (for ``what_if`` replays).
- ``verify_agent_store(db_path, key=None)``: verify the hash chain of an agent's audit table.
- ``policy_history(db_path)``: every policy set the agent put in force (for evidence bundles).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = [
    "AgentConfigError",
    "EmbeddedAgent",
    "Evaluation",
    "LocalAgent",
    "PolicySet",
    "ensure_local_agent",
    "find_local_agent",
    "policy_history",
    "stop_local_agent",
    "verify_agent_store",
]

_HOMES = {
    "AgentConfigError": "server",
    "EmbeddedAgent": "server",
    "Evaluation": "replay",
    "PolicySet": "replay",
    "verify_agent_store": "audit_verify",
    "policy_history": "loaded_policy_sets",
    "LocalAgent": "local",
    "ensure_local_agent": "local",
    "find_local_agent": "local",
    "stop_local_agent": "local",
}

_ATTRS = {"verify_agent_store": "verify_store"}

if TYPE_CHECKING:  # pragma: no cover
    from .audit_verify import verify_store as verify_agent_store
    from .local import LocalAgent, ensure_local_agent, find_local_agent, stop_local_agent
    from .loaded_policy_sets import policy_history
    from .replay import Evaluation, PolicySet
    from .server import AgentConfigError, EmbeddedAgent


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{home}", __name__), _ATTRS.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
