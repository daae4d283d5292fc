"""Former name of the runtime (runtime.py), kept for axonflow_notebook/notebook/approvals.py until it moves."""

from __future__ import annotations

from .runtime import Runtime as SyncBridge, get_runtime as get_bridge, loop_running_here

__all__ = ["SyncBridge", "get_bridge", "loop_running_here"]
