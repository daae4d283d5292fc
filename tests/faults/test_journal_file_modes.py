"""The journal holds prompts, answers and reviewers' comments: only its owner can read it.

Files 0600 (the database, and the WAL and shared-memory files SQLite adds later),
directories the core creates 0700, whatever the umask (run under 022 and 000).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import pytest

ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AXONFLOW_TELEMETRY": "off"}

WRITE_A_JOURNAL = """
import json, os, stat, sys
from pathlib import Path
os.umask(int(sys.argv[1], 8))
from axonflow_notebook.core.audit import AuditOutcome, AuditPayload
from axonflow_notebook.core.journal import Journal, default_journal_path

path = Path(sys.argv[2]) if sys.argv[2] != "default" else None
journal = Journal(path)
payload = AuditPayload(call_id="c1", context_id="ctx-1", model="m", provider="p", response_summary="secret answer",
                       prompt_tokens=1, completion_tokens=1, total_tokens=2, latency_ms=3)
journal.stage(payload, "http://127.0.0.1:1")
journal.settle("c1", AuditOutcome(False, detail="down", skipped_reason="unreachable"))
reader = Journal(journal.path)  # a second connection, as another kernel's: SQLite maps the -shm
assert reader.count("pending") == 1
modes = {}
top = journal.path.parents[2] if path is None else Path(sys.argv[3])
for item in sorted(top.rglob("*")):
    modes[str(item.relative_to(top))] = oct(stat.S_IMODE(item.stat().st_mode))
print(json.dumps(modes))
"""


def _modes(umask: str, *args: str, env=None) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(WRITE_A_JOURNAL), umask, *args],
                          capture_output=True, text=True, timeout=60, env=env or ENV)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("umask", ["022", "000"])
def test_journal_files_and_new_directories_are_private(tmp_path, umask):
    modes = _modes(umask, str(tmp_path / "made" / "by" / "core" / "journal.sqlite3"), str(tmp_path))
    files = {name: mode for name, mode in modes.items() if name.endswith(("sqlite3", "-wal", "-shm", ".head"))}
    assert set(files) >= {"made/by/core/journal.sqlite3", "made/by/core/journal.sqlite3-wal",
                          "made/by/core/journal.sqlite3-shm", "made/by/core/journal.sqlite3.head"}, modes
    assert set(files.values()) == {"0o600"}, modes
    directories = {name: mode for name, mode in modes.items() if name not in files}
    assert directories == {"made": "0o700", "made/by": "0o700", "made/by/core": "0o700"}


@pytest.mark.parametrize("umask", ["022", "000"])
def test_default_data_directory_is_private(tmp_path, umask):
    env = {**ENV, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    modes = _modes(umask, "default", env=env)
    assert modes.get("xdg/axonflow-notebook") == "0o700", modes
    assert modes.get("xdg/axonflow-notebook/journal.sqlite3") == "0o600", modes
    assert modes.get("xdg/axonflow-notebook/journal.sqlite3-wal") == "0o600", modes
    assert modes.get("xdg/axonflow-notebook/journal.sqlite3.head") == "0o600", modes  # the chain's head


def test_an_existing_readable_journal_is_made_private(tmp_path):
    """A journal an earlier version wrote under the default umask is tightened when opened."""
    import sqlite3

    old = os.umask(0o022)
    try:
        earlier = sqlite3.connect(tmp_path / "journal.sqlite3")  # kept open: its -wal and -shm stay
        earlier.execute("PRAGMA journal_mode=WAL")
        earlier.execute("CREATE TABLE t (x)")
        earlier.execute("INSERT INTO t VALUES (1)")
        earlier.commit()
    finally:
        os.umask(old)
    loose = {item.name: stat.S_IMODE(item.stat().st_mode) for item in tmp_path.iterdir()}
    assert loose == {"journal.sqlite3": 0o644, "journal.sqlite3-wal": 0o644, "journal.sqlite3-shm": 0o644}
    from axonflow_notebook.core.journal import Journal

    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        journal.count()
        assert {item.name: stat.S_IMODE(item.stat().st_mode) for item in tmp_path.iterdir()} == {
            "journal.sqlite3": 0o600, "journal.sqlite3-wal": 0o600, "journal.sqlite3-shm": 0o600,
            "journal.sqlite3.head": 0o600}
    finally:
        journal.close()
        earlier.close()


def test_a_users_existing_directory_is_left_alone(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    from axonflow_notebook.core.journal import Journal

    Journal(folder / "journal.sqlite3").close()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755  # the user's own: not ours to change
    assert stat.S_IMODE((folder / "journal.sqlite3").stat().st_mode) == 0o600
