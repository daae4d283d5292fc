"""Fixtures for core tests: a scriptable fake AxonFlow client, the loopback LLM
server, and (when available) the embedded agent."""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("AXONFLOW_TELEMETRY", "off")

from axonflow_notebook.core.config import AxonFlowLoggerConfig  # noqa: E402
from core_fakes import FakeAxonFlow  # noqa: E402


@pytest.fixture
def fake():
    return FakeAxonFlow()


@pytest.fixture
def make_config():
    def make(**overrides: Any) -> AxonFlowLoggerConfig:
        values = dict(endpoint="http://127.0.0.1:9", client_id="test-app", client_secret="s3cr3t-VALUE",
                      approval_poll_interval_seconds=0.01, approval_max_wait_seconds=2.0,
                      call_timeout_seconds=1.0)
        values.update(overrides)
        return AxonFlowLoggerConfig(**values)

    return make


@pytest.fixture
def make_logger(fake, make_config):
    from axonflow_notebook.core.logger import AxonFlowLogger

    def make(**overrides: Any) -> AxonFlowLogger:
        return AxonFlowLogger.from_client(fake, make_config(**overrides))

    return make


@pytest.fixture
def call(llm):
    """LiteLLM kwargs for one call to the loopback server."""

    def make(text: str = "hello there", **extra: Any) -> dict:
        return {**llm.litellm_kwargs(), "messages": [{"role": "user", "content": text}], **extra}

    return make
