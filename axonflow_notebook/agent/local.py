"""One agent per user and data directory, shared by all of that user's kernels.

``ensure_local_agent(data_dir)`` reuses the live agent of ``data_dir`` or starts one in a
process of its own (``daemon.py``), the way Jupyter finds its servers: through a runtime
file only the user can read (``runtime.py``), which holds the agent's URL and secret.
Starting is serialised by a lock, so two kernels starting at once get one agent. A runtime
file whose process is gone, does not answer, or does not accept its own secret is stale
and replaced. A caller asking for another policy file than the one in force reloads it in
place (``PUT /api/v1/local/policies``): same URL, same data.

Light on purpose (stdlib only): a kernel calls this before anything else is loaded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Optional

from .private_files import make_private_dir, open_private
from .runtime import (
    LockTimeout, RuntimeLock, RuntimeRecord, lock_file, normalise_data_dir, read_record, runtime_file,
)
from .server import AgentConfigError

IDLE_ENV = "AXONFLOW_AGENT_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = 12 * 3600.0  # a working day with its breaks; 0 = never
DB_NAME = "agent.sqlite3"
LOG_NAME = "agent.log"
BUILT_IN_SOURCE = "built-in catalogue"  # the label state.py gives the set without a file
_PROBE_TIMEOUT = 10.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy


@dataclass(frozen=True)
class LocalAgent:
    """A running local agent: where it listens and the secret it requires (repr masks it)."""

    url: str
    secret: str = field(repr=False)
    pid: int
    data_dir: str
    db_path: str
    policies: Optional[str]
    started_now: bool

    def __repr__(self) -> str:
        return (f"LocalAgent(url={self.url!r}, secret='***', pid={self.pid}, data_dir={self.data_dir!r}, "
                f"db_path={self.db_path!r}, policies={self.policies!r}, started_now={self.started_now})")


def _local(record: RuntimeRecord, started_now: bool) -> LocalAgent:
    return LocalAgent(record.url, record.secret, record.pid, record.data_dir, record.db_path,
                      record.policies, started_now)


def _request(record: RuntimeRecord, method: str, path: str, body: Optional[dict] = None,
             timeout: float = _PROBE_TIMEOUT) -> tuple[int, dict]:
    """(status, JSON body) of one call to the agent with its secret; status 0 if unreachable."""
    token = base64.b64encode(f"local:{record.secret}".encode("utf-8")).decode("ascii")
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(record.url + path, data=data, method=method, headers={
        "Authorization": f"Basic {token}", "Content-Type": "application/json"})
    try:
        with _NO_PROXY.open(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read() or b"{}")
        except ValueError:
            payload = {}
        return exc.code, payload if isinstance(payload, dict) else {}
    except (OSError, ValueError):
        return 0, {}


def _pid_state(pid: int) -> str:
    """``"ours"`` (alive, signallable by us), ``"foreign"`` (alive, another user's) or ``"gone"``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        return "foreign"
    except OSError:
        return "gone"
    return "ours"


def _alive(record: RuntimeRecord) -> bool:
    """The recorded process is ours and its agent accepts the recorded secret."""
    if _pid_state(record.pid) != "ours":
        return False
    status, _ = _request(record, "GET", "/api/v1/local/policies")
    return status == 200


def _is_our_daemon(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"axonflow_notebook.agent.daemon" in fh.read()
    except OSError:
        return False


def _retire(record: RuntimeRecord, path: str) -> None:
    """Forget a stale agent: stop it if it is provably our hung daemon, drop its file."""
    if _pid_state(record.pid) == "ours" and _is_our_daemon(record.pid):
        try:
            os.kill(record.pid, signal.SIGTERM)
        except OSError:
            pass
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _policy_text(policies: Optional[str]) -> tuple[Optional[str], str, Optional[str]]:
    """(real path, text, sha256 of the text) of the policy file asked for; (None, "", None) for none."""
    if policies is None:
        return None, "", None
    path = os.path.realpath(os.path.expanduser(os.fspath(policies)))
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise AgentConfigError(f"{policies}: policy file not found") from None
    except UnicodeDecodeError as exc:
        raise AgentConfigError(f"{policies}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise AgentConfigError(f"{policies}: cannot read policy file ({exc.strerror or exc})") from None
    return path, text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def _reload(record: RuntimeRecord, path: Optional[str], text: str) -> RuntimeRecord:
    status, payload = _request(record, "PUT", "/api/v1/local/policies",
                               {"yaml": text, "source": path or BUILT_IN_SOURCE, "dry_run": False})
    if status != 200:
        raise AgentConfigError(str(payload.get("error") or f"policy reload failed (HTTP {status})"))
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest() if text.strip() else None
    return RuntimeRecord(record.url, record.pid, record.secret, record.data_dir, record.db_path,
                         path, sha, record.version, record.started_at)


def _idle_seconds(idle_timeout: Optional[float]) -> float:
    if idle_timeout is not None:
        return max(0.0, float(idle_timeout))
    raw = os.environ.get(IDLE_ENV)
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_IDLE_SECONDS
    except ValueError:
        raise AgentConfigError(f"{IDLE_ENV}={raw!r} is not a number of seconds") from None


def _start_error(log_path: str, offset: int, code: Optional[int]) -> AgentConfigError:
    """The daemon's own error (every line of it: a policy file can have several problems)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            text = fh.read()
    except OSError:
        text = ""
    marker = "axonflow-notebook agent: error: "
    if marker in text:
        return AgentConfigError(text.rsplit(marker, 1)[1].strip())
    lines = [line for line in text.splitlines() if line.strip()]
    detail = lines[-1].strip() if lines else f"exit code {code}"
    return AgentConfigError(f"the local agent did not start ({detail}); see {log_path}")


def _spawn(data_dir: str, path: Optional[str], idle: float, timeout: float, record_path: str) -> RuntimeRecord:
    log_path = os.path.join(data_dir, LOG_NAME)
    fd = open_private(log_path)
    offset = os.lseek(fd, 0, os.SEEK_END)
    command = [sys.executable, "-m", "axonflow_notebook.agent.daemon", "--data-dir", data_dir,
               "--idle-timeout", repr(idle)]
    if path is not None:
        command += ["--policies", path]
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
                                start_new_session=True, close_fds=True)
    finally:
        os.close(fd)
    # Reap it when it exits, for as long as this process lives (no zombie left behind).
    threading.Thread(target=proc.wait, name="axonflow-agent-reaper", daemon=True).start()
    deadline = time.monotonic() + timeout
    while True:
        record = read_record(record_path)
        if record is not None and record.pid == proc.pid:
            return record
        code = proc.poll()
        if code is not None:
            raise _start_error(log_path, offset, code)
        if time.monotonic() > deadline:
            proc.terminate()
            raise AgentConfigError(f"the local agent did not answer within {timeout:g}s; see {log_path}")
        time.sleep(0.02)


def find_local_agent(data_dir) -> Optional[LocalAgent]:
    """The live agent of ``data_dir`` (verified with its secret), or None; starts nothing."""
    record = read_record(runtime_file(data_dir))
    if record is None or record.data_dir != normalise_data_dir(data_dir) or not _alive(record):
        return None
    return _local(record, started_now=False)


def ensure_local_agent(data_dir, *, policies=None, idle_timeout: Optional[float] = None,
                       start_timeout: float = 60.0) -> LocalAgent:
    """The user's agent for ``data_dir``, started in a process of its own if none is live.

    ``policies`` is a policy file path or None (the built-in catalogue only); the agent
    enforces exactly that on return, reloading in place if another set was in force.
    ``idle_timeout`` (seconds; default ``$AXONFLOW_AGENT_IDLE_SECONDS`` or 12 h, 0 = never)
    applies to an agent started by this call. Raises ``AgentConfigError`` with a one-line
    reason (a bad policy file, an unusable directory) and leaves a live agent as it was.
    """
    data_dir = normalise_data_dir(data_dir)
    path, text, sha = _policy_text(policies)
    idle = _idle_seconds(idle_timeout)
    try:
        make_private_dir(data_dir)
        record_path = runtime_file(data_dir)
        with RuntimeLock(lock_file(data_dir), timeout=start_timeout + 30.0):
            record = read_record(record_path)
            if record is not None and record.data_dir == data_dir and _alive(record):
                if (record.policies, record.policies_sha256) != (path, sha):
                    record = _reload(record, path, text)
                return _local(record, started_now=False)
            if record is not None:
                _retire(record, record_path)
            return _local(_spawn(data_dir, path, idle, start_timeout, record_path), started_now=True)
    except LockTimeout as exc:
        raise AgentConfigError(str(exc)) from None
    except OSError as exc:
        raise AgentConfigError(f"cannot set up the local agent for {data_dir}: {exc}") from None


def stop_local_agent(data_dir, timeout: float = 10.0) -> bool:
    """Stop the live agent of ``data_dir``; True if one was running and has exited."""
    data_dir = normalise_data_dir(data_dir)
    record_path = runtime_file(data_dir)
    with RuntimeLock(lock_file(data_dir), timeout=timeout + 30.0):
        record = read_record(record_path)
        if record is None or record.data_dir != data_dir or not _alive(record):
            return False
        os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _pid_state(record.pid) == "gone" or _is_zombie(record.pid):
            return True
        time.sleep(0.05)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False
