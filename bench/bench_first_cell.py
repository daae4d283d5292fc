"""Time from running the first `%%governed` cell in a fresh kernel to its card (budget: 0.3 s).

    .venv/bin/python bench/bench_first_cell.py [--runs 5]

Each run starts a new kernel (jupyter_client) with a fresh data dir, runs `%load_ext
axonflow_notebook` in one cell, then sends the first `%%governed` cell and times, from the
execute request, the cell's first display message (the card, "loading LiteLLM…") and its reply
(the whole call: LiteLLM loaded off the kernel's loop, the local agent started, the call made).
Figures, not a test (tests/notebook/test_nbclient.py checks the behaviour).
"""

from __future__ import annotations

import argparse
import queue
import statistics
import tempfile
import time
from pathlib import Path

from axonflow_notebook.testing.kernels import kernel_env, run, start_kernel, stop_kernel

POLICIES = Path(__file__).resolve().parents[1] / "notebooks" / "policies.yaml"


def one_run() -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-first-cell-") as tmp:
        env = kernel_env(Path(tmp), AXONFLOW_POLICIES=str(POLICIES))
        km, kc = start_kernel(env)
        try:
            assert run(kc, "%load_ext axonflow_notebook")["status"] == "ok"
            started = time.perf_counter()
            msg_id = kc.execute("%%governed\nSay hello.")
            card = done = None
            while done is None:
                try:
                    msg = kc.get_iopub_msg(timeout=0.01)
                    if (card is None and msg["msg_type"] == "display_data"
                            and msg["parent_header"].get("msg_id") == msg_id):
                        card = time.perf_counter() - started
                except queue.Empty:
                    pass
                try:
                    reply = kc.get_shell_msg(timeout=0.001)
                    if reply["parent_header"].get("msg_id") == msg_id:
                        done = time.perf_counter() - started
                        assert reply["content"]["status"] == "ok", reply["content"]
                except queue.Empty:
                    pass
            return card if card is not None else float("nan"), done
        finally:
            stop_kernel(km, kc, env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cards, calls = [], []
    for _ in range(args.runs):
        card, done = one_run()
        cards.append(card)
        calls.append(done)
    print(f"first %%governed cell in a fresh kernel, {args.runs} kernels: card after median "
          f"{statistics.median(cards) * 1000:.0f} ms (max {max(cards) * 1000:.0f} ms); "
          f"whole call median {statistics.median(calls):.2f} s")


if __name__ == "__main__":
    main()
