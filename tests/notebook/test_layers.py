"""The notebook package's shape: imports point one way, modules stay small.

The import contracts live in pyproject.toml (`[tool.importlinter]`) and run in CI through
scripts/test.sh; this test runs the same `lint-imports`, so a plain pytest run checks them too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "axonflow_notebook" / "notebook"


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout
    assert "inside the notebook: IPython glue -> calls -> ui KEPT" in done.stdout


def test_no_notebook_module_over_400_lines():
    long = {str(p.relative_to(REPO)): n for p in NOTEBOOK.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, long
