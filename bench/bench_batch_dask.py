"""A batch on a Dask cluster against the same batch in one process: rows per second.

    .venv/bin/python bench/bench_batch_dask.py               # the long form: 2,000 rows
    .venv/bin/python bench/bench_batch_dask.py --rows 400    # a short form for CI

The same rows, the same total concurrency (16 LLM requests in flight), the same agent and loopback
LLM (each in a process of its own, answering after `--delay` seconds): once as
`logger.map(...)` in this process, once as `ddf.governed.complete(...)` on a
`distributed.LocalCluster` of two worker processes (8 partitions, concurrency 8 on each
worker). The workers are started and warmed up (LiteLLM imported, a logger built) before the
clock starts; their credentials come from their environment. Figures, not a test.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from batch_common import SubprocessAgent, SubprocessLLM, prompts  # noqa: E402

warnings.simplefilter("ignore")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds the LLM takes to answer")
    args = parser.parse_args()

    import dask.dataframe as dd
    import distributed
    import pandas as pd

    import axonflow_notebook.pandas  # noqa: F401  (df.governed and ddf.governed)
    from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig

    logging.disable(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="axonflow-bench-dask-"))
    agent = SubprocessAgent(str(tmp / "agent.db"))
    llm = SubprocessLLM(delay_s=args.delay)
    kwargs = llm.kwargs()
    config = AxonFlowLoggerConfig(endpoint=agent.url, client_id="bench-dask", client_secret=agent.secret)
    logger = AxonFlowLogger(config)
    frame = pd.DataFrame({"text": prompts(args.rows)})
    env = {"AXONFLOW_CLIENT_SECRET": agent.secret, "OPENAI_API_KEY": "sk-test", "AXONFLOW_TELEMETRY": "off",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    try:
        logger.map(prompts(32), concurrency=16, **kwargs)  # warm up
        started = time.perf_counter()
        single = logger.map(list(frame["text"]), concurrency=16, **kwargs)
        single_s = time.perf_counter() - started
        assert single.counts == {"allowed": args.rows}, single.counts

        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, env=env,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            api = {"api_base": kwargs["api_base"]}
            warm = dd.from_pandas(frame.head(32), npartitions=2)
            client.compute(warm.governed.complete("{text}", model=kwargs["model"], into="a", logger=logger,
                                                  concurrency=8, **api)).result()
            ddf = dd.from_pandas(frame, npartitions=8)
            out = ddf.governed.complete("{text}", model=kwargs["model"], into="a", logger=logger, concurrency=8, **api)
            started = time.perf_counter()
            result = client.compute(out).result()
            dask_s = time.perf_counter() - started
        assert (result["a_status"] == "allowed").all(), result["a_status"].value_counts()
    finally:
        logger.close()
        llm.close()
        agent.close()
    print(f"{args.rows} rows, 16 LLM requests in flight, LLM answering after {args.delay * 1000:.0f} ms:")
    print(f"  one process (logger.map):              {args.rows / single_s:7.1f} rows/s ({single_s:.1f} s)")
    print(f"  Dask, 2 worker processes, 8 partitions: {args.rows / dask_s:7.1f} rows/s ({dask_s:.1f} s)")
    print(f"  Dask / one process = {single_s / dask_s:.2f}")


if __name__ == "__main__":
    main()
