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
    assert "--LabApp.app_settings_dir=" in command  # widget state saved (lab_settings.py)
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
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "user-settings"),
        TMPDIR=str(tmp_path / "tmp"),
    )
    (tmp_path / "tmp").mkdir()
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
        # The lab saves widget state with notebooks: a reopened notebook shows its live
        # outputs' last state, not "Error displaying widget" (issue 11, item 3).
        url = f"http://127.0.0.1:{port}/lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin"
        with urllib.request.urlopen(url, timeout=10) as response:
            widgets = json.loads(response.read())
        # overrides change the defaults the schema carries (jupyterlab_server/settings_utils.py)
        assert widgets["schema"]["properties"]["saveState"]["default"] is True, widgets["schema"]
        assert "saveState" not in widgets["settings"]  # the user's own settings are untouched
        assert list((tmp_path / "tmp").glob("axonflow-demo-lab-*/overrides.json"))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert not list((tmp_path / "tmp").glob("axonflow-demo-lab-*")), "the demo left its settings"


def test_widget_state_is_merged_into_existing_overrides(tmp_path):
    from axonflow_notebook.lab_settings import WIDGETS_PLUGIN, write_settings_dir

    base = tmp_path / "lab-settings"
    (base / "overrides.d").mkdir(parents=True)
    (base / "overrides.d" / "10-site.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}))
    (base / "overrides.json").write_text(json.dumps(
        {WIDGETS_PLUGIN: {"other": 1}, "@jupyterlab/notebook-extension:tracker": {"a": 2}}))
    (base / "page_config.json").write_text('{"disabledExtensions": {}}')
    target = tmp_path / "demo-settings"
    written = json.loads(write_settings_dir(target, base=base).read_text())
    assert written == {
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyterlab/notebook-extension:tracker": {"a": 2},
        WIDGETS_PLUGIN: {"other": 1, "saveState": True},
    }
    assert (target / "page_config.json").read_text() == '{"disabledExtensions": {}}'
    # A choice already made there is kept; in place (Binder's postBuild) it is merged too.
    (base / "overrides.json").write_text(json.dumps({WIDGETS_PLUGIN: {"saveState": False}}))
    assert json.loads(write_settings_dir(base, base=base).read_text())[WIDGETS_PLUGIN] == {"saveState": False}
    empty = tmp_path / "fresh"
    done = subprocess.run([sys.executable, "-m", "axonflow_notebook.lab_settings", str(empty)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads((empty / "overrides.json").read_text()) == {WIDGETS_PLUGIN: {"saveState": True}}
