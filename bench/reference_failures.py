"""The two failures of the reference integration (axonflow-litellm 1.1.0), measured beside ours.

1. Inside a running event loop (every Jupyter cell runs in one), its sync `completion()` fails.
2. In a plain script, consecutive sync `completion()` calls: every second one loses governance
   ("Event loop is closed") and, with the default fail-open, runs ungoverned and unaudited.

Both against the same embedded agent and the loopback OpenAI-compatible server:

    LITELLM_LOCAL_MODEL_COST_MAP=True AXONFLOW_TELEMETRY=off \
        .venv/bin/python bench/reference_failures.py [--calls 10]

Figures, not a test (axonflow-litellm is a bench-only dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import warnings

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("AXONFLOW_TELEMETRY", "off")

import httpx  # noqa: E402
import litellm  # noqa: E402

from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig  # noqa: E402
from axonflow_notebook.agent import EmbeddedAgent  # noqa: E402
from axonflow_notebook.testing.openai_server import OpenAITestServer  # noqa: E402

litellm.suppress_debug_info = True
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)


def audit_count(url: str, client_id: str, secret: str) -> int:
    body = {"limit": 1000, "client_id": client_id}
    entries = httpx.post(f"{url}/api/v1/audit/search", json=body, auth=(client_id, secret)).json()
    return sum(1 for e in entries["entries"] if e.get("model"))


def make(kind: str, url: str, client_id: str, secret: str):
    if kind == "ours":
        return AxonFlowLogger(AxonFlowLoggerConfig(endpoint=url, client_id=client_id, client_secret=secret))
    from axonflow_litellm import AxonFlowLogger as RefLogger, AxonFlowLoggerConfig as RefConfig

    return RefLogger(RefConfig(endpoint=url, client_id=client_id, client_secret=secret))


def sync_calls(logger, llm, n: int) -> list[str]:
    outcomes = []
    for i in range(n):
        try:
            logger.completion(messages=[{"role": "user", "content": f"hello {i}"}], **llm)
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - we report whatever escapes
            outcomes.append(f"{type(exc).__name__}: {str(exc)[:70]}")
    return outcomes


async def inside_loop(logger, llm) -> str:
    try:
        logger.completion(messages=[{"role": "user", "content": "hello from a cell"}], **llm)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {str(exc)[:70]}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    with EmbeddedAgent(port=0) as agent, OpenAITestServer() as llm_server:
        llm = llm_server.litellm_kwargs()
        print(f"{'integration':<22} {'sync calls in a script':<40} {'sync call inside a running loop'}")
        for kind in ("axonflow-litellm", "ours"):
            client_id = f"bench-{kind}"
            before_llm = llm_server.count
            outcomes = sync_calls(make(kind, agent.url, client_id, agent.secret), llm, args.calls)
            audited = audit_count(agent.url, client_id, agent.secret)
            llm_calls = llm_server.count - before_llm
            in_loop = asyncio.run(inside_loop(make(kind, agent.url, client_id + "-loop", agent.secret), llm))
            script = f"{args.calls} calls, {llm_calls} reached the LLM, {audited} audited"
            print(f"{kind:<22} {script:<40} {in_loop}")
            errors = sorted({o for o in outcomes if o != "ok"})
            for err in errors:
                print(f"{'':<22}   raised: {err}")


if __name__ == "__main__":
    main()
