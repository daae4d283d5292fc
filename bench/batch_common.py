"""What the batch benchmarks share: the agent and the loopback LLM in processes of their own (so
their CPU never shares our GIL or our CPU clock), and the bare loop governed rows are compared to."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any, List, Optional


os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("AXONFLOW_TELEMETRY", "off")

from axonflow_notebook.testing.ports import free_port, wait_http  # noqa: E402  (the benchmarks' siblings import them from here)


class SubprocessAgent:
    """`axonflow-notebook agent` in its own process; it prints its secret once at start."""

    def __init__(self, db: str, policies: Optional[str] = None) -> None:
        port = free_port()
        cli = os.path.join(os.path.dirname(sys.executable), "axonflow-notebook")
        args = [cli, "agent", "--port", str(port), "--db", db] + (["--policies", policies] if policies else [])
        self._proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.secret = next(line.split("=", 1)[1].strip() for line in self._proc.stdout  # type: ignore[union-attr]
                           if "AXONFLOW_CLIENT_SECRET=" in line)
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/health")

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)


class SubprocessLLM:
    """The loopback OpenAI-compatible server in its own process, answering after `delay_s`."""

    def __init__(self, delay_s: float = 0.0) -> None:
        port = free_port()
        code = ("import time; from axonflow_notebook.testing.openai_server import OpenAITestServer; "
                f"s = OpenAITestServer(port={port}); s.delay_seconds = {delay_s!r}; s.start(); time.sleep(10**6)")
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/v1/models")

    def kwargs(self, model: str = "openai/test-model") -> dict:
        return {"model": model, "api_base": self.url + "/v1", "api_key": "sk-test"}

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)


async def bare_batch(prompts: List[str], concurrency: int, **kwargs: Any) -> int:
    """The ungoverned reference: an asyncio.Semaphore around litellm.acompletion; rows answered."""
    import litellm

    gate = asyncio.Semaphore(concurrency)

    async def one(prompt: str) -> bool:
        async with gate:
            response = await litellm.acompletion(messages=[{"role": "user", "content": prompt}], **kwargs)
            return bool(response.choices)

    return sum(await asyncio.gather(*(one(p) for p in prompts)))


def prompts(n: int) -> List[str]:
    return [f"Classify support ticket {i} as bug, question or praise: the export button is slow." for i in range(n)]
