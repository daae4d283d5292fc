"""`%load_ext axonflow_notebook` wall time in fresh interpreters (budget: 0.15 s).

    .venv/bin/python bench/bench_load_ext.py [--runs 5]

Each run is a new Python process with a fresh IPython shell, so nothing is cached in memory.
Figures, not a test (tests/notebook/test_extension.py holds the budget check).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

PROBE = """
import time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
t = time.perf_counter()
ip.run_line_magic("load_ext", "axonflow_notebook")
elapsed = time.perf_counter() - t
import sys
heavy = [m for m in ("litellm", "axonflow", "starlette", "uvicorn", "ipywidgets") if m in sys.modules]
print(elapsed, ",".join(heavy) or "-")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times, heavy = [], set()
    for _ in range(args.runs):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
        elapsed, modules = out.stdout.split()
        times.append(float(elapsed))
        heavy |= set(modules.split(",")) - {"-"}
    print(f"%load_ext axonflow_notebook over {args.runs} fresh processes: "
          f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms; "
          f"heavy modules imported: {', '.join(sorted(heavy)) or 'none'}")


if __name__ == "__main__":
    main()
