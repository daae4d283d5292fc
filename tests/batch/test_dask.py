"""`ddf.governed.complete(...)` on a `distributed.LocalCluster` of two worker processes.

Each worker governs its partitions' rows against the same embedded agent; the agent's secret and
the LLM key reach the workers through their environment only, never through the task graph.
"""

from __future__ import annotations

import cloudpickle
import pandas as pd
import pytest

import axonflow_notebook.pandas  # noqa: F401  (registers df.governed, and ddf.governed with Dask)

from axonflow_notebook.testing.batches import CLIENT, run

pytestmark = pytest.mark.slow  # two worker processes importing LiteLLM: about 100 s here

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

KINDS = [("Summarise ticket {i}: the export is slow.", "allowed"),
         ("Ticket {i}: customer ACCT-{i:08d} asks about fees.", "redacted"),
         ("Ticket {i}: when does Project Nightingale launch?", "blocked"),
         ("Ticket {i}: the login page times out.", "allowed")]


@pytest.fixture
def cluster(batch_agent, llm):
    env = {"AXONFLOW_CLIENT_SECRET": batch_agent.test_secret, "OPENAI_API_KEY": "sk-test",
           "AXONFLOW_TELEMETRY": "off", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, env=env,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def test_partitions_are_governed_on_the_workers_with_no_secret_in_the_graph(cluster, make_logger, llm,
                                                                            reviewer, batch_agent):
    frame = pd.DataFrame({"ticket": [KINDS[i % 4][0].format(i=i) for i in range(40)],
                          "n": range(40)})
    ddf = dd.from_pandas(frame, npartitions=4)
    logger = make_logger()  # its config holds the agent's secret: it must stay in this process
    out = ddf.governed.complete("Classify: {ticket}", model="openai/gpt-4o-mini", into="label", logger=logger,
                                concurrency=4, api_base=llm.url + "/v1")

    graph = cloudpickle.dumps(dict(out.__dask_graph__()))
    assert batch_agent.test_secret.encode() not in graph and b"sk-test" not in graph
    assert batch_agent.url.encode() in graph  # the settings do travel; only the credentials do not

    result = cluster.compute(out).result().sort_values("n")
    assert list(result["label_status"]) == [KINDS[i % 4][1] for i in range(40)]
    ran = result[result["label_status"] != "blocked"]
    assert (ran["label"] == llm.reply).all() and (ran["label_cost"] > 0).all()
    assert ran["label_audit_id"].is_unique
    assert llm.count == len(ran)  # every row governed once: no retries, no duplicates
    page = run(reviewer.search_audit(limit=1000, client_id=CLIENT))
    assert page.total == 40
    assert {e.audit_id for e in page.entries if e.audit_id} == set(ran["label_audit_id"])
    processes = cluster.run(lambda: __import__("os").getpid())
    assert len(set(processes.values())) == 2
    governed_where = cluster.run(_loggers_built)
    assert sum(governed_where.values()) >= 2  # both workers built a logger and governed rows


def _loggers_built() -> int:
    from axonflow_notebook.pandas import on_dask

    return len(on_dask._loggers)


def test_credentials_and_one_process_options_are_refused_on_a_dask_frame(make_logger):
    ddf = dd.from_pandas(pd.DataFrame({"ticket": ["a", "b"]}), npartitions=1)
    for option, words in (("api_key", "workers' environment"), ("user_token", "AXONFLOW_DEFAULT_USER_TOKEN"),
                          ("budget_usd", "AxonFlow budget")):
        with pytest.raises(ValueError, match=words):
            ddf.governed.complete("{ticket}", model="m", logger=make_logger(), **{option: "x"})
    with pytest.raises(ValueError, match="not a column"):
        ddf.governed.complete("{text}", model="m", logger=make_logger())
