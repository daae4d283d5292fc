"""``axonflow-notebook agent`` as a user runs it: one line, clean exit on SIGINT/SIGTERM, exit 2 on bad setup."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
import pytest

ENV = {**os.environ, "AXONFLOW_TELEMETRY": "off", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "axonflow_notebook.cli", "agent", *args]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serves_prints_one_line_and_exits_cleanly(tmp_path, sig):
    proc = subprocess.Popen(
        _cli("--port", "0", "--db", str(tmp_path / "cli.db")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        url = match.group(1)
        assert httpx.get(f"{url}/health").json()["status"] == "healthy"
        response = httpx.post(f"{url}/api/policy/pre-check", json={"query": "hi", "client_id": "cli"})
        assert response.json()["approved"] is True
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out == "" and "Traceback" not in err
    assert (tmp_path / "cli.db").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("--host", "0.0.0.0"), "refusing to listen on 0.0.0.0"),
        (("--policies", "/nonexistent/policies.yaml"), "/nonexistent/policies.yaml"),
        (("--auth", "/nonexistent/auth.yaml"), "auth file /nonexistent/auth.yaml"),
    ],
)
def test_bad_setup_is_one_clear_line_and_exit_2(tmp_path, args, message):
    proc = subprocess.run(
        _cli("--port", "0", "--db", str(tmp_path / "cli.db"), *args),
        capture_output=True, text=True, env=ENV, timeout=60,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_auth_file_allows_a_public_address(tmp_path):
    auth = tmp_path / "auth.yaml"
    auth.write_text("clients:\n  - id: a\n    secret: s\n", encoding="utf-8")
    proc = subprocess.Popen(
        _cli("--host", "0.0.0.0", "--port", "0", "--db", str(tmp_path / "cli.db"), "--auth", str(auth)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )
    try:
        line = proc.stdout.readline()
        assert "listening on http://0.0.0.0:" in line
        assert "secret" not in line and " s;" not in line
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
