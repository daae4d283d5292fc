"""Every demo notebook runs top to bottom under nbval, with no API key and no AxonFlow.

Each notebook is run by nbval (`--nbval-lax`: any error fails; outputs are compared only for
cells marked `# NBVAL_CHECK_OUTPUT`, after the sanitizers in `sanitize.cfg`) in its own pytest
process, so the suite's single `pytest` command covers the notebooks while nbval stays an
ordinary nbval run that can be repeated by hand:

    pytest --nbval-lax --nbval-current-env \
        --nbval-sanitize-with tests/notebooks/sanitize.cfg notebooks/

The environment is scrubbed of AxonFlow endpoints and LLM keys (answers are simulated, the
embedded agent is used) and gets a fresh data directory, so the agent (shared by the notebook's
kernels, and stopped afterwards) and its SQLite file are new.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from axonflow_notebook.testing.agents import stop_local_agents
from axonflow_notebook.testing.kernels import kernel_data_dir, kernel_env

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SANITIZE = Path(__file__).with_name("sanitize.cfg")


def test_there_are_demo_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {
        "01-quickstart.ipynb",
        "02-reviewer-queue.ipynb",
        "03-governing-existing-code.ipynb",
    } <= names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_under_nbval(notebook, tmp_path):
    env = kernel_env(tmp_path)
    command = [
        sys.executable, "-m", "pytest",
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-sanitize-with={SANITIZE}",
        "--nbval-cell-timeout=180",
        "-p", "no:cacheprovider",
        "-q",
        str(notebook),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600
        )
    finally:  # the notebooks' kernels share one local agent, which outlives them
        stop_local_agents(kernel_data_dir(env), runtime_dir=env["AXONFLOW_RUNTIME_DIR"])
    assert done.returncode == 0, f"nbval failed on {notebook.name}:\n{done.stdout[-6000:]}"
