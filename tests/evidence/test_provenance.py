"""Provenance (issue 14 §3): where each call came from, as the journal and AxonFlow's audit record it.

- a script: its own path (no notebook);
- a notebook run headless with nbclient, which sends no cell ids and does not tell the kernel its
  notebook: the kernel finds both (the notebook in its working directory whose cells ran, the
  cell by its source), and a `JPY_SESSION_NAME` given to the kernel names the notebook directly;
- terminal IPython: no notebook, the history session instead.
JupyterLab's own cell ids and session path are checked in the browser (tests/browser/test_evidence_in_lab.py).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import textwrap
import time
from pathlib import Path

import httpx
import nbformat
import pytest
from nbclient import NotebookClient

from axonflow_notebook.testing.agents import stop_local_agents
from axonflow_notebook.testing.kernels import kernel_data_dir, kernel_env

from .conftest import SECRET

SCRIPT = """
import sys
from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
from axonflow_notebook.core.journal import attach_journal

logger = AxonFlowLogger(AxonFlowLoggerConfig(endpoint=sys.argv[1], client_id="nightly-job", client_secret=sys.argv[2]))
journal = attach_journal(logger, sys.argv[3])
result = logger.govern(model="openai/test-model", api_base=sys.argv[4], api_key="sk-test",
                       messages=[{"role": "user", "content": "summarise the nightly numbers"}])
assert result.ok, result.error
logger.close()
journal.flush(5)
"""


def provenance_rows(journal: Path) -> list:
    with sqlite3.connect(journal) as conn:
        return [(json.loads(p or "{}"), v) for p, v in conn.execute(
            "SELECT provenance, policy_version FROM calls ORDER BY rowid")]


def test_a_script_records_its_own_path(governed, tmp_path):
    import subprocess

    script = tmp_path / "nightly_job.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    journal = tmp_path / "journal.sqlite3"
    env = kernel_env(tmp_path)
    done = subprocess.run([sys.executable, str(script), governed.agent.url, SECRET, str(journal), governed.llm_url],
                          capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    [(provenance, version)] = provenance_rows(journal)
    assert provenance["script"] == str(script) and "notebook" not in provenance and "cell_id" not in provenance
    assert provenance["client_id"] == "nightly-job" and provenance["os_user"] and provenance["pid"] > 0
    assert set(provenance["packages"]) >= {"axonflow-notebook", "axonflow", "litellm", "python"}
    assert version == governed.policy_version == provenance["policy_version"]
    # …and AxonFlow's trail holds the same, in the audit's metadata
    body = httpx.post(governed.agent.url + "/api/v1/audit/search", json={"limit": 100, "client_id": "nightly-job"},
                      auth=("nightly-job", SECRET), timeout=10).json()
    [entry] = [e for e in body["entries"] if e.get("audit_id")]
    assert entry["metadata_json"]["provenance"]["script"] == str(script)
    assert entry["metadata_json"]["provenance"]["policy_version"] == governed.policy_version


def _notebook(cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _run_headless(nb: nbformat.NotebookNode, folder: Path, env: dict) -> None:
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel inherits this environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)


CELLS = ["%load_ext axonflow_notebook",
         "%%governed --model openai/test-model --format text\nWhat changed in the Q3 numbers?",
         "x = 21 * 2",
         "%%governed --model openai/test-model --format text\nSummarise the Q3 memo in one line."]


@pytest.mark.parametrize("session_name", [False, True], ids=["matched-in-cwd", "jpy-session-name"])
def test_a_notebook_run_with_nbclient_records_its_path_and_cell_ids(tmp_path, session_name):
    folder = tmp_path / "project"
    folder.mkdir()
    nb = _notebook(CELLS)
    path = folder / "q3-analysis.ipynb"
    nbformat.write(nb, path)
    nbformat.write(_notebook(["%load_ext axonflow_notebook", "print('another notebook')"]), folder / "other.ipynb")
    env = kernel_env(tmp_path)
    if session_name:
        env["JPY_SESSION_NAME"] = str(path)
    try:
        _run_headless(nbformat.read(path, as_version=4), folder, env)
    finally:
        stop_local_agents(kernel_data_dir(env), runtime_dir=env["AXONFLOW_RUNTIME_DIR"])
    rows = provenance_rows(kernel_data_dir(env) / "journal.sqlite3")
    assert len(rows) == 2
    for (provenance, version), cell in zip(rows, (nb.cells[1], nb.cells[3])):
        assert provenance["notebook"] == str(path.resolve())
        assert provenance["cell_id"] == cell.id and provenance["cell_id_from"] == "source match"
        assert provenance["frontend"] == "jupyter kernel" and provenance["kernel_session"]  # (kernel_id: Lab only)
        assert "script" not in provenance and version
        assert ("notebook_from" in provenance) is not session_name
    assert rows[0][0]["execution_count"] == 2 and rows[1][0]["execution_count"] == 4


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_terminal_ipython_records_its_history_session(tmp_path):
    import pexpect

    env = kernel_env(tmp_path, TERM="xterm")
    term = pexpect.spawn(sys.executable, ["-m", "IPython", "--no-banner", "--colors=nocolor"], env=env,
                         encoding="utf-8", timeout=120, dimensions=(50, 300), cwd=str(tmp_path))
    try:
        term.expect(r"In \[1\]")
        term.sendline("%load_ext axonflow_notebook")
        term.expect(r"In \[2\]")
        term.send("%%governed --model openai/test-model\r")
        time.sleep(0.3)
        term.send("Say hello to the team.\r")
        time.sleep(0.3)
        term.send("\r")
        term.expect(r"In \[3\]", timeout=180)
        term.sendline("exit")
        term.expect(pexpect.EOF, timeout=60)
    finally:
        term.close(force=True)
        stop_local_agents(kernel_data_dir(env), runtime_dir=env["AXONFLOW_RUNTIME_DIR"])
    [(provenance, version)] = provenance_rows(kernel_data_dir(env) / "journal.sqlite3")
    assert provenance["frontend"] == "ipython" and isinstance(provenance["ipython_session"], int)
    assert provenance["execution_count"] == 2 and "notebook" not in provenance and "script" not in provenance
    assert version
