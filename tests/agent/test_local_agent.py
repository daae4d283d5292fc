"""One agent per user and data directory: found through the runtime file, shared by every
"kernel" (process), started once under a lock, replaced when stale, reloaded in place,
gone after an idle period."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import httpx
import pytest

from axonflow_notebook.agent import AgentConfigError, ensure_local_agent, find_local_agent, stop_local_agent
from axonflow_notebook.agent.runtime import read_record, runtime_file

KERNEL = """
import json, sys
from axonflow_notebook.agent import ensure_local_agent
agent = ensure_local_agent(sys.argv[1], idle_timeout=0)
print(json.dumps({"url": agent.url, "pid": agent.pid, "secret": agent.secret, "started_now": agent.started_now}))
"""

WIRE = """\
policies:
  - id: fin-wire-transfer
    name: Wire transfers need a human approval
    pattern: '(?i)\\bwire\\s+transfer\\b'
    action: require_approval
    severity: high
"""
CODENAME = """\
policies:
  - id: proj-codename
    name: Project codenames are blocked
    pattern: '(?i)\\bproject\\s+falcon\\b'
    action: block
"""


@pytest.fixture
def local(tmp_path, monkeypatch):
    """A private runtime directory for the test and a data directory; stops what it started."""
    monkeypatch.setenv("AXONFLOW_RUNTIME_DIR", str(tmp_path / "runtime"))
    data_dir = tmp_path / "data"
    yield data_dir
    record = read_record(runtime_file(data_dir))
    stop_local_agent(data_dir)
    if record is not None:
        try:
            os.kill(record.pid, signal.SIGKILL)
        except OSError:
            pass


def _kernels(data_dir, count: int) -> list[dict]:
    procs = [subprocess.Popen([sys.executable, "-c", KERNEL, str(data_dir)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        answers.append(json.loads(out))
    return answers


def _pre_check(agent, query: str = "hello") -> httpx.Response:
    return httpx.post(f"{agent.url}/api/policy/pre-check", json={"query": query, "client_id": "k"},
                      auth=("k", agent.secret), timeout=10)


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat", "rb") as fh:
                if fh.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.05)
    return False


def test_concurrent_kernels_get_one_agent_and_later_kernels_find_it(local):
    answers = _kernels(local, 4)
    assert len({a["url"] for a in answers}) == 1
    assert len({a["pid"] for a in answers}) == 1
    assert sum(a["started_now"] for a in answers) == 1
    again = _kernels(local, 1)[0]
    assert (again["url"], again["pid"], again["started_now"]) == (answers[0]["url"], answers[0]["pid"], False)
    agent = find_local_agent(local)
    assert agent.url == again["url"] and agent.started_now is False
    assert _pre_check(agent).status_code == 200


def test_the_agent_outlives_the_kernel_that_started_it(local):
    first = _kernels(local, 1)[0]  # that process has exited
    agent = ensure_local_agent(local)
    assert agent.pid == first["pid"] and agent.started_now is False
    assert _pre_check(agent).status_code == 200


def test_runtime_file_is_private_and_complete(local, tmp_path):
    agent = ensure_local_agent(local, idle_timeout=0)
    path = runtime_file(local)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "runtime").st_mode) == 0o700
    data = json.loads(open(path, encoding="utf-8").read())
    assert {"url", "pid", "secret", "data_dir", "db_path", "policies", "version", "started_at"} <= set(data)
    assert data["url"] == agent.url and data["secret"] == agent.secret and data["pid"] == agent.pid
    assert data["db_path"] == str(local / "agent.sqlite3")


def test_secret_stays_out_of_reprs_and_the_log(local):
    agent = ensure_local_agent(local, idle_timeout=0)
    assert agent.secret not in repr(agent) and "***" in repr(agent)
    assert agent.secret not in repr(read_record(runtime_file(local)))
    assert httpx.get(f"{agent.url}/api/v1/local/policies", auth=("k", "wrong")).status_code == 401
    assert agent.secret not in (local / "agent.log").read_text(encoding="utf-8")


def test_a_killed_agent_is_replaced(local):
    first = ensure_local_agent(local, idle_timeout=0)
    os.kill(first.pid, signal.SIGKILL)
    assert _gone(first.pid, 10)
    second = ensure_local_agent(local, idle_timeout=0)
    assert second.started_now is True and second.pid != first.pid and second.secret != first.secret
    assert _pre_check(second).status_code == 200
    assert read_record(runtime_file(local)).pid == second.pid


def test_a_runtime_file_with_a_wrong_secret_is_replaced(local):
    first = ensure_local_agent(local, idle_timeout=0)
    path = runtime_file(local)
    data = json.loads(open(path, encoding="utf-8").read())
    data["secret"] = "not-the-secret"
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    assert find_local_agent(local) is None
    second = ensure_local_agent(local, idle_timeout=0)
    assert second.started_now is True and second.pid != first.pid
    assert _gone(first.pid, 15)  # the stale agent was ours and is told to stop


def test_idle_agent_exits_and_removes_its_runtime_file(local):
    agent = ensure_local_agent(local, idle_timeout=1.5)
    path = runtime_file(local)
    for _ in range(4):  # requests keep it alive
        time.sleep(0.6)
        assert _pre_check(agent).status_code == 200
    assert os.path.exists(path)
    assert _gone(agent.pid, 20)
    assert not os.path.exists(path)
    assert "exiting" in (local / "agent.log").read_text(encoding="utf-8")
    assert find_local_agent(local) is None


def test_stop_local_agent(local):
    agent = ensure_local_agent(local, idle_timeout=0)
    assert stop_local_agent(local) is True
    assert _gone(agent.pid, 5) and not os.path.exists(runtime_file(local))
    assert stop_local_agent(local) is False


def test_another_policy_file_is_reloaded_in_place(local, tmp_path):
    wire, codename = tmp_path / "wire.yaml", tmp_path / "codename.yaml"
    wire.write_text(WIRE, encoding="utf-8")
    codename.write_text(CODENAME, encoding="utf-8")
    first = ensure_local_agent(local, policies=str(wire), idle_timeout=0)
    assert first.policies == str(wire)
    held = _pre_check(first, "please wire transfer 5 dollars").json()
    assert held["block_reason"] == "require_approval"
    second = ensure_local_agent(local, policies=str(codename))
    assert (second.url, second.pid, second.started_now) == (first.url, first.pid, False)
    assert second.policies == str(codename)
    assert _pre_check(second, "please wire transfer 5 dollars").json()["approved"] is True
    assert _pre_check(second, "status of project falcon").json()["approved"] is False
    assert read_record(runtime_file(local)).policies == str(codename)
    # The same file, edited, is reloaded too; no file at all means the catalogue alone.
    codename.write_text(CODENAME.replace("block", "warn"), encoding="utf-8")
    assert ensure_local_agent(local, policies=str(codename)).pid == first.pid
    assert _pre_check(second, "status of project falcon").json()["approved"] is True
    assert ensure_local_agent(local).policies is None
    assert "proj-codename" not in _pre_check(second, "status of project falcon").json()["policies"]


def test_a_bad_policy_file_is_one_clear_error_and_changes_nothing(local, tmp_path):
    wire, bad = tmp_path / "wire.yaml", tmp_path / "bad.yaml"
    wire.write_text(WIRE, encoding="utf-8")
    bad.write_text(WIRE.replace("require_approval", "hold"), encoding="utf-8")
    agent = ensure_local_agent(local, policies=str(wire), idle_timeout=0)
    with pytest.raises(AgentConfigError, match="action must be one of"):
        ensure_local_agent(local, policies=str(bad))
    assert _pre_check(agent, "wire transfer now").json()["block_reason"] == "require_approval"
    with pytest.raises(AgentConfigError, match="policy file not found"):
        ensure_local_agent(local, policies=str(tmp_path / "missing.yaml"))


def test_a_bad_policy_file_at_start_says_every_problem(local, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(WIRE.replace("require_approval", "hold") + "  - id: second\n    pattern: x\n    action: warn\n",
                   encoding="utf-8")
    with pytest.raises(AgentConfigError) as info:
        ensure_local_agent(local, policies=str(bad), idle_timeout=0)
    lines = str(info.value).splitlines()
    assert len(lines) == 2 and "Traceback" not in str(info.value)
    assert "policy #1 (id 'fin-wire-transfer'): action must be one of" in lines[0]
    assert "policy #2 (id 'second'): name is required" in lines[1]
    assert find_local_agent(local) is None


def test_the_public_names_import_without_the_server_stack():
    code = ("import sys\n"
            "from axonflow_notebook.agent import EmbeddedAgent, LocalAgent, ensure_local_agent, "
            "find_local_agent, stop_local_agent\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 're2', 'pydantic', 'yaml')]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
