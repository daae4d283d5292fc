"""A hard kill mid-traffic: the SQLite file stays consistent and every acknowledged HITL row is there."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading

import httpx

HITL = {"client_id": "a", "original_query": "wire transfer", "request_type": "llm_chat",
        "triggered_policy_id": "p", "triggered_policy_name": "p", "trigger_reason": "require_approval"}


def test_sigkill_mid_traffic_leaves_a_consistent_store(tmp_path, cli_agent):
    db = tmp_path / "crash.db"
    agent = cli_agent("--db", str(db))
    proc, url = agent.proc, agent.url
    acknowledged: list[str] = []
    decisions: list[str] = []
    stop = threading.Event()
    try:

        def traffic() -> None:
            with httpx.Client(base_url=url, auth=("a", agent.secret), timeout=5) as client:
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
