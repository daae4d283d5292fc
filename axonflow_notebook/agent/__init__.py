"""The embedded AxonFlow-compatible agent (HTTP app, policy engine, SQLite store, HITL, audit).

Importing this package is cheap; the server stack loads when an agent starts.
"""

from .server import AgentConfigError, EmbeddedAgent

__all__ = ["AgentConfigError", "EmbeddedAgent"]
