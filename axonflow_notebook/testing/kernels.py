"""Real kernels for tests and benchmarks (jupyter_client), with a clean, private environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional

from .shell import QUIET_ENV, SCRUBBED


def kernel_env(tmp: Path, **extra: str) -> dict:
    """This process's environment without endpoints or LLM keys, with its own data dir, agent
    runtime dir and IPython dir under `tmp` (so the kernel's local agent is the test's own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    env.update(QUIET_ENV)
    env.update(XDG_DATA_HOME=str(tmp / "data"), AXONFLOW_RUNTIME_DIR=str(tmp / "agent-runtime"),
               IPYTHONDIR=str(tmp / "ipython"), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def kernel_data_dir(env: dict) -> Path:
    """The data dir a kernel started with `env` gives the extension by default."""
    return Path(env["XDG_DATA_HOME"]) / "axonflow-notebook"


def start_kernel(env: dict, kernel_name: str = "python3") -> tuple:
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def stop_kernel(km: Any, kc: Any, env: Optional[dict] = None) -> None:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    if env is not None:
        from .agents import stop_local_agents

        stop_local_agents(kernel_data_dir(env), runtime_dir=env.get("AXONFLOW_RUNTIME_DIR"))


def run(kc: Any, code: str, timeout: float = 120, output_hook: Optional[Callable] = None) -> dict:
    """Execute `code` and return the reply's content."""
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=output_hook or (lambda msg: None))
    return reply["content"]
