"""Fixtures of the batch tests: the embedded agent with the demo policies, loggers for it, and a
reviewer's console on another client (the loopback LLM server is the root `llm` fixture).

- `batch_agent`: a running embedded agent (its own SQLite file) with notebooks/policies.yaml.
- `make_logger(**config)`: an `AxonFlowLogger` for it as client `batch-tests`, fast polling;
  closed at teardown.
- `reviewer`: a `GovernanceConsole` for it as client `review-desk`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from axonflow_notebook.core.config import AxonFlowLoggerConfig

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"
from axonflow_notebook.testing.batches import CLIENT


@pytest.fixture
def batch_agent(tmp_path):
    from axonflow_notebook.testing.agents import start_agent

    agent = start_agent(tmp_path / "agent.db", policies=POLICIES)
    yield agent
    agent.stop()


@pytest.fixture
def make_config(batch_agent):
    def make(**overrides: Any) -> AxonFlowLoggerConfig:
        values = dict(endpoint=batch_agent.url, client_id=CLIENT, client_secret=batch_agent.test_secret,
                      approval_poll_interval_seconds=0.1, approval_max_wait_seconds=30.0,
                      call_timeout_seconds=5.0)
        values.update(overrides)
        return AxonFlowLoggerConfig(**values)

    return make


@pytest.fixture
def make_logger(make_config):
    from axonflow_notebook.core.logger import AxonFlowLogger

    made = []

    def make(**overrides: Any) -> AxonFlowLogger:
        logger = AxonFlowLogger(make_config(**overrides))
        made.append(logger)
        return logger

    yield make
    for logger in made:
        logger.close()


@pytest.fixture
def reviewer(make_config):
    from axonflow_notebook.core.review import GovernanceConsole

    console = GovernanceConsole(make_config(client_id="review-desk"))
    yield console
    console.close()
