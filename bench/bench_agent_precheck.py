"""Pre-check latency and throughput of the embedded agent, measured with wrk from outside.

Starts three servers as separate processes, all served by the same uvicorn settings
(``axonflow_notebook.agent.server.uvicorn_config``):

- the agent itself, through the CLI (``axonflow-notebook agent``), on a fresh SQLite file;
- the agent again, with budgets enforced: a policy file whose ``budgets:`` section puts three
  budgets (organization, agent, user; block and warn) over every pre-check, so each answer
  is checked against them and carries ``budget_info``;
- a bare Starlette route that parses the same JSON body and answers a fixed body.

Then drives ``POST /api/policy/pre-check`` on each with wrk (a Lua script posting the JSON
body with Basic auth, the agent's secret as the password): 1 connection (p50/p99 from ``--latency``) and 32 connections
(requests/s, errors). Reports figures; it is not a test and asserts nothing.

    LITELLM_LOCAL_MODEL_COST_MAP=True AXONFLOW_TELEMETRY=off \\
        .venv/bin/python bench/bench_agent_precheck.py [--duration 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BODY = {
    "user_token": "anonymous",
    "client_id": "bench",
    "query": "Summarize the quarterly earnings report for the board, focusing on revenue growth, "
    "margins and the main risks mentioned by management.",
    "data_sources": [],
    "context": {},
}
PATH = "/api/policy/pre-check"
TARGETS = ("targets: 1 conn p50 <= 1 ms, p99 <= 5 ms; 32 conns >= 50% of the bare route, 0 errors; "
           "budgets add <= 0.1 ms p50 and <= 1 ms p99 at 1 conn")
# Every pre-check of the bench is covered by all three (client "bench", the trail's user).
BUDGETS = """\
budgets:
  - {id: org-daily, name: Organization per day, scope: organization, limit_usd: 1000000, period: daily, on_exceed: block}
  - {id: bench-monthly, name: Bench client, scope: agent, scope_id: bench, limit_usd: 1000000, period: monthly, on_exceed: block}
  - {id: user-weekly, name: Local user, scope: user, limit_usd: 1000000, period: weekly, on_exceed: warn}
"""


def bare_server() -> None:
    """The baseline: same JSON parse, fixed answer, same uvicorn settings."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from axonflow_notebook.agent.server import bind_socket, uvicorn_config

    fixed = {"context_id": "00000000-0000-4000-8000-000000000000", "approved": True,
             "policies": [], "expires_at": "2026-01-01T00:05:00.000000Z"}

    async def handler(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(fixed)

    app = Starlette(routes=[Route(PATH, handler, methods=["POST"])])
    sock = bind_socket("127.0.0.1", 0)
    print(f"bare route listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    try:
        uvicorn.Server(uvicorn_config(app)).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it shut down on
        pass


def _start(command: list[str]) -> tuple[subprocess.Popen, str, str]:
    """Start a server; return it, its URL and the secret it printed ("" for the bare route)."""
    env = {**os.environ, "AXONFLOW_TELEMETRY": "off", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    url = match.group(1)
    secret = ""
    if "secret required" in line:  # the agent prints its secret once, on the lines after
        secret = next(row.split("=", 1)[1].strip() for row in proc.stdout if "AXONFLOW_CLIENT_SECRET=" in row)
    for _ in range(100):
        try:
            request = urllib.request.Request(url + PATH, data=json.dumps(BODY).encode(),
                                             headers={"Content-Type": "application/json",
                                                      "Authorization": _basic(secret)})
            urllib.request.urlopen(request, timeout=2).read()
            break
        except OSError:
            time.sleep(0.05)
    return proc, url, secret


def _basic(secret: str) -> str:
    return "Basic " + base64.b64encode(f"bench:{secret}".encode()).decode()


def _check_budget_info(url: str, secret: str) -> None:
    """The budgets variant must really check budgets on every pre-check."""
    request = urllib.request.Request(url + PATH, data=json.dumps(BODY).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": _basic(secret)})
    answer = json.load(urllib.request.urlopen(request, timeout=5))
    if "budget_info" not in answer:
        raise SystemExit(f"the budgets variant answered without budget_info: {answer}")


def _lua_script(directory: str, secret: str, name: str = "precheck") -> str:
    path = os.path.join(directory, f"{name}.lua")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('wrk.method = "POST"\n')
        fh.write(f"wrk.body = {json.dumps(json.dumps(BODY))}\n")
        fh.write('wrk.headers["Content-Type"] = "application/json"\n')
        fh.write(f'wrk.headers["Authorization"] = "{_basic(secret)}"\n')
    return path


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, script: str, connections: int, duration: int) -> dict:
    threads = 1 if connections == 1 else 2
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script, url + PATH],
        capture_output=True, text=True, check=True,
    ).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        result[f"p{pct}"] = _ms(re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M).group(1))
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    result["errors"] = errors
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        bare_server()
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    workdir = tempfile.mkdtemp(prefix="bench-precheck-")
    budgets_file = os.path.join(workdir, "budgets.yaml")
    with open(budgets_file, "w", encoding="utf-8") as fh:
        fh.write(BUDGETS)
    agent, agent_url, secret = _start([sys.executable, "-m", "axonflow_notebook.cli", "agent", "--port", "0",
                                       "--db", os.path.join(workdir, "bench.db")])
    budgeted, budgeted_url, budgeted_secret = _start([
        sys.executable, "-m", "axonflow_notebook.cli", "agent", "--port", "0",
        "--db", os.path.join(workdir, "bench-budgets.db"), "--policies", budgets_file])
    _check_budget_info(budgeted_url, budgeted_secret)
    bare, bare_url, _ = _start([sys.executable, os.path.abspath(__file__), "--bare-server"])
    # The bare route ignores the header; every server gets the same request.
    scripts = {"agent pre-check": _lua_script(workdir, secret, "plain"),
               "agent, 3 budgets": _lua_script(workdir, budgeted_secret, "budgets"),
               "bare Starlette route": _lua_script(workdir, secret, "bare")}
    servers = {"agent pre-check": agent_url, "agent, 3 budgets": budgeted_url, "bare Starlette route": bare_url}
    runs: dict = {name: {"one": [], "many": []} for name in servers}
    load_before = os.getloadavg()[0]
    try:
        for name, url in servers.items():
            wrk(url, scripts[name], 32, 2)  # warm-up
        # Interleaved rounds, so a burst of load from other processes on a shared machine
        # hits every server alike; each figure is the median over the rounds.
        for _ in range(args.rounds):
            for connections, key in ((1, "one"), (32, "many")):
                for name, url in servers.items():
                    runs[name][key].append(wrk(url, scripts[name], connections, args.duration))
    finally:
        for proc in (agent, budgeted, bare):
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)

    def median(name: str, key: str, field: str) -> float:
        return statistics.median(r[field] for r in runs[name][key])

    print(f"\nPOST {PATH}, wrk, {args.rounds} interleaved rounds x {args.duration}s per run, medians; "
          f"loopback, {os.cpu_count()} CPUs, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"{'server':<22} {'1c p50 ms':>10} {'1c p99 ms':>10} {'1c req/s':>9} {'32c req/s':>10} {'32c p99 ms':>11} {'errors':>7}")
    for name in servers:
        errors = sum(r["errors"] for key in ("one", "many") for r in runs[name][key])
        print(f"{name:<22} {median(name, 'one', 'p50'):>10.3f} {median(name, 'one', 'p99'):>10.3f} "
              f"{median(name, 'one', 'rps'):>9.0f} {median(name, 'many', 'rps'):>10.0f} "
              f"{median(name, 'many', 'p99'):>11.2f} {errors:>7}")
    agent_rps = median("agent pre-check", "many", "rps")
    bare_rps = median("bare Starlette route", "many", "rps")
    print(f"agent / bare throughput at 32 connections: {agent_rps / bare_rps:.0%}" if bare_rps else "")
    # Paired per round (same minute of machine load), then the median of the differences.
    for pct in ("p50", "p99"):
        deltas = [b[pct] - a[pct] for a, b in zip(runs["agent pre-check"]["one"], runs["agent, 3 budgets"]["one"])]
        print(f"budgets add at 1 connection, {pct}: {statistics.median(deltas):+.3f} ms "
              f"(per round: {', '.join(f'{d:+.3f}' for d in deltas)})")
    print(TARGETS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
