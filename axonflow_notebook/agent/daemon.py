"""The detached local agent: ``python -m axonflow_notebook.agent.daemon --data-dir DIR``.

Started by ``ensure_local_agent`` in a session of its own, so it outlives the kernel that
started it and every kernel of the user finds it through its runtime file. It writes that
file once it answers, keeps it up to date when its policies are reloaded, and removes it
when it exits: on SIGTERM/SIGINT, or after ``--idle-timeout`` seconds without a request.
Its output goes to ``agent.log`` in the data directory; the secret is never printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import os
import signal
import sys
import threading
import time
from typing import Optional

DB_NAME = "agent.sqlite3"
LOG_NAME = "agent.log"


def _say(text: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} {text}", flush=True)


def _parse(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m axonflow_notebook.agent.daemon")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--policies", default=None)
    parser.add_argument("--idle-timeout", type=float, default=0.0, help="seconds; 0 never exits when idle")
    return parser.parse_args(argv)


def _policies_sha256(text: str) -> Optional[str]:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text.strip() else None


def main(argv: Optional[list[str]] = None) -> int:
    from .. import __version__
    from . import timestamps
    from .runtime import RuntimeLock, RuntimeRecord, lock_file, read_record, remove_record_if_owned, runtime_file, write_record
    from .server import AgentConfigError, EmbeddedAgent

    args = _parse(argv)
    data_dir = os.path.realpath(args.data_dir)
    record_path, lock_path = runtime_file(data_dir), lock_file(data_dir)
    policies = os.path.realpath(args.policies) if args.policies else None
    policies_sha = None
    if policies is not None:
        try:
            with open(policies, encoding="utf-8") as fh:
                policies_sha = _policies_sha256(fh.read())
        except (OSError, UnicodeDecodeError):
            pass  # the agent's own load below reports the problem in one line
    agent = EmbeddedAgent(port=0, db_path=os.path.join(data_dir, DB_NAME), policies=policies)
    try:
        agent.start(timeout=60.0)
    except AgentConfigError as exc:
        print(f"axonflow-notebook agent: error: {exc}", file=sys.stderr, flush=True)
        return 2
    gc.collect()
    gc.freeze()  # everything loaded so far lives as long as the process (see command.py)
    pid = os.getpid()
    record = RuntimeRecord(agent.url, pid, agent.secret, data_dir, agent.db_path, policies,
                           policies_sha, __version__, timestamps.now())
    write_record(record_path, record)

    def on_reload(load, text: str):
        def rewrite() -> None:  # a file write: on a worker thread (state.py's policy_listeners)
            nonlocal record
            current = read_record(record_path)
            if current is None or current.pid != pid:
                return  # replaced by a successor: its file is not ours to write
            record = dataclasses.replace(record, policies=load.source if text.strip() else None,
                                         policies_sha256=_policies_sha256(text))
            write_record(record_path, record)

        return rewrite

    agent.state.policy_listeners.append(on_reload)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    idle = args.idle_timeout
    _say(f"AxonFlow agent (pid {pid}) listening on {agent.url} for {data_dir}"
         + (f"; exits after {idle:g}s without a request" if idle > 0 else ""))
    poll = min(1.0, max(0.05, idle / 4)) if idle > 0 else 1.0
    code = 0
    try:
        while not stop.wait(poll):
            if not agent.running:
                print("axonflow-notebook agent: error: the server stopped unexpectedly", file=sys.stderr, flush=True)
                code = 1
                break
            if idle > 0 and agent.state.idle_for() >= idle and _retire_if_idle(agent, idle, lock_path, record_path, pid):
                _say(f"no request for {idle:g}s: exiting")
                break
    finally:
        try:
            with RuntimeLock(lock_path, timeout=5.0):
                remove_record_if_owned(record_path, pid)
        except OSError:
            remove_record_if_owned(record_path, pid)
        agent.stop()
        _say("stopped")
    return code


def _retire_if_idle(agent, idle: float, lock_path: str, record_path: str, pid: int) -> bool:
    """Remove the runtime file if still idle once the start lock is held.

    A kernel checks the agent under the same lock, with a request; so either that request
    is seen here (and the agent stays), or the kernel finds no file and starts a new agent.
    """
    from .runtime import LockTimeout, RuntimeLock, remove_record_if_owned

    try:
        with RuntimeLock(lock_path, timeout=2.0):
            if agent.state.idle_for() < idle:
                return False
            remove_record_if_owned(record_path, pid)
            return True
    except LockTimeout:
        return False


if __name__ == "__main__":
    sys.exit(main())
