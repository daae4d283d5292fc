"""Cost of the tamper-evident chain (axonflow_notebook/evidence_chain.py) and of the agent's
chained audit table. Reports figures; it is not a test and asserts nothing.

- append: ``ChainWriter.seal`` of one audit-sized record (p50/p99 per record, SHA-256 and
  HMAC-SHA256), and the agent store's batch write with its chain (per decision);
- verify: ``evidence_chain.verify`` of 100,000 records (sealed, and as plain dicts), and
  ``verify_agent_store`` of an agent database holding 100,000 chain records.
Targets (issue 14): append <= 0.2 ms p50 per record, verify of 100,000 records <= 2 s.

    PYTHONPATH=. .venv/bin/python bench/bench_evidence_chain.py [--records 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid

from axonflow_notebook import evidence_chain as ec

KEY = b"bench-chain-key-0123456789abcdef"


def audit_record(i: int) -> dict:
    return {
        "kind": "decision", "id": str(uuid.UUID(int=i)), "timestamp": "2026-11-29T10:00:00.123456Z",
        "expires_at": "2026-11-29T10:05:00.123456Z", "client_id": "analyst", "tenant_id": "analyst",
        "user_email": "analyst@axonflow.local", "request_type": "llm_chat", "policy_decision": "allowed",
        "policies": '["sys_pii_email"]', "block_reason": None,
        "query_preview": "Summarise the quarterly report for [REDACTED:sys_pii_email] and list the main risks " * 2,
        "query_hash": "ab" * 32, "policy_version": "cd" * 32,
        "evaluation": '{"chars":512,"matches":[{"policy":"sys_pii_email","action":"warn","spans":[[35,51]],'
                      '"text":["[REDACTED:sys_pii_email]"],"count":1}]}',
        "cost": 0.000015 * (i % 7),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_append(n: int) -> None:
    for key, label in ((None, "SHA-256"), (KEY, "HMAC-SHA256")):
        writer = ec.ChainWriter(key)
        records = [audit_record(i) for i in range(n)]
        times = []
        for record in records:
            t = time.perf_counter()
            writer.seal(record)
            times.append(time.perf_counter() - t)
        print(f"append ({label}): p50 {percentile(times, 0.5) * 1e3:.3f} ms, p99 {percentile(times, 0.99) * 1e3:.3f} ms "
              f"per record ({n} records); target p50 <= 0.2 ms")


def bench_store_append(n: int) -> None:
    from axonflow_notebook.agent.store import AUDIT_COLUMNS, Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(os.path.join(tmp, "agent.sqlite3"))
        try:
            per_batch = []
            for start in range(0, n, 100):
                rows = []
                for i in range(start, start + 100):
                    r = audit_record(i)
                    rows.append(tuple(r[c] for c in AUDIT_COLUMNS) + (r["policy_version"], r["evaluation"]))
                with store._lock:
                    t = time.perf_counter()
                    store._decisions.write(rows)
                    per_batch.append((time.perf_counter() - t) / len(rows))
            print(f"agent store, decisions written and chained in batches of 100: p50 "
                  f"{statistics.median(per_batch) * 1e3:.3f} ms per decision (flusher thread, off the request)")
        finally:
            store.close()


def bench_verify(n: int) -> None:
    writer = ec.ChainWriter()
    sealed = [writer.seal(audit_record(i)) for i in range(n)]
    t = time.perf_counter()
    result = ec.verify(sealed)
    print(f"verify {n:,} sealed records: {time.perf_counter() - t:.2f} s ({result}); target <= 2 s")
    dicts = [s.as_dict() for s in sealed]
    t = time.perf_counter()
    result = ec.verify(dicts)
    print(f"verify {n:,} records as dicts (canonical JSON recomputed): {time.perf_counter() - t:.2f} s")


def bench_verify_store(n: int) -> None:
    from axonflow_notebook.agent import verify_agent_store
    from axonflow_notebook.agent.store import AUDIT_COLUMNS, Store

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "agent.sqlite3")
        store = Store(path)
        decisions = (n * 2) // 3
        try:
            for start in range(0, decisions, 1000):
                rows = []
                for i in range(start, min(decisions, start + 1000)):
                    r = audit_record(i)
                    r["expires_at"] = "2999-01-01T00:00:00.000000Z"
                    rows.append(tuple(r[c] for c in AUDIT_COLUMNS) + (r["policy_version"], r["evaluation"]))
                with store._lock:
                    store._decisions.write(rows)
            done = store.chain.writer.next_seq
            for i in range(n - done):
                values = (str(uuid.uuid4()), "2026-11-29T10:00:01.000000Z", "openai", "gpt-4o-mini", 120, 40, 160,
                          850, "a short answer", 0.000021, '{"cost_usd":0.000021}')
                store.complete_call(str(uuid.UUID(int=i)), "2026-11-29T10:00:00.000000Z", values)
            total = store.chain.writer.next_seq
        finally:
            store.close()
        t = time.perf_counter()
        result = verify_agent_store(path)
        print(f"verify_agent_store, {total:,} chain records ({decisions:,} decisions with their rows, "
              f"{total - decisions - 1:,} completions): {time.perf_counter() - t:.2f} s ({result.result.intact and 'intact'}); "
              "target <= 2 s")


def calibrate() -> None:
    """The machine is shared: a fixed pure-Python loop shows how loaded it is right now."""
    t = time.perf_counter()
    x = 0
    for i in range(5_000_000):
        x += i
    print(f"calibration: 5M-iteration Python loop {time.perf_counter() - t:.2f} s (about 0.3 s on an idle core); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    calibrate()
    bench_append(20_000)
    bench_store_append(20_000)
    bench_verify(args.records)
    bench_verify_store(args.records)


if __name__ == "__main__":
    main()
