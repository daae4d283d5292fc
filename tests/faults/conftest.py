"""Fixtures for fault tests: faulty AxonFlow servers, the loopback LLM server, a shell.

- ``fault_endpoint(fault)``: the URL of an AxonFlow that answers with ``fault``
  ("stopped" is a loopback port nobody listens on); servers stop at teardown.
- ``llm``: the loopback OpenAI-compatible server, request count reset per test.
- ``shell``: a real InteractiveShell with ``%load_ext axonflow_notebook`` and
  widget test comms, shared by the module.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("AXONFLOW_TELEMETRY", "off")
sys.path.insert(0, str(Path(__file__).parent))

from faulty_agent import FaultyAgent, free_port  # noqa: E402

SHELL_KEYS = ("OPENAI_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY",
              "AXONFLOW_ENDPOINT", "AXONFLOW_CLIENT_ID", "AXONFLOW_CLIENT_SECRET",
              "AXONFLOW_NOTEBOOK_MODEL", "AXONFLOW_POLICIES")


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
    import ipywidgets
    from ipywidgets.widgets.tests import utils
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    original_repr = ipywidgets.Widget._repr_mimebundle_
    utils.setup_test_comm()
    ipywidgets.Widget._repr_mimebundle_ = original_repr
    mp = pytest.MonkeyPatch()
    for key in SHELL_KEYS:
        mp.delenv(key, raising=False)
    mp.setenv("OPENAI_API_KEY", "sk-test")
    mp.setenv("OPENAI_API_BASE", llm_server.url + "/v1")
    mp.setenv("AXONFLOW_CLIENT_ID", "notebook")
    config = Config()
    config.HistoryAccessor.enabled = False
    ip = InteractiveShell.instance(config=config)
    ip.extension_manager.unload_extension("axonflow_notebook")
    ip.config.pop("GovernedMagics", None)
    ip.run_line_magic("load_ext", "axonflow_notebook")
    magics = ip.magics_manager.registry["GovernedMagics"]
    magics.data_dir = str(tmp_path_factory.mktemp("axonflow-data"))
    yield ip
    ip.run_line_magic("unload_ext", "axonflow_notebook")
    ip.config.pop("GovernedMagics", None)
    mp.undo()
    utils.teardown_test_comm()
    ipywidgets.Widget._repr_mimebundle_ = original_repr
