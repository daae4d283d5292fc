"""Root fixtures: a real embedded agent on a loopback socket and official SDK clients for it.

- ``agent_factory(**kwargs)``: start an ``EmbeddedAgent`` (``db_path`` defaults to a fresh
  file under ``tmp_path``); every agent it started is stopped at teardown.
- ``agent``: a running local agent (built-in catalogue, tmp db) that requires its secret
  (``agent.secret``) as the Basic password.
- ``sdk`` / ``reviewer_sdk``: ``axonflow.AxonFlow`` clients for ``agent`` as ``analyst``
  and ``reviewer`` (with the agent's secret).
- ``auth_file``: an auth YAML with clients ``analyst``, ``analyst2`` (not reviewers) and
  ``reviewer``, ``reviewer2`` (reviewers); secrets are ``<id>-secret``.
- ``secured_agent``: an agent started with ``auth_file``; ``secured_sdk`` (analyst) and
  ``secured_reviewer_sdk`` (reviewer) are clients for it.
- ``make_sdk(agent, client_id=..., client_secret=...)``: any further client; the secret
  defaults to the agent's own (``agent.secret``), else to ``<client_id>-secret``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("AXONFLOW_TELEMETRY", "off")

AUTH_CLIENTS = {"analyst": False, "analyst2": False, "reviewer": True, "reviewer2": True}


@pytest.fixture
def agent_factory(tmp_path):
    from axonflow_notebook.agent import EmbeddedAgent

    started = []

    def start(**kwargs) -> EmbeddedAgent:
        kwargs.setdefault("port", 0)
        kwargs.setdefault("db_path", str(tmp_path / f"agent-{len(started)}.db"))
        agent = EmbeddedAgent(**kwargs)
        started.append(agent)
        return agent.start()

    yield start
    for agent in started:
        agent.stop()


@pytest.fixture
def agent(agent_factory):
    return agent_factory()


@pytest.fixture
async def make_sdk():
    from axonflow import AxonFlow
    from axonflow.types import RetryConfig

    clients = []

    def make(agent, client_id: str = "analyst", client_secret=None) -> AxonFlow:
        if client_secret is None:
            client_secret = getattr(agent, "secret", None) or f"{client_id}-secret"
        client = AxonFlow(
            endpoint=agent.url,
            client_id=client_id,
            client_secret=client_secret,
            timeout=10.0,
            retry_config=RetryConfig(max_attempts=1),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def sdk(agent, make_sdk):
    return make_sdk(agent, "analyst")


@pytest.fixture
async def reviewer_sdk(agent, make_sdk):
    return make_sdk(agent, "reviewer")


@pytest.fixture
def auth_file(tmp_path) -> Path:
    lines = ["clients:"]
    for client_id, reviewer in AUTH_CLIENTS.items():
        lines += [f"  - id: {client_id}", f"    secret: {client_id}-secret"]
        if reviewer:
            lines.append("    reviewer: true")
    path = tmp_path / "auth.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def secured_agent(agent_factory, auth_file):
    return agent_factory(auth=str(auth_file))


@pytest.fixture
async def secured_sdk(secured_agent, make_sdk):
    return make_sdk(secured_agent, "analyst", "analyst-secret")


@pytest.fixture
async def secured_reviewer_sdk(secured_agent, make_sdk):
    return make_sdk(secured_agent, "reviewer", "reviewer-secret")


# -- the loopback OpenAI-compatible LLM server ------------------------------------------------


@pytest.fixture(scope="session")
def llm_server():
    """One loopback LLM server per session; LiteLLM reaches it through `openai/` + api_base."""
    import litellm

    from axonflow_notebook.testing.openai_server import OpenAITestServer

    litellm.suppress_debug_info = True
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def llm(llm_server):
    """The session's LLM server with its request count reset around the test."""
    llm_server.reset()
    yield llm_server
    llm_server.reset()
