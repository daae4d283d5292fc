"""Fixtures for the browser tests: a real JupyterLab server on loopback and Debian's Chromium.

One server per test session (the slow part is the first kernel, not the server), started in a
temporary root that holds copies of the demo notebooks and their policy file, with a fresh data
directory (so the embedded agent's SQLite file is new), no API keys (answers are simulated), no
AxonFlow endpoint (each kernel starts the embedded agent), no telemetry and no cost-map fetch.

Every test gets a fresh browser context; its page is screenshotted into `test-artifacts/` when the
test ends, pass or fail. Kernels started by a test are shut down after it, to spare the CPU; the
local agent they share is stopped with the server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Optional

import pytest
from axonflow_notebook.testing.ports import free_port

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# JupyterLab / Notebook 7 user settings that make the UI deterministic (schemas under
# share/jupyter/lab/schemas/ of the installed JupyterLab).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # ipykernel 7.4 handles comms while a cell awaits whatever the frontend does; pin the
    # frontend's choice anyway so a changed default cannot change what these tests prove.
    "@jupyterlab/apputils-extension/kernels-settings.jupyterlab-settings": {
        "commsOverSubshells": "perCommTarget"
    },
    # JupyterLab's default, pinned: a test that saves widget state turns it on for itself.
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": False},
}

# Variables that would make a kernel talk to a real AxonFlow or a real LLM provider.
_SCRUBBED_ENV_PREFIXES = ("AXONFLOW_", "OPENAI_", "ANTHROPIC_", "AZURE_", "GEMINI_", "MISTRAL_")


def _get_json(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


class LabServer:
    """A running Jupyter server (JupyterLab and Notebook 7 frontends) rooted at `root`."""

    def __init__(self, root: Path, port: int, process: subprocess.Popen, log: Path,
                 env: Optional[dict] = None):
        self.root = root
        self.port = port
        self.process = process
        self.log = log
        self.env = dict(env or {})
        self.url = f"http://127.0.0.1:{port}"

    def set_setting(self, plugin: str, values: dict) -> None:
        """Change a JupyterLab user setting through the settings API (pages opened later see it)."""
        body = json.dumps({"raw": json.dumps(values)}).encode()
        request = urllib.request.Request(f"{self.url}/lab/api/settings/{plugin}", data=body,
                                         method="PUT", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """A `jupyter …` command in the server's environment (nbconvert, trust)."""
        return subprocess.run([sys.executable, "-m", "jupyter", *args], env=self.env, cwd=self.root,
                              capture_output=True, text=True, timeout=timeout)

    def lab(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?reset"

    def notebook7(self, path: str) -> str:
        return f"{self.url}/notebooks/{path}"

    def sessions(self) -> list:
        return _get_json(f"{self.url}/api/sessions") or []

    def shutdown_kernels(self) -> None:
        """Shut down every running kernel (and its embedded agent) through the REST API."""
        for kernel in _get_json(f"{self.url}/api/kernels") or []:
            request = urllib.request.Request(
                f"{self.url}/api/kernels/{kernel['id']}", method="DELETE"
            )
            try:
                urllib.request.urlopen(request, timeout=10).close()
            except OSError:
                pass

    def write_notebook(self, name: str, cells: list[str]) -> str:
        """Write a notebook of code cells (Markdown when a cell starts with '#md\\n') into root."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        for source in cells:
            if source.startswith("#md\n"):
                nb.cells.append(nbformat.v4.new_markdown_cell(source[4:]))
            else:
                nb.cells.append(nbformat.v4.new_code_cell(source))
        nbformat.write(nb, str(self.root / name))
        return name


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory) -> Iterator[LabServer]:
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    for path in [*NOTEBOOKS.glob("*.ipynb"), *NOTEBOOKS.glob("*.yaml")]:
        shutil.copy(path, root / path.name)

    settings = base / "settings"
    for rel, value in LAB_SETTINGS.items():
        target = settings / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value))

    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
    env.update(
        AXONFLOW_POLICIES=str(root / "policies.yaml"),
        AXONFLOW_TELEMETRY="off",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        XDG_DATA_HOME=str(base / "data"),
        AXONFLOW_RUNTIME_DIR=str(base / "agent-runtime"),  # the kernels' shared agent, found here
        AXONFLOW_AGENT_IDLE_SECONDS="1800",  # and gone by itself if this session is killed
        XDG_CONFIG_HOME=str(base / "config"),
        IPYTHONDIR=str(base / "ipython"),
        JUPYTER_CONFIG_DIR=str(base / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(base / "jupyter-runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    log = base / "server.log"
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--allow-root",
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = LabServer(root, port, process, log, env)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        try:
            _get_json(f"{server.url}/api/status")
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"jupyter lab did not answer in 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
    try:
        yield server
    finally:
        server.shutdown_kernels()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        from axonflow_notebook.testing.agents import stop_local_agents

        # The kernels' local agent runs in a process of its own and outlives them.
        stop_local_agents(base / "data" / "axonflow-notebook", runtime_dir=env["AXONFLOW_RUNTIME_DIR"])


@pytest.fixture(scope="session")
def browser(lab_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, lab_server, request):
    """A fresh page; records JS dialogs; screenshot to test-artifacts/ at the end; kernels off."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.dialogs = []  # type: ignore[attr-defined]

    def on_dialog(dialog):
        if dialog.type == "beforeunload":  # leaving a notebook a shut-down kernel left dirty
            dialog.accept()
            return
        page.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()

    page.on("dialog", on_dialog)
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        except Exception:  # the page may already be gone after a crash; keep the real error
            pass
        context.close()
        lab_server.shutdown_kernels()
