"""Fixtures for fault tests: faulty AxonFlow servers, the loopback LLM server, a shell.

- ``fault_endpoint(fault)``: the URL of an AxonFlow that answers with ``fault``
  (axonflow_notebook/testing/faulty_agent.py; "stopped" is a loopback port nobody listens
  on); servers stop at teardown.
- ``llm``: the loopback OpenAI-compatible server, request count reset per test.
- ``shell``: a governed shell (axonflow_notebook/testing/shell.py) whose LLM is the loopback
  server, shared by the module; its data and agent runtime dirs are the test's own.
"""

from __future__ import annotations

import pytest

from axonflow_notebook.testing.faulty_agent import FaultyAgent
from axonflow_notebook.testing.ports import free_port
from axonflow_notebook.testing.shell import governed_shell


@pytest.fixture
def fault_endpoint():
    started = []

    def start(fault: str, slow_seconds: float = 2.0) -> str:
        if fault == "stopped":
            return f"http://127.0.0.1:{free_port()}"
        server = FaultyAgent(fault, slow_seconds=slow_seconds).start()
        started.append(server)
        return server.url

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def callbacks():
    """LiteLLM copies `callbacks` into internal lists at the first call: reset them all."""
    import litellm

    litellm.logging_callback_manager._reset_all_callbacks()
    yield
    litellm.callbacks = []
    litellm.logging_callback_manager._reset_all_callbacks()


@pytest.fixture(scope="module")
def shell(tmp_path_factory, llm_server):
    """`%load_ext axonflow_notebook` in a real InteractiveShell whose LLM is the loopback server."""
    env = {"OPENAI_API_KEY": "sk-test", "OPENAI_API_BASE": llm_server.url + "/v1",
           "AXONFLOW_CLIENT_ID": "notebook"}
    with governed_shell(tmp_path_factory.mktemp("axonflow-data"), env=env) as ip:
        yield ip
