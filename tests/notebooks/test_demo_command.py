"""`axonflow-notebook demo`: JupyterLab serving the quickstart, with the demo environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from axonflow_notebook.testing.ports import free_port as _free_port

REPO = Path(__file__).resolve().parents[2]


def test_dry_run_names_the_notebook_and_the_policies():
    done = subprocess.run(
        [sys.executable, "-m", "axonflow_notebook.cli", "demo", "--dry-run", "--no-browser"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    first, command, env_line = done.stdout.splitlines()
    assert first.startswith("axonflow-notebook demo: JupyterLab on ")
    assert "01-quickstart.ipynb" in command and "--no-browser" in command
    assert env_line == f"AXONFLOW_POLICIES={REPO / 'notebooks' / 'policies.yaml'}"


def test_missing_notebooks_folder_is_one_clear_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "axonflow_notebook.cli", "demo", "--notebooks", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not found" in done.stderr


def test_demo_serves_the_quickstart(tmp_path):
    port = _free_port()
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "axonflow_notebook.cli", "demo", "--no-browser", f"--port={port}",
         "--", "--IdentityProvider.token=", "--ServerApp.port_retries=0"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("axonflow-notebook demo: JupyterLab on "), first
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/contents/01-quickstart.ipynb?content=0"
                with urllib.request.urlopen(url, timeout=2) as response:
                    model = json.loads(response.read())
                break
            except OSError:
                assert process.poll() is None, "jupyter lab exited"
                assert time.monotonic() < deadline, "jupyter lab did not answer in 60 s"
                time.sleep(0.3)
        assert model["type"] == "notebook"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
