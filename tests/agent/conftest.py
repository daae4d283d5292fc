"""Fixtures of the agent's own tests.

- ``cli_agent(*args)``: start ``axonflow-notebook agent --port 0 *args`` as a user would and
  read its start banner; returns ``CliAgent(proc, url, secret, banner)``. Every process it
  started is killed at teardown if a test left it running.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Optional

import pytest

ENV = {**os.environ, "AXONFLOW_TELEMETRY": "off", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


@dataclass
class CliAgent:
    proc: subprocess.Popen
    url: str
    secret: Optional[str]
    banner: str


def read_banner(proc: subprocess.Popen) -> tuple[str, Optional[str], str]:
    """(url, secret, banner text) from the agent's start output (the secret lines only in local mode)."""
    first = proc.stdout.readline()
    match = re.search(r"listening on (http://\S+?:\d+)", first)
    assert match, f"no start line: {first!r}"
    lines = [first]
    secret = None
    if "secret required" in first:
        while True:
            line = proc.stdout.readline()
            lines.append(line)
            found = re.match(r"\s+AXONFLOW_CLIENT_SECRET=(\S+)", line)
            if found:
                secret = found.group(1)
            if not line or line.startswith("it grants full access"):
                break
    return match.group(1), secret, "".join(lines)


@pytest.fixture
def cli_agent():
    started: list[subprocess.Popen] = []

    def start(*args: str, env: Optional[dict] = None) -> CliAgent:
        proc = subprocess.Popen(
            [sys.executable, "-m", "axonflow_notebook.cli", "agent", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or ENV,
        )
        started.append(proc)
        url, secret, text = read_banner(proc)
        return CliAgent(proc, url, secret, text)

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
