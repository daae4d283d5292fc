"""Governance overhead per call: ours vs axonflow-litellm 1.1.0, same agent, same run.

Overhead = governed latency minus bare LiteLLM latency against the loopback
OpenAI-compatible server (p50 and p95, calls interleaved so drift hits every
variant alike). Also: 200 concurrent governed acompletion calls, and our sync
`completion` without the runtime's forwarding thread (`Runtime.post` waking the
loop itself), interleaved with the rest, to show whether that thread still pays.

Our completion/acompletion return once the LLM has answered and deliver the
audit in the background; the timed figure is what the caller waits for. After
every call, of every variant, the bench waits (untimed) for the background work
that call left: our audit, and LiteLLM's own success logging, which LiteLLM runs
on its logging thread after every call, governed or bare (about 1 ms of CPU
here). Otherwise that work lands inside whichever call comes next and, through
the GIL, is charged to it. axonflow-litellm awaits its audit inline.

    LITELLM_LOCAL_MODEL_COST_MAP=True AXONFLOW_TELEMETRY=off \
        .venv/bin/python bench/bench_core_overhead.py [--calls 300]

Figures, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import warnings

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("AXONFLOW_TELEMETRY", "off")

import httpx  # noqa: E402
import litellm  # noqa: E402

from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig  # noqa: E402
from axonflow_notebook.agent import EmbeddedAgent  # noqa: E402
from axonflow_notebook.testing.openai_server import OpenAITestServer  # noqa: E402
from axonflow_notebook.testing.ports import free_port, wait_http  # noqa: E402

litellm.suppress_debug_info = True
warnings.simplefilter("ignore")


class SubprocessAgent:
    """The agent CLI in its own process, so its CPU time does not share our GIL."""

    def __init__(self, db: str) -> None:
        import subprocess

        port = free_port()
        cli = os.path.join(os.path.dirname(sys.executable), "axonflow-notebook")
        self._proc = subprocess.Popen([cli, "agent", "--port", str(port), "--db", db],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        # The agent prints its secret once at start (AXONFLOW_CLIENT_SECRET=...).
        self.secret = next(line.split("=", 1)[1].strip() for line in self._proc.stdout
                           if "AXONFLOW_CLIENT_SECRET=" in line)
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/health")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._proc.terminate()
        self._proc.wait(10)


class SubprocessLLM:
    """The loopback LLM server in its own process."""

    def __init__(self) -> None:
        import subprocess

        port = free_port()
        code = ("import time; from axonflow_notebook.testing.openai_server import OpenAITestServer; "
                f"OpenAITestServer(port={port}).start(); time.sleep(10**6)")
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/v1/models")

    def litellm_kwargs(self):
        return {"model": "openai/test-model", "api_base": self.url + "/v1", "api_key": "sk-test"}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._proc.terminate()
        self._proc.wait(10)


def pct(values, q):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[index]


def audited(agent) -> int:
    # decision rows are completed (given an audit_id) by the llm-call audit; every page is read
    # (one page of 1,000 undercounted once a run passed 1,000 decisions: "-39 audits")
    count, offset = 0, 0
    while True:
        body = httpx.post(agent.url + "/api/v1/audit/search", json={"limit": 1000, "offset": offset},
                          auth=("bench", agent.secret), timeout=10).json()
        count += sum(1 for e in body["entries"] if e.get("audit_id"))
        offset += len(body["entries"])
        if not body["entries"] or offset >= body.get("total", offset):
            return count


def summarise(name, samples, bare):
    p50, p95 = pct(samples, 50), pct(samples, 95)
    b50, b95 = pct(bare, 50), pct(bare, 95)
    return name, p50 * 1000, p95 * 1000, (p50 - b50) * 1000, (p95 - b95) * 1000


async def run_async(calls, kwargs, ours, ref):
    variants = {"bare litellm.acompletion": lambda i: litellm.acompletion(**kwargs(i)),
                "ours acompletion": lambda i: ours.acompletion(**kwargs(i))}
    if ref is not None:
        variants["axonflow-litellm acompletion"] = lambda i: ref.acompletion(**kwargs(i))
    samples = {name: [] for name in variants}
    errors = {name: 0 for name in variants}
    for i in range(20):  # warm-up: connection pools, SDK clients, LiteLLM caches
        for fn in variants.values():
            await fn(i)
        await ours.aflush()
    order = list(variants.items())
    rng = random.Random(7)
    for i in range(calls):
        rng.shuffle(order)  # no variant always pays for its predecessor's background work
        for name, fn in order:
            start = time.perf_counter()
            try:
                await fn(i)
            except Exception:
                errors[name] += 1
                continue
            samples[name].append(time.perf_counter() - start)
            await _asettle(ours)  # untimed: background work of this call, before the next
    return samples, errors


def _litellm_logging_busy() -> bool:
    from litellm.litellm_core_utils.thread_pool_executor import executor

    return executor._pending_slots._value < executor._max_pending_tasks  # queued or running


def _settle(logger):
    """Untimed, after every call: let the background work that call left finish."""
    if isinstance(logger, AxonFlowLogger):  # ours delivers audits in the background
        logger.flush()
    deadline = time.monotonic() + 2.0
    while _litellm_logging_busy() and time.monotonic() < deadline:
        time.sleep(0.0002)


async def _asettle(logger):
    if isinstance(logger, AxonFlowLogger):
        await logger.aflush()
    deadline = time.monotonic() + 2.0
    while _litellm_logging_busy() and time.monotonic() < deadline:
        await asyncio.sleep(0.0002)


def _without_forwarder(call):
    """The same call with the runtime waking its loop itself (call_soon_threadsafe) instead of
    through its forwarding thread (axonflow_notebook/core/runtime.py, `post`)."""
    from axonflow_notebook.core.runtime import get_runtime

    runtime = get_runtime()

    def run(i):
        runtime.forward_posts = False
        try:
            return call(i)
        finally:
            runtime.forward_posts = True

    return run


def run_sync(calls, kwargs, ours, ref, *, compare_forwarder=False):
    variants = {"bare litellm.completion": lambda i: litellm.completion(**kwargs(i)),
                "ours completion": lambda i: ours.completion(**kwargs(i))}
    if compare_forwarder:
        variants["ours completion, no forwarder"] = _without_forwarder(lambda i: ours.completion(**kwargs(i)))
    if ref is not None:
        variants["axonflow-litellm completion"] = lambda i: ref.completion(**kwargs(i))
    samples = {name: [] for name in variants}
    errors = {name: 0 for name in variants}
    for i in range(10):
        for name, fn in variants.items():
            try:
                fn(i)
            except Exception:
                pass
        _settle(ours)
    order = list(variants.items())
    rng = random.Random(7)
    for i in range(calls):
        rng.shuffle(order)
        for name, fn in order:
            start = time.perf_counter()
            try:
                fn(i)
            except Exception:
                errors[name] += 1
                continue
            samples[name].append(time.perf_counter() - start)
            _settle(ours)  # untimed, as in run_async
    return samples, errors


async def floor(agent, n=200):
    """Raw HTTP round trips to the agent (no SDK, no pipeline): what any client pays."""
    body = {"user_token": "anonymous", "client_id": "bench", "query": "benchmark question",
            "data_sources": [], "context": None}
    out = {}
    async with httpx.AsyncClient(auth=("bench", agent.secret)) as client:
        for name, fn in (("GET /health", lambda: client.get(agent.url + "/health")),
                         ("POST /api/policy/pre-check", lambda: client.post(agent.url + "/api/policy/pre-check", json=body))):
            for _ in range(20):
                await fn()
            samples = []
            for _ in range(n):
                start = time.perf_counter()
                await fn()
                samples.append(time.perf_counter() - start)
            out[name] = (pct(samples, 50) * 1000, pct(samples, 95) * 1000)
    return out


async def pipeline_cost(n=2000):
    """Our pipeline's own CPU per call: injected no-op client, LiteLLM call stubbed."""
    class Instant:
        async def pre_check(self, **kw):
            class R:
                context_id, approved, policies, block_reason, requires_redaction, approved_data = "c", True, [], None, False, {}
            return R

        async def audit_llm_call(self, **kw):
            class A:
                audit_id = "a"
            return A

    logger = AxonFlowLogger.from_client(Instant(), AxonFlowLoggerConfig(endpoint="http://x", client_id="c"))
    response = await litellm.acompletion(model="openai/test-model", messages=[{"role": "user", "content": "x"}],
                                         mock_response="ok")
    real = litellm.acompletion

    async def stub(**kw):
        return response

    litellm.acompletion = stub
    try:
        kw = {"model": "openai/test-model", "messages": [{"role": "user", "content": "x"}]}
        for _ in range(100):
            await logger.acompletion(**kw)
            await logger.aflush()
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            await logger.acompletion(**kw)
            await logger.aflush()  # the background audit's CPU is ours too
            samples.append(time.perf_counter() - start)
    finally:
        litellm.acompletion = real
    return pct(samples, 50) * 1000, pct(samples, 95) * 1000


async def concurrent(ours, kwargs, n=200):
    """n concurrent governed calls; also counts how many were fully governed."""
    from collections import Counter

    from axonflow_notebook.core import events as ev

    counts: Counter = Counter()

    def count(event):
        if isinstance(event, ev.DecisionMade):
            counts["decided"] += 1
        elif isinstance(event, ev.AuditRecorded):
            counts["audited" if event.delivered else "audit_lost"] += 1
        elif isinstance(event, ev.GovernanceSkipped):
            counts[f"skipped:{event.stage}:{event.reason}"] += 1

    unsubscribe = ours.subscribe(count)
    started = time.perf_counter()
    results = await asyncio.gather(*(ours.acompletion(**kwargs(i)) for i in range(n)), return_exceptions=True)
    elapsed = time.perf_counter() - started
    await ours.aflush()
    unsubscribe()
    return sum(1 for r in results if isinstance(r, BaseException)), counts, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--sync-calls", type=int, default=150)
    parser.add_argument("--in-process", action="store_true",
                        help="run the agent and the LLM server as threads of this process (shares the GIL)")
    args = parser.parse_args()

    try:
        from axonflow_litellm import AxonFlowLogger as RefLogger, AxonFlowLoggerConfig as RefConfig
    except ImportError:
        RefLogger = RefConfig = None

    tmp = tempfile.mkdtemp(prefix="bench-core-")
    db = os.path.join(tmp, "agent.db")
    if args.in_process:
        agent_cm, llm_cm = EmbeddedAgent(port=0, db_path=db), OpenAITestServer()
    else:
        agent_cm, llm_cm = SubprocessAgent(db), SubprocessLLM()
    with agent_cm as agent, llm_cm as llm:
        base = llm.litellm_kwargs()

        def kwargs(i):
            return {**base, "messages": [{"role": "user", "content": f"benchmark question {i}"}]}

        ours = AxonFlowLogger(AxonFlowLoggerConfig(endpoint=agent.url, client_id="bench", client_secret=agent.secret))
        ref = RefLogger(RefConfig(endpoint=agent.url, client_id="bench", client_secret=agent.secret)) if RefLogger else None

        rows = []
        a_samples, a_errors = asyncio.run(run_async(args.calls, kwargs, ours, ref))
        bare = a_samples["bare litellm.acompletion"]
        for name, values in a_samples.items():
            if values and name != "bare litellm.acompletion":
                rows.append(summarise(name, values, bare) + (a_errors[name], len(values)))
        rows.insert(0, summarise("bare litellm.acompletion", bare, bare) + (0, len(bare)))

        before = audited(agent)
        ours_before = before
        s_samples, s_errors = run_sync(args.sync_calls, kwargs, ours, None, compare_forwarder=True)
        ours_audits = audited(agent) - ours_before
        ref_note = ""
        if ref is not None:
            ref_before = audited(agent)
            r_samples, r_errors = run_sync(args.sync_calls, kwargs, ref, None)
            ref_audits = audited(agent) - ref_before
            # run_sync with ref as "ours" slot: relabel
            s_samples["axonflow-litellm completion"] = r_samples["ours completion"]
            s_errors["axonflow-litellm completion"] = r_errors["ours completion"]
            bare_ref = r_samples["bare litellm.completion"]
            ref_note = (f"axonflow-litellm sync: {ref_audits} audits recorded for "
                        f"{args.sync_calls + 10} governed calls (+warm-up); errors {r_errors['ours completion']}")
        sbare = s_samples["bare litellm.completion"]
        rows.append(summarise("bare litellm.completion", sbare, sbare) + (0, len(sbare)))
        for name in ("ours completion", "ours completion, no forwarder"):
            rows.append(summarise(name, s_samples[name], sbare) + (s_errors[name], len(s_samples[name])))
        if ref is not None and s_samples["axonflow-litellm completion"]:
            rows.append(summarise("axonflow-litellm completion", s_samples["axonflow-litellm completion"], bare_ref)
                        + (s_errors["axonflow-litellm completion"], len(s_samples["axonflow-litellm completion"])))

        failures, counts, elapsed = asyncio.run(concurrent(ours, kwargs))
        floors = asyncio.run(floor(agent))
        own = asyncio.run(pipeline_cost())

        where = "in-process threads" if args.in_process else "separate processes"
        print(f"\nGovernance overhead vs bare LiteLLM (loopback LLM + embedded agent in {where}), "
              f"{args.calls} async / {args.sync_calls} sync calls per variant, interleaved in shuffled order; python {sys.version.split()[0]}")
        print(f"{'variant':32} {'p50 ms':>8} {'p95 ms':>8} {'ovh p50':>8} {'ovh p95':>8} {'errors':>7} {'n':>5}")
        for name, p50, p95, o50, o95, errs, n in rows:
            print(f"{name:32} {p50:8.2f} {p95:8.2f} {o50:8.2f} {o95:8.2f} {errs:7d} {n:5d}")
        for name, (p50, p95) in floors.items():
            print(f"floor, raw HTTP {name:28} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
        print(f"our pipeline's own cost (no network, LiteLLM stubbed): p50 {own[0]:.3f} ms  p95 {own[1]:.3f} ms")
        try:
            print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        except OSError:
            pass
        print(f"ours sync: {ours_audits} audits recorded for {2 * (args.sync_calls + 10)} governed calls "
              "(+warm-up; with and without the forwarder)")
        if ref_note:
            print(ref_note)
        print(f"200 concurrent ours.acompletion: {200 - failures} ok, {failures} errors in {elapsed:.1f} s; "
              f"governance: {dict(counts)}")


if __name__ == "__main__":
    main()
