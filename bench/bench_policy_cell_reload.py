"""Pre-check latency while `%%axonflow_policy` cells reload the policies, measured with wrk.

The notebook path end to end: a real InteractiveShell with the extension loaded starts the
user's local agent (its own process, as in a notebook), then wrk drives `POST
/api/policy/pre-check` at one connection (p50/p99 from `--latency`), once undisturbed and once
while the shell runs a policy cell every `--interval` seconds: the 20-policy draft of
bench_policy_replay.py and a variant of it alternately, each upserted into the set in force
(`PUT /api/v1/local/policies` with `merge`, through the core's console and the SDK client), the
change table rendered. Reports latencies, errors and how many cells ran. Target: no error, p99
<= 5 ms at one connection throughout. Not a test.

    PYTHONPATH=. .venv/bin/python bench/bench_policy_cell_reload.py [--duration 10] [--interval 0.5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

from bench_agent_precheck import _lua_script, wrk  # noqa: E402  (sibling scripts)
from bench_policy_replay import DRAFT  # noqa: E402

OTHER = DRAFT.replace("action: warn", "action: log")  # the same 20 policies, some changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between policy cells (default 0.5)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    from axonflow_notebook.testing.shell import governed_shell, magics_of

    workdir = tempfile.mkdtemp(prefix="bench-cell-reload-")
    load_before = os.getloadavg()[0]
    cells = {"ran": 0, "failed": 0, "seconds": []}
    try:
        with governed_shell(os.path.join(workdir, "data"), widgets=False) as ip:
            backend = magics_of(ip).runtime.backend()  # starts the local agent, as a first call would
            script = _lua_script(workdir, backend.agent.secret)
            wrk(backend.url, script, 1, 2)  # warm-up
            quiet = wrk(backend.url, script, 1, args.duration)
            found: dict = {}
            runner = threading.Thread(target=lambda: found.update(busy=wrk(backend.url, script, 1, args.duration)))
            runner.start()
            n = 0
            while runner.is_alive():
                started = time.perf_counter()
                try:
                    ip.run_cell_magic("axonflow_policy", "", DRAFT if n % 2 == 0 else OTHER)
                except Exception as exc:  # counted, and said once
                    if not cells["failed"]:
                        print(f"policy cell failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                    cells["failed"] += 1
                cells["seconds"].append(time.perf_counter() - started)
                cells["ran"] += 1
                n += 1
                time.sleep(args.interval)
            runner.join()
            busy = found["busy"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nPOST /api/policy/pre-check, wrk, 1 connection, {args.duration}s per run; loopback, "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    for label, run in (("no reloads", quiet), ("policy cells", busy)):
        print(f"{label:<13} p50 {run['p50']:.3f} ms  p99 {run['p99']:.3f} ms  {run['rps']:,.0f} req/s  "
              f"{run['requests']:,} requests  errors {run['errors']}")
    seconds = cells["seconds"] or [0.0]
    print(f"policy cells during the run: {cells['ran']} ({cells['failed']} failed), median "
          f"{statistics.median(seconds) * 1000:.0f} ms per cell (validate, merge, reload, render)")
    print("target: no error, p99 <= 5 ms at one connection throughout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
