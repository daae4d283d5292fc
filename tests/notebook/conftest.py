"""Fixtures of the notebook tests: a governed shell (axonflow_notebook/testing/shell.py).

- `ip`: one shell per test module, the extension loaded with the demo policies, its own data dir
  (so its own local agent), widgets on test comms, fast approval polling.
- `published`: every bundle a cell displays while the test runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from axonflow_notebook.testing.shell import governed_shell
from axonflow_notebook.testing.shell import published as capture

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    data = tmp_path_factory.mktemp("axonflow-data")
    with governed_shell(data, env={"AXONFLOW_POLICIES": str(POLICIES)},
                        approval_poll_interval_seconds=0.2, approval_max_wait_seconds=20) as shell:
        yield shell


@pytest.fixture
def published(ip):
    with capture(ip) as sent:
        yield sent
