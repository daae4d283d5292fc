"""A big batch in a real kernel: RSS growth, and how many widget messages it sends a second.

    .venv/bin/python bench/bench_batch_memory.py              # the long form: 10,000 rows, concurrency 64
    .venv/bin/python bench/bench_batch_memory.py --rows 1000  # a short form for CI

A real ipykernel (jupyter_client) loads the extension, builds a frame of `--rows` prompts and runs
`%%governed --over df --concurrency 64 --simulate` (LiteLLM's mock_response: no LLM server, so
the figure is governance's and the batch's own). The agent runs in a process of its own. The
kernel reads its RSS (psutil, after gc) before and after the batch, with a 200-row batch before
as a warm-up; the result frame the batch binds is part of the growth. Every IOPub message the
cell causes is timed here: widget state updates (`comm_msg`) and display updates. Goals
(issue 13): growth <= 150 MB, widget messages <= 10 a second. Figures, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from batch_common import SubprocessAgent  # noqa: E402

PROBE = ("import gc, json, psutil; gc.collect(); "
         "print(json.dumps({'rss': psutil.Process().memory_info().rss}))")


def _run(kc, code: str, timeout: float = 600) -> str:
    printed = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append(f"ERROR {msg['content']['ename']}: {msg['content']['evalue']}")

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    if reply["content"]["status"] != "ok":
        raise RuntimeError("".join(printed) or str(reply["content"]))
    return "".join(printed)


def _rss(kc) -> int:
    out = _run(kc, PROBE)
    return json.loads(next(line for line in out.splitlines() if line.startswith('{"rss"')))["rss"]


def _timed_cell(kc, code: str, timeout: float = 1800) -> tuple[list, float]:
    """Run `code`; (every (time, msg_type) on IOPub it caused, seconds it took)."""
    msg_id = kc.execute(code)
    seen, started = [], time.monotonic()
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise RuntimeError("the batch cell did not finish") from None
        kind = msg["msg_type"]
        if msg["parent_header"].get("msg_id") == msg_id or kind.startswith("comm"):
            seen.append((time.monotonic(), kind))
        if kind == "error" and msg["parent_header"].get("msg_id") == msg_id:
            raise RuntimeError(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        if kind == "status" and msg["content"]["execution_state"] == "idle" and \
                msg["parent_header"].get("msg_id") == msg_id:
            return seen, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    from jupyter_client.manager import KernelManager

    tmp = Path(tempfile.mkdtemp(prefix="axonflow-bench-batch-memory-"))
    agent = SubprocessAgent(str(tmp / "agent.db"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AXONFLOW_", "OPENAI_", "ANTHROPIC_"))}
    env.update(AXONFLOW_ENDPOINT=agent.url, AXONFLOW_CLIENT_ID="bench-batch-memory",
               AXONFLOW_CLIENT_SECRET=agent.secret, AXONFLOW_TELEMETRY="off",
               LITELLM_LOCAL_MODEL_COST_MAP="True", IPYTHONDIR=str(tmp / "ipython"), XDG_DATA_HOME=str(tmp / "data"))
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        _run(kc, "%load_ext axonflow_notebook\nimport pandas as pd\n"
                 "warm = pd.DataFrame({'text': [f'Warm-up ticket {i}.' for i in range(200)]})\n"
                 f"df = pd.DataFrame({{'text': [f'Classify support ticket {{i}}: the export is slow.' "
                 f"for i in range({args.rows})]}})")
        _timed_cell(kc, f"%%governed --over warm --simulate --concurrency {args.concurrency}\n{{text}}")
        before = _rss(kc)
        seen, took = _timed_cell(kc, f"%%governed --over df --simulate --concurrency {args.concurrency} -o out\n{{text}}")
        after = _rss(kc)
        check = _run(kc, "print(out['answer_status'].value_counts().to_dict())")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        agent.close()

    comm = [t for t, kind in seen if kind == "comm_msg"]
    displays = [t for t, kind in seen if kind in ("display_data", "update_display_data")]
    widget = sorted(comm + displays)
    busiest = max((sum(1 for x in widget if start <= x < start + 1.0) for start in widget), default=0)
    print(f"{args.rows} simulated rows at concurrency {args.concurrency}: {took:.1f} s "
          f"({args.rows / took:.0f} rows/s); statuses {check.strip()}")
    print(f"kernel RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB: growth {(after - before) / 2**20:.1f} MiB "
          f"(goal <= 150 MB), the result frame included")
    print(f"widget messages: {len(comm)} state updates + {len(displays)} display updates in {took:.1f} s = "
          f"{len(widget) / took:.1f} a second on average, {busiest} in the busiest second (goal <= 10)")


if __name__ == "__main__":
    main()
