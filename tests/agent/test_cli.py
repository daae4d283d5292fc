"""``axonflow-notebook agent`` as a user runs it: the secret printed once, clean exit on
SIGINT/SIGTERM, exit 2 on bad setup, a loud warning without a secret."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

ENV = {**os.environ, "AXONFLOW_TELEMETRY": "off", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serves_prints_the_secret_once_and_exits_cleanly(tmp_path, cli_agent, sig):
    agent = cli_agent("--db", str(tmp_path / "cli.db"))
    assert agent.url.startswith("http://127.0.0.1:")
    assert agent.secret and len(agent.secret) >= 40
    assert f"AXONFLOW_ENDPOINT={agent.url}" in agent.banner
    assert agent.banner.count(agent.secret) == 1
    assert httpx.get(f"{agent.url}/health").json()["status"] == "healthy"
    body = {"query": "hi", "client_id": "cli"}
    assert httpx.post(f"{agent.url}/api/policy/pre-check", json=body).status_code == 401
    response = httpx.post(f"{agent.url}/api/policy/pre-check", json=body, auth=("cli", agent.secret))
    assert response.json()["approved"] is True
    agent.proc.send_signal(sig)
    out, err = agent.proc.communicate(timeout=15)
    assert agent.proc.returncode == 0, err
    assert out == "" and "Traceback" not in err
    assert agent.secret not in err
    assert (tmp_path / "cli.db").exists()


def test_insecure_no_secret_says_so_loudly_and_accepts_anything(tmp_path, cli_agent):
    agent = cli_agent("--db", str(tmp_path / "cli.db"), "--insecure-no-secret")
    assert agent.secret is None and "NO SECRET" in agent.banner
    response = httpx.post(f"{agent.url}/api/policy/pre-check", json={"query": "hi", "client_id": "x"},
                          auth=("anyone", "anything"))
    assert response.status_code == 200
    agent.proc.send_signal(signal.SIGINT)
    _, err = agent.proc.communicate(timeout=15)
    assert "WARNING: --insecure-no-secret" in err and "approve them" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (("--host", "0.0.0.0"), "refusing to listen on 0.0.0.0"),
        (("--policies", "/nonexistent/policies.yaml"), "/nonexistent/policies.yaml"),
        (("--auth", "/nonexistent/auth.yaml"), "auth file /nonexistent/auth.yaml"),
        (("--auth", "/nonexistent/auth.yaml", "--insecure-no-secret"), "--insecure-no-secret has no meaning"),
    ],
)
def test_bad_setup_is_one_clear_line_and_exit_2(tmp_path, args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "axonflow_notebook.cli", "agent", "--port", "0",
         "--db", str(tmp_path / "cli.db"), *args],
        capture_output=True, text=True, env=ENV, timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_auth_file_allows_a_public_address(tmp_path, cli_agent):
    auth = tmp_path / "auth.yaml"
    auth.write_text("clients:\n  - id: a\n    secret: s\n", encoding="utf-8")
    agent = cli_agent("--host", "0.0.0.0", "--db", str(tmp_path / "cli.db"), "--auth", str(auth))
    assert agent.url.startswith("http://0.0.0.0:")
    assert agent.secret is None
    assert "AXONFLOW_CLIENT_SECRET" not in agent.banner and " s;" not in agent.banner
    agent.proc.send_signal(signal.SIGINT)
    agent.proc.communicate(timeout=15)
    assert agent.proc.returncode == 0
