"""A hard kill mid-traffic: the SQLite file stays consistent and every acknowledged HITL row is there."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading

import httpx

ENV = {**os.environ, "AXONFLOW_TELEMETRY": "off", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
HITL = {"client_id": "a", "original_query": "wire transfer", "request_type": "llm_chat",
        "triggered_policy_id": "p", "triggered_policy_name": "p", "trigger_reason": "require_approval"}


def test_sigkill_mid_traffic_leaves_a_consistent_store(tmp_path):
    db = tmp_path / "crash.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "axonflow_notebook.cli", "agent", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV,
    )
    acknowledged: list[str] = []
    decisions: list[str] = []
    stop = threading.Event()
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+)", proc.stdout.readline()).group(1)

        def traffic() -> None:
            with httpx.Client(base_url=url, timeout=5) as client:
                n = 0
                while not stop.is_set():
                    try:
                        if n % 5 == 0:
                            r = client.post("/api/v1/hitl/queue", json=HITL)
                            acknowledged.append(r.json()["data"]["request_id"])
                        else:
                            r = client.post("/api/policy/pre-check", json={"query": f"q{n}", "client_id": "a"})
                            decisions.append(r.json()["context_id"])
                    except (httpx.HTTPError, KeyError, ValueError):
                        return
                    n += 1

        worker = threading.Thread(target=traffic)
        worker.start()
        while len(acknowledged) < 20:
            worker.join(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stop.set()
        worker.join(10)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {r[0] for r in conn.execute("SELECT request_id FROM hitl_requests")}
        assert set(acknowledged) <= stored
        rows = conn.execute("SELECT id, policy_decision, query_hash FROM audit_entries").fetchall()
        assert all(decision and len(digest) == 64 for _, decision, digest in rows)
        # Decisions are group-committed: all but the last flush interval's worth survive.
        assert len(rows) >= len(decisions) - 200
    finally:
        conn.close()
