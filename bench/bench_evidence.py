"""Issue 14's figures: the chained journal's append and verify, audit_frame, export. Not a test.

- append: one journal statement with its chain record (`Journal.upsert`, p50/p99), beside the same
  statement on an unchained table (what the journal cost before it was chained);
- verify: `verify_journal` of a journal of `--records` chain records (calls of four records each:
  decision with provenance, staged audit payload, delivery, completion);
- audit_frame: `source="server"` over `--entries` audit entries of an embedded agent (every page);
- export: `export_bundle` of `--export-calls` calls (four chain records each).
Targets: append <= 0.2 ms p50, verify of 100,000 records <= 2 s, audit_frame over 20,000 entries
<= 3 s, export of 10,000 records <= 5 s. The machine is shared: a calibration loop says how loaded.

    PYTHONPATH=. .venv/bin/python bench/bench_evidence.py [--records 100000] [--entries 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("AXONFLOW_TELEMETRY", "off")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PROVENANCE = json.dumps({"notebook": "/home/analyst/projects/q3/analysis.ipynb", "cell_id": str(uuid.uuid4()),
                         "execution_count": 12, "kernel_session": str(uuid.uuid4()), "os_user": "analyst",
                         "host": "laptop", "client_id": "notebook", "frontend": "jupyter kernel",
                         "packages": {"axonflow-notebook": "0.1.0", "axonflow": "9.5.0", "litellm": "1.110.2"},
                         "policy_version": "ab" * 32})
ANSWER = "The quarterly numbers show revenue up 4% with costs flat; the main risks are " * 6


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def calibrate() -> None:
    t = time.perf_counter()
    x = 0
    for i in range(5_000_000):
        x += i
    print(f"calibration: 5M-iteration Python loop {time.perf_counter() - t:.2f} s (about 0.3 s on an idle core); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine)")


def one_call(journal, i: int, at: float) -> None:
    from axonflow_notebook.core.audit import AuditOutcome, AuditPayload

    call_id = f"call-{i:08d}"
    journal.upsert(call_id, "http://127.0.0.1:8080", at, decision="approved", policies='["sys_pii_email"]',
                   context_id=str(uuid.UUID(int=i)), expires_at=at + 300, policy_version="ab" * 32,
                   provenance=PROVENANCE)
    journal.upsert(call_id, "http://127.0.0.1:8080", at, model="gpt-4o-mini", provider="openai", prompt_tokens=120,
                   completion_tokens=40, total_tokens=160, cost_usd=0.000021, latency_ms=850.0)
    payload = AuditPayload(call_id, str(uuid.UUID(int=i)), "gpt-4o-mini", "openai", ANSWER, 120, 40, 160, 850,
                           0.000021, None, {"provenance": json.loads(PROVENANCE)})
    journal.stage(payload, "http://127.0.0.1:8080")
    journal.settle(call_id, AuditOutcome(delivered=True, audit_id=str(uuid.uuid4())))


def build_journal(path: Path, calls: int) -> None:
    from axonflow_notebook.core.journal import Journal

    journal = Journal(path, retention_days=0)
    now = time.time() - calls
    try:
        for i in range(calls):
            one_call(journal, i, now + i)
    finally:
        journal.close()


def bench_append(tmp: Path, n: int) -> None:
    from axonflow_notebook.core.journal import Journal

    journal = Journal(tmp / "append.sqlite3", retention_days=0)
    chained = []
    try:
        for i in range(n):
            t = time.perf_counter()
            journal.upsert(f"c{i}", "http://x", time.time(), decision="approved", policies="[]", provenance=PROVENANCE)
            chained.append(time.perf_counter() - t)
    finally:
        journal.close()
    plain = sqlite3.connect(tmp / "plain.sqlite3", isolation_level=None)
    plain.execute("PRAGMA journal_mode=WAL")
    plain.execute("PRAGMA synchronous=NORMAL")
    plain.execute("CREATE TABLE calls (call_id TEXT PRIMARY KEY, created_at REAL, endpoint TEXT, decision TEXT, "
                  "policies TEXT, provenance TEXT)")
    unchained = []
    for i in range(n):
        t = time.perf_counter()
        plain.execute("INSERT INTO calls (call_id, created_at, endpoint, decision, policies, provenance) VALUES "
                      "(?, ?, ?, ?, ?, ?) ON CONFLICT(call_id) DO UPDATE SET decision = excluded.decision",
                      (f"c{i}", time.time(), "http://x", "approved", "[]", PROVENANCE))
        unchained.append(time.perf_counter() - t)
    plain.close()
    print(f"journal append, chained (statement + record + head, one transaction): p50 {pct(chained, .5) * 1e3:.3f} ms, "
          f"p99 {pct(chained, .99) * 1e3:.3f} ms ({n} appends); target p50 <= 0.2 ms")
    print(f"  the same statement unchained (the journal before chaining): p50 {pct(unchained, .5) * 1e3:.3f} ms, "
          f"p99 {pct(unchained, .99) * 1e3:.3f} ms")


def bench_verify(tmp: Path, records: int) -> None:
    from axonflow_notebook.evidence.journal_verify import verify_journal

    path = tmp / "verify.sqlite3"
    t = time.perf_counter()
    build_journal(path, records // 4)
    built = time.perf_counter() - t
    times = []
    for _ in range(3):
        t = time.perf_counter()
        result = verify_journal(path)
        times.append(time.perf_counter() - t)
    print(f"verify_journal, {result.result.count:,} chain records ({result.calls:,} calls; built in {built:.0f} s, "
          f"{path.stat().st_size / 1e6:.0f} MB): best {min(times):.2f} s, median {statistics.median(times):.2f} s "
          f"({'intact' if result.intact else result}); target <= 2 s")


def bench_export(tmp: Path, calls: int) -> None:
    from axonflow_notebook.evidence.export import export_bundle

    path = tmp / "export.sqlite3"
    build_journal(path, calls)
    times = []
    for n in range(3):
        t = time.perf_counter()
        result = export_bundle(tmp / f"bundle-{n}.zip", journal=path, agent_db=None, key=None)
        times.append(time.perf_counter() - t)
    print(f"export_bundle of {result.calls:,} calls ({result.chain_records:,} chain records; "
          f"{(tmp / 'bundle-0.zip').stat().st_size / 1e6:.1f} MB zip): best {min(times):.2f} s, median "
          f"{statistics.median(times):.2f} s; target: 10,000 records <= 5 s")


def _agent_store(path: str, entries: int) -> None:
    """An agent database holding `entries` audit entries, written through its store (as the bench
    of the agent's chain does: bench/bench_evidence_chain.py)."""
    from axonflow_notebook.agent.store import AUDIT_COLUMNS, Store

    store = Store(path)
    try:
        for start in range(0, entries, 1000):
            rows = []
            for i in range(start, min(entries, start + 1000)):
                record = {c: None for c in AUDIT_COLUMNS}
                record.update(id=str(uuid.UUID(int=i)), timestamp=f"2026-11-{1 + i % 28:02d}T10:00:00.{i % 999999:06d}Z",
                              expires_at="2999-01-01T00:00:00.000000Z", client_id="analyst", tenant_id="analyst",
                              user_email="analyst@example.com", request_type="llm_chat",
                              policy_decision="blocked" if i % 10 == 0 else "allowed",
                              policies='["sys_pii_email"]' if i % 10 == 0 else "[]", block_reason=None,
                              query_preview="Summarise the quarterly report", query_hash="ab" * 32)
                rows.append(tuple(record[c] for c in AUDIT_COLUMNS) + ("cd" * 32, None))
            with store._lock:
                store._decisions.write(rows)
    finally:
        store.close()


def bench_audit_frame(tmp: Path, entries: int) -> None:
    from axonflow_notebook.agent import EmbeddedAgent
    from axonflow_notebook.core.config import AxonFlowLoggerConfig
    from axonflow_notebook.core.review import GovernanceConsole
    from axonflow_notebook.evidence.frame import audit_frame

    db = str(tmp / "agent.sqlite3")
    _agent_store(db, entries)
    secret = "bench-secret-0123456789"
    agent = EmbeddedAgent(port=0, db_path=db, secret=secret).start()
    console = GovernanceConsole(AxonFlowLoggerConfig(endpoint=agent.url, client_id="bench", client_secret=secret,
                                                     call_timeout_seconds=30))
    try:
        audit_frame(since="2026-11-01", until="2026-11-01T00:00:01", console=console)  # warm: SDK, pandas
        times = []
        for _ in range(3):
            t = time.perf_counter()
            frame = audit_frame(since="2026-01-01", until="2026-12-31", console=console)
            times.append(time.perf_counter() - t)
        print(f"audit_frame(source='server') over {len(frame):,} entries ({entries:,} in the agent, pages of 1000): "
              f"best {min(times):.2f} s, median {statistics.median(times):.2f} s; target: 20,000 <= 3 s")
    finally:
        console.close()
        agent.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--export-calls", type=int, default=10_000)
    parser.add_argument("--appends", type=int, default=5_000)
    args = parser.parse_args()
    calibrate()
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as name:
        tmp = Path(name)
        bench_append(tmp, args.appends)
        bench_audit_frame(tmp, args.entries)
        bench_export(tmp, args.export_calls)
        bench_verify(tmp, args.records)
    calibrate()


if __name__ == "__main__":
    main()
