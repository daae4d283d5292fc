"""Pre-check latency while the policy set is reloaded live, measured with wrk from outside.

Starts the agent through the CLI (``axonflow-notebook agent``) on a fresh SQLite file, then
drives ``POST /api/policy/pre-check`` with wrk at one connection (p50/p99 from
``--latency``), once undisturbed and once while another client keeps changing the policy
set every half second (``--interval``): ``PUT /api/v1/local/policies`` alternating two
20-policy files, and static-policy API creates, toggles and deletes. Reports latencies, errors (non-2xx, socket) and
how many reloads happened. Target: no error, p99 <= 5 ms at one connection throughout.
It is not a test and asserts nothing.

    PYTHONPATH=. .venv/bin/python bench/bench_policy_reload.py [--duration 10] [--interval 0.5]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

from bench_agent_precheck import _lua_script, _start, wrk  # noqa: E402  (a sibling script)
from bench_policy_replay import DRAFT  # noqa: E402

OTHER = DRAFT.replace("action: warn", "action: log")  # the same 20 policies, some changed


def _call(url: str, secret: str, method: str, path: str, body=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers={
        "Content-Type": "application/json",
        "Authorization": "Basic " + base64.b64encode(f"bench:{secret}".encode()).decode()})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def churn(url: str, secret: str, stop: threading.Event, stats: dict, interval: float) -> None:
    """Change the policy set every ``interval`` seconds (0: back to back) until told to stop."""
    n = 0
    while not stop.wait(interval if n else 0):
        started = time.perf_counter()
        if n % 4 < 2:
            status, _ = _call(url, secret, "PUT", "/api/v1/local/policies",
                              {"yaml": DRAFT if n % 2 else OTHER, "source": f"bench {n}"})
            ok = status == 200
        else:
            status, created = _call(url, secret, "POST", "/api/v1/static-policies", {
                "name": f"Bench {n}", "category": "custom", "pattern": f"bench-token-{n}", "action": "warn"})
            ok = status == 201
            if ok:
                ok = _call(url, secret, "PATCH", f"/api/v1/static-policies/{created['id']}", {"enabled": False})[0] == 200
                ok = ok and _call(url, secret, "DELETE", f"/api/v1/static-policies/{created['id']}")[0] == 204
        stats["reloads"] += 1 if n % 4 < 2 else 3
        stats["seconds"].append(time.perf_counter() - started)
        stats["failed"] += 0 if ok else 1
        n += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--interval", type=float, default=0.5,
                        help="seconds between policy changes (default 0.5; 0 = back to back)")
    parser.add_argument("--switch-interval", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    workdir = tempfile.mkdtemp(prefix="bench-reload-")
    command = [sys.executable, "-m", "axonflow_notebook.cli", "agent", "--port", "0",
               "--db", os.path.join(workdir, "bench.db")]
    if args.switch_interval is not None:  # experiment: the agent process's GIL switch interval
        command[1:3] = ["-c", f"import sys; sys.setswitchinterval({args.switch_interval}); "
                              "from axonflow_notebook.cli import main; sys.argv[0] = 'axonflow-notebook'; "
                              "sys.exit(main())"]
    agent, url, secret = _start(command)
    script = _lua_script(workdir, secret)
    load_before = os.getloadavg()[0]
    try:
        wrk(url, script, 1, 2)  # warm-up
        quiet = wrk(url, script, 1, args.duration)
        stop = threading.Event()
        stats = {"reloads": 0, "failed": 0, "seconds": []}
        thread = threading.Thread(target=churn, args=(url, secret, stop, stats, args.interval))
        thread.start()
        try:
            busy = wrk(url, script, 1, args.duration)
        finally:
            stop.set()
            thread.join()
    finally:
        agent.send_signal(signal.SIGINT)
        try:
            agent.wait(timeout=15)
        except Exception:
            agent.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nPOST /api/policy/pre-check, wrk, 1 connection, {args.duration}s per run; loopback, "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    for label, run in (("no reloads", quiet), ("during reloads", busy)):
        print(f"{label:<16} p50 {run['p50']:.3f} ms  p99 {run['p99']:.3f} ms  {run['rps']:,.0f} req/s  "
              f"{run['requests']:,} requests  errors {run['errors']}")
    seconds = stats["seconds"] or [0.0]
    print(f"policy set changes during the run: {stats['reloads']} ({stats['failed']} failed), "
          f"median {statistics.median(seconds) * 1000:.0f} ms per change (a reload or a create+toggle+delete)")
    print("target: no error, p99 <= 5 ms at one connection throughout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
