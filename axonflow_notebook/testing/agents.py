"""Embedded agents for tests: started on a thread of the test process, or the user's shared one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

TEST_SECRET = "test-agent-secret-5c1d"  # used where the agent requires one


def start_agent(db_path: Any, *, policies: Optional[Any] = None, port: int = 0,
                secret: str = TEST_SECRET, **kwargs: Any) -> Any:
    """A started `EmbeddedAgent` on a thread of this process that requires `secret` (unless an
    `auth` file is given), with `.test_secret`: the credential a client must send."""
    from axonflow_notebook.agent import EmbeddedAgent

    if "auth" not in kwargs:
        kwargs["secret"] = secret
    agent = EmbeddedAgent(port=port, db_path=str(db_path),
                          policies=str(policies) if policies else None, **kwargs).start()
    agent.test_secret = secret
    return agent


def stop_local_agents(data_dir: Any, runtime_dir: Optional[str] = None) -> None:
    """Stop the shared local agent a kernel or shell started for `data_dir` (if any); its
    runtime file is in `runtime_dir` (AXONFLOW_RUNTIME_DIR) when the kernel was given one."""
    import os

    from axonflow_notebook.notebook.calls.local_agent import stop_local_agents as stop

    saved = os.environ.get("AXONFLOW_RUNTIME_DIR")
    if runtime_dir:
        os.environ["AXONFLOW_RUNTIME_DIR"] = runtime_dir
    try:
        stop(Path(data_dir))
    finally:
        if runtime_dir:
            if saved is None:
                os.environ.pop("AXONFLOW_RUNTIME_DIR", None)
            else:
                os.environ["AXONFLOW_RUNTIME_DIR"] = saved


def pending_request_ids(console: Any) -> list:
    """Ids of the pending approval requests a `GovernanceConsole` lists (blocking)."""
    from axonflow_notebook.notebook.calls.sync import resolve

    records, _ = resolve(console.list_queue(status="pending"))
    return [record.request_id for record in records]
