"""Kernel memory per finished `%%governed` cell, and the widget models cells leave behind.

    .venv/bin/python bench/bench_cell_memory.py [--cells 200] [--warmup 20]

A real ipykernel (through jupyter_client) loads the extension and runs `--warmup` cells, then
`--cells` more; before and after those it collects garbage and reads its own RSS (psutil) and
the size of ipywidgets' registry. The governance backend is an embedded agent in *this* process
(the kernel talks to it by URL), so the figure is the kernel's own growth, not the agent's
audit store. Answers are simulated (no API key); outputs go over IOPub and are drained.
Figures, not a test (tests/notebook/test_widget_lifetime.py holds the rule).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "notebooks" / "policies.yaml"
CELL = "%%governed --no-raise\nIn one sentence: what is a unit test?"
PROBE = ("import gc, json, psutil, ipywidgets; gc.collect(); "
         "print(json.dumps({'rss': psutil.Process().memory_info().rss, "
         "'widgets': len(ipywidgets.Widget.widgets)}))")


def _run(kc, code: str, timeout: float = 120) -> str:
    printed: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append(f"ERROR {msg['content']['ename']}: {msg['content']['evalue']}")

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    if reply["content"]["status"] != "ok":
        raise RuntimeError("".join(printed) or reply["content"])
    return "".join(printed)


def _probe(kc) -> dict:
    out = _run(kc, PROBE)
    line = next((l for l in reversed(out.splitlines()) if l.startswith("{\"rss\"")), None)
    if line is None:
        raise RuntimeError(f"the kernel did not report its memory: {out[-2000:]}")
    return json.loads(line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    from jupyter_client.manager import KernelManager

    from axonflow_notebook.agent import EmbeddedAgent

    tmp = Path(tempfile.mkdtemp(prefix="axonflow-bench-memory-"))
    agent = EmbeddedAgent(port=0, db_path=str(tmp / "agent.db"), policies=str(POLICIES)).start()
    secret = getattr(agent, "secret", None) or "bench-secret"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AXONFLOW_", "OPENAI_", "ANTHROPIC_"))}
    env.update(AXONFLOW_ENDPOINT=agent.url, AXONFLOW_CLIENT_ID="bench-memory",
               AXONFLOW_CLIENT_SECRET=secret, AXONFLOW_TELEMETRY="off", AXONFLOW_JOURNAL="off",
               LITELLM_LOCAL_MODEL_COST_MAP="True", IPYTHONDIR=str(tmp / "ipython"))
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        _run(kc, "%load_ext axonflow_notebook\n"
                 f"%config GovernedMagics.data_dir = {str(tmp / 'data')!r}")
        for _ in range(args.warmup):
            _run(kc, CELL)
        start = _probe(kc)
        t0 = time.perf_counter()
        for _ in range(args.cells):
            _run(kc, CELL)
        elapsed = time.perf_counter() - t0
        end = _probe(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        agent.stop()
    per_cell_kb = (end["rss"] - start["rss"]) / args.cells / 1024
    print(f"{args.cells} finished %%governed cells after {args.warmup} warm-up cells "
          f"({elapsed / args.cells * 1000:.0f} ms each): kernel RSS "
          f"{start['rss'] / 2**20:.1f} -> {end['rss'] / 2**20:.1f} MiB, "
          f"{per_cell_kb:.1f} KiB per cell; widget models alive {start['widgets']} -> "
          f"{end['widgets']} ({(end['widgets'] - start['widgets']) / args.cells:.2f} per cell)")


if __name__ == "__main__":
    sys.exit(main())
