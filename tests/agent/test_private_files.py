"""Everything the agent writes is private to its user: files 0600, directories 0700, whatever
the umask (SQLite's -wal and -shm included), and a second user of the machine can read
neither the runtime file (which holds the secret) nor the store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

USE_AND_LIST_MODES = r"""
import json, os, stat, sys, urllib.request, base64
os.umask(int(sys.argv[1], 8))
root = sys.argv[2]
os.environ["AXONFLOW_RUNTIME_DIR"] = os.path.join(root, "runtime")
from axonflow_notebook.agent import EmbeddedAgent, ensure_local_agent, stop_local_agent

def use(url, secret):
    token = base64.b64encode(("k:" + secret).encode()).decode()
    for path, body in (("/api/policy/pre-check", {"query": "hi", "client_id": "k"}),
                       ("/api/v1/hitl/queue", {"client_id": "k", "original_query": "q", "request_type": "t",
                        "triggered_policy_id": "p", "triggered_policy_name": "p", "trigger_reason": "r"}),
                       ("/api/v1/audit/search", {"limit": 5})):
        request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": "Basic " + token, "Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=30).read()

modes = {}
def record(top):
    for base, dirs, files in os.walk(top):
        for name in dirs + files:
            path = os.path.join(base, name)
            modes[os.path.relpath(path, root)] = stat.S_IMODE(os.lstat(path).st_mode)

data = os.path.join(root, "data")
local = ensure_local_agent(data, idle_timeout=0)
use(local.url, local.secret)
embedded = EmbeddedAgent(db_path=os.path.join(root, "embedded", "store", "agent.db")).start()
use(embedded.url, embedded.secret)
for top in ("runtime", "data", "embedded"):
    modes[top] = stat.S_IMODE(os.lstat(os.path.join(root, top)).st_mode)
    record(os.path.join(root, top))
embedded.stop()
stop_local_agent(data)
print(json.dumps(modes))
"""


@pytest.mark.parametrize("umask", ["022", "000"])
def test_modes_after_use_whatever_the_umask(tmp_path, umask):
    proc = subprocess.run([sys.executable, "-c", USE_AND_LIST_MODES, umask, str(tmp_path)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    modes = json.loads(proc.stdout)
    expected_files = {"data/agent.sqlite3", "data/agent.sqlite3-wal", "data/agent.sqlite3-shm", "data/agent.log",
                      "embedded/store/agent.db", "embedded/store/agent.db-wal", "embedded/store/agent.db-shm"}
    assert expected_files <= set(modes), sorted(modes)
    assert any(name.startswith("runtime/agent-") and name.endswith(".json") for name in modes)
    assert any(name.startswith("runtime/agent-") and name.endswith(".lock") for name in modes)
    for name, mode in modes.items():
        is_dir = name in ("runtime", "data", "embedded", "embedded/store")
        assert mode == (0o700 if is_dir else 0o600), f"{name}: {oct(mode)} under umask {umask}"


PROBE_USER = "axf-agent-probe"


@pytest.fixture(scope="module")
def probe_user():
    """A second operating-system user (created here, removed afterwards if this test made it)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root: creating a second operating-system user takes useradd")
    created = subprocess.run(["id", PROBE_USER], capture_output=True).returncode != 0
    if created:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", PROBE_USER],
                       check=True, capture_output=True)
    yield PROBE_USER
    if created:
        subprocess.run(["userdel", PROBE_USER], capture_output=True)


def _as(user: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", *command], capture_output=True, text=True, timeout=30)


def test_a_second_user_cannot_read_the_runtime_file_or_the_store(probe_user, monkeypatch):
    from axonflow_notebook.agent import ensure_local_agent, stop_local_agent
    from axonflow_notebook.agent.runtime import runtime_file

    # A parent every user may enter, so that only the agent's own modes stand in the way.
    root = tempfile.mkdtemp(prefix="axf-private-", dir="/tmp")
    os.chmod(root, 0o755)
    monkeypatch.setenv("AXONFLOW_RUNTIME_DIR", os.path.join(root, "runtime"))
    data = os.path.join(root, "data")
    try:
        agent = ensure_local_agent(data, idle_timeout=0)
        record, db = runtime_file(data), os.path.join(data, "agent.sqlite3")
        control = os.path.join(root, "control.txt")
        with open(control, "w", encoding="utf-8") as fh:
            fh.write("readable")
        os.chmod(control, 0o644)
        assert _as(probe_user, "cat", control).stdout == "readable"  # the probe itself works

        for path in (record, db, db + "-wal", os.path.join(data, "agent.log")):
            denied = _as(probe_user, "cat", path)
            assert denied.returncode != 0 and "Permission denied" in denied.stderr, path
        assert _as(probe_user, "ls", os.path.dirname(record)).returncode != 0

        # Even in directories someone widened to 0755, the files themselves stay closed.
        os.chmod(os.path.dirname(record), 0o755)
        os.chmod(data, 0o755)
        for path in (record, db, db + "-wal", db + "-shm"):
            denied = _as(probe_user, "cat", path)
            assert denied.returncode != 0 and "Permission denied" in denied.stderr, path
        assert agent.secret not in _as(probe_user, "cat", record).stdout
    finally:
        stop_local_agent(data)
        shutil.rmtree(root, ignore_errors=True)


def test_a_runtime_directory_of_ours_is_narrowed_to_0700(tmp_path, monkeypatch):
    from axonflow_notebook.agent.runtime import runtime_dir

    wide = tmp_path / "runtime"
    wide.mkdir(mode=0o755)
    os.chmod(wide, 0o755)
    monkeypatch.setenv("AXONFLOW_RUNTIME_DIR", str(wide))
    assert runtime_dir() == str(wide)
    assert os.stat(wide).st_mode & 0o777 == 0o700


def test_a_runtime_directory_of_another_user_is_refused(probe_user, tmp_path, monkeypatch):
    import pwd

    from axonflow_notebook.agent import AgentConfigError, ensure_local_agent

    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, pwd.getpwnam(probe_user).pw_uid, -1)
    monkeypatch.setenv("AXONFLOW_RUNTIME_DIR", str(theirs))
    with pytest.raises(AgentConfigError, match="belongs to user id .*refusing to keep the agent's secret there"):
        ensure_local_agent(tmp_path / "data", idle_timeout=0)
    assert os.listdir(theirs) == []
