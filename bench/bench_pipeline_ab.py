"""Our pipeline's own cost per call, two code trees compared in alternating fresh processes.

Runs `pipeline_cost()` of bench/bench_core_overhead.py (an injected no-op AxonFlow client,
LiteLLM stubbed: only our code's CPU per governed call, audit included) in a new interpreter per
round, alternating the trees (A, B, A, B, …) so the load of a shared machine falls on both alike,
and prints each round's p50 and the median of them per tree.

    .venv/bin/python bench/bench_pipeline_ab.py A_TREE B_TREE [--rounds 8] [--calls 3000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBE = """
import asyncio, importlib.util, sys
spec = importlib.util.spec_from_file_location("bench_core_overhead", sys.argv[1])
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
p50, p95 = asyncio.run(bench.pipeline_cost(int(sys.argv[2])))
print(p50, p95)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs=2, help="two checkouts of axonflow-notebook (A, B)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    results: dict = {tree: [] for tree in args.trees}
    env = {**os.environ, "AXONFLOW_TELEMETRY": "off", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for n in range(args.rounds):
        for tree in args.trees:
            done = subprocess.run([sys.executable, "-c", PROBE, str(HERE / "bench_core_overhead.py"), str(args.calls)],
                                  env={**env, "PYTHONPATH": tree}, capture_output=True, text=True, timeout=600)
            if done.returncode:
                raise SystemExit(done.stderr[-2000:])
            p50, p95 = map(float, done.stdout.split()[-2:])
            results[tree].append(p50)
            print(f"round {n + 1} {tree}: p50 {p50:.3f} ms  p95 {p95:.3f} ms", flush=True)
    a, b = (statistics.median(results[t]) for t in args.trees)
    print(f"median of the rounds' p50: A {a:.3f} ms, B {b:.3f} ms, B - A {b - a:+.3f} ms "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
