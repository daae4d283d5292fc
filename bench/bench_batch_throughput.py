"""Batch throughput: governed rows per second against a bare `asyncio.Semaphore` +
`litellm.acompletion` loop, in the same run, against the same loopback LLM.

    .venv/bin/python bench/bench_batch_throughput.py            # the long form (issue 13's figures)
    .venv/bin/python bench/bench_batch_throughput.py --quick    # a short form for CI

1. Where the LLM dominates: 500 rows, concurrency 16, the LLM answering after 300 ms (goal:
   governed >= 0.95x bare). 2. Where nothing else does: 1,000 rows, an instant LLM: both rates
   side by side, and the governance CPU per row (this process's CPU time, governed minus bare,
   per row; the agent and the LLM run in processes of their own). Variants alternate, `--rounds`
   times each, so drift on a shared machine hits both alike; the best round of each is reported
   with the others. Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from batch_common import SubprocessAgent, SubprocessLLM, bare_batch, prompts  # noqa: E402

warnings.simplefilter("ignore")
logging.disable(logging.WARNING)


async def measure(name: str, make, rows: int) -> tuple:
    cpu, wall = time.process_time(), time.perf_counter()
    done, why = await make()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert done == rows, f"{name}: {done} of {rows} rows answered; {why}"
    return rows / wall, cpu


async def compare(logger, llm: SubprocessLLM, rows: int, concurrency: int, rounds: int) -> dict:
    items = prompts(rows)
    kwargs = llm.kwargs()

    async def governed() -> tuple:
        result = await logger.amap(items, concurrency=concurrency, num_retries=0, **kwargs)
        other = [row for row in result.rows if row.status != "allowed"]
        why = f"{result.counts}, first other row: {other[0].status} {other[0].error!r}" if other else ""
        return result.counts.get("allowed", 0), why

    async def bare() -> tuple:
        return await bare_batch(items, concurrency, **kwargs), ""

    await governed()  # warm up both paths (imports, connection pools) before timing
    await bare()
    runs: dict = {"governed": [], "bare": []}
    for _ in range(rounds):
        for name, make in (("bare", bare), ("governed", governed)):
            runs[name].append(await measure(name, make, rows))
    return runs


def report(title: str, runs: dict, rows: int) -> None:
    best = {name: max(rate for rate, _ in samples) for name, samples in runs.items()}
    print(f"\n{title}")
    for name, samples in runs.items():
        rates = ", ".join(f"{rate:.1f}" for rate, _ in samples)
        print(f"  {name:9s} best {best[name]:7.1f} rows/s   (rounds: {rates})")
    print(f"  governed / bare = {best['governed'] / best['bare']:.3f} (best of each)")
    cpu = {name: min(cpu for _, cpu in samples) for name, samples in runs.items()}
    print(f"  this process's CPU: governed {cpu['governed'] / rows * 1000:.2f} ms/row, bare "
          f"{cpu['bare'] / rows * 1000:.2f} ms/row -> governance {(cpu['governed'] - cpu['bare']) / rows * 1000:.2f} "
          f"ms of CPU per row")


async def main_async(args: argparse.Namespace) -> None:
    from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig

    tmp = Path(tempfile.mkdtemp(prefix="axonflow-bench-batch-"))
    agent = SubprocessAgent(str(tmp / "agent.db"))
    slow, fast = SubprocessLLM(delay_s=0.3), SubprocessLLM()
    try:
        config = AxonFlowLoggerConfig(endpoint=agent.url, client_id="bench-batch", client_secret=agent.secret)
        async with AxonFlowLogger(config) as logger:
            rows, conc = (100, 16) if args.quick else (500, 16)
            runs = await compare(logger, slow, rows, conc, args.rounds)
            report(f"{rows} rows, concurrency {conc}, LLM answering after 300 ms", runs, rows)
            rows = 200 if args.quick else 1000
            runs = await compare(logger, fast, rows, conc, args.rounds)
            report(f"{rows} rows, concurrency {conc}, instant LLM", runs, rows)
    finally:
        slow.close()
        fast.close()
        agent.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the short form (CI): 100 and 200 rows")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
