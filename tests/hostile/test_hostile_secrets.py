"""The demo notebooks, run with a known client secret and user token, never show either.

Each notebook in `notebooks/` runs top to bottom under nbclient (embedded agent in development
mode, which accepts any credentials) with:
* `AXONFLOW_CLIENT_SECRET` set to a known value, and `GovernedMagics.user_token` /
  `client_secret` set from the kernel's config file (how a user would set them);
* every log record of every logger at DEBUG written to a file inside the kernel;
* the kernel process's own stdout/stderr captured to a file;
* one extra cell at the end printing the repr of every user variable, the extension's objects
  (magics, backend, logger, console), `%config GovernedMagics` and `%axonflow status`.
The saved notebook (outputs and widget state), the log file, the kernel output and the embedded
agent's SQLite files are then scanned for both values, and for the local agent's own secret, plain
and as they would travel in a Basic auth header.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from axonflow_notebook.testing.agents import stop_local_agents
from axonflow_notebook.testing.kernels import kernel_env

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SECRET = "cs-HOSTILE-7f3a91d2-secret"
TOKEN = "ut-HOSTILE-b04c55e8-token"
CLIENT_ID = "secrets-scan"

REPR_CELL = r'''
import logging as _lg
_ip = get_ipython()
_m = _ip.magics_manager.registry["GovernedMagics"]
_b = _m.runtime.backends.started
_objs = [_m, _m.runtime, _b]
if _b is not None:
    _objs += [_b.logger, _b.console, getattr(_b.logger, "config", None), _b.agent]
for _name, _value in list(_ip.user_ns.items()):
    if not _name.startswith("_") and _name not in ("In", "Out", "exit", "quit", "get_ipython"):
        _objs.append(_value)
for _o in _objs:
    try:
        print(repr(_o)[:4000]); print(str(_o)[:4000])
    except Exception as _e:
        print("repr failed:", type(_e).__name__)
_ip.run_line_magic("config", "GovernedMagics")
_ip.run_line_magic("axonflow", "status")
for _h in _lg.getLogger().handlers:
    _h.flush()
'''


def _variants(value: str) -> list[str]:
    basic = base64.b64encode(f"{CLIENT_ID}:{value}".encode()).decode()
    return [value, value.encode().hex(), basic, base64.b64encode(value.encode()).decode()]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not NOTEBOOKS, reason="no demo notebooks in notebooks/")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_demo_notebook_never_shows_the_secret_or_token(notebook, tmp_path):
    log_file = tmp_path / "kernel-logging.txt"
    kernel_out = tmp_path / "kernel-stdio.txt"
    ipython_dir = tmp_path / "ipython"
    profile = ipython_dir / "profile_default"
    profile.mkdir(parents=True)
    setup_logging = (f"import logging; logging.basicConfig(filename={str(log_file)!r}, level=logging.DEBUG, "
                     "format='%(name)s %(levelname)s %(message)s', force=True)")
    (profile / "ipython_kernel_config.py").write_text(
        f"c.GovernedMagics.user_token = {TOKEN!r}\n"
        f"c.GovernedMagics.client_secret = {SECRET!r}\n"
        f"c.InteractiveShellApp.exec_lines = [{setup_logging!r}]\n"
    )
    env = kernel_env(tmp_path, AXONFLOW_CLIENT_SECRET=SECRET, AXONFLOW_CLIENT_ID=CLIENT_ID)
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPR_CELL))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(notebook.parent)}})
    old_env = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel (and the kernels it starts) inherit this environment
    data_dir = tmp_path / "data" / "axonflow-notebook"
    try:
        with open(kernel_out, "wb") as stdio:
            client.execute(stdout=stdio, stderr=stdio)
        agent_secret = _local_agent_secret(data_dir)
    finally:
        os.environ.clear()
        os.environ.update(old_env)
        stop_local_agents(data_dir, runtime_dir=env["AXONFLOW_RUNTIME_DIR"])

    saved = tmp_path / notebook.name
    nbformat.write(nb, saved)
    texts = {
        "saved notebook": saved.read_text(encoding="utf-8"),
        "kernel logging": log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else "",
        "kernel stdout/stderr": kernel_out.read_text(encoding="utf-8", errors="replace"),
    }
    # The scan means something: the run produced outputs and log lines, and the config is live.
    assert "Exception while loading config" not in texts["kernel stdout/stderr"]
    assert texts["kernel logging"].strip(), "no log line was captured"
    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    assert "GovernedMagics" in last and "********" in last, last[-2000:]
    assert "widgets" in nb.metadata or not any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for c in nb.cells
        if c.cell_type == "code" for o in c.outputs)
    # The agent's store (SQLite file and WAL) keeps neither either: HITL rows name the user by a
    # label, never by the token.
    stored = [f for f in (tmp_path / "data").rglob("*") if f.is_file()]
    assert stored, "the embedded agent stored nothing"
    for path in stored:
        texts[f"stored file {path.name}"] = path.read_bytes().decode("utf-8", errors="replace")
    secrets = [SECRET, TOKEN, agent_secret]
    for where, text in texts.items():
        for value in secrets:
            for variant in _variants(value):
                assert variant not in text, f"{value!r} ({variant!r}) appears in the {where}"


def _local_agent_secret(data_dir: Path) -> str:
    """The shared local agent's secret, from its runtime file (issue 17: the scan covers it)."""
    from axonflow_notebook.agent import find_local_agent

    found = find_local_agent(data_dir)
    assert found is not None and found.secret, "the notebook's local agent was not found"
    return found.secret


def test_hitl_rows_name_the_user_without_the_token():
    """The approval request a reviewer reads carries a label for the user, not the credential."""
    from axonflow_notebook.core.user_label import user_label

    def jwt(claims: dict) -> str:
        import json

        def part(obj) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        return f"{part({'alg': 'HS256'})}.{part(claims)}.c2lnbmF0dXJl"

    assert user_label(None) is None and user_label("anonymous") is None and user_label("") is None
    assert user_label(jwt({"sub": "maria@example.com", "tenant": "t"})) == "maria@example.com"
    for token in (TOKEN, jwt({"no": "sub"}), "a.b.c", "x" * 5000, "\udcff.\ud800.x"):
        label = user_label(token)
        assert label and label.startswith("user-") and token not in label and len(label) < 64
    assert user_label(TOKEN) == user_label(TOKEN)  # stable: a reviewer can group by it
