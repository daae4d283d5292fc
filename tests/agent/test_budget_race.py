"""Concurrent calls racing a nearly used budget: the bound on how far they can pass it.

A pre-check is refused once the use the agent has recorded reaches the limit; use is
recorded when a call's audit arrives. So every call whose pre-check passed before that
moment still runs and is charged: a blocking budget ends at most the cost of the calls in
flight when it was reached above its limit, and never lower than its limit while calls are
waiting. With N concurrent callers each holding at most one call in flight, that is less
than N calls' cost (``budgets/ledger.py`` states the bound; AxonFlow charges the same way).
Costs here are exact binary fractions, so the arithmetic is exact.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

COST = 0.125
LIMIT = 1.0
PRE_CHECK = "/api/policy/pre-check"


def _audit(context_id: str, cost: float = COST) -> dict:
    return {"context_id": context_id, "client_id": "analyst", "provider": "openai", "model": "gpt-4o",
            "token_usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            "response_summary": "ok", "metadata": {"cost_usd": cost}}


@pytest.fixture
async def client(agent):
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=agent.url, auth=("analyst", agent.secret), timeout=60,
                                 limits=limits) as http:
        response = await http.post("/api/v1/budgets", json={
            "id": "cap", "name": "Cap", "scope": "organization", "limit_usd": LIMIT, "period": "daily",
            "on_exceed": "block"})
        assert response.status_code == 201
        yield http


async def test_calls_in_flight_when_the_budget_is_reached_are_the_only_overshoot(client):
    """Deterministic: k calls pass their pre-checks at 0.75 of the limit, then all complete."""
    for _ in range(6):  # 0.75
        context = (await client.post(PRE_CHECK, json={"query": "q", "client_id": "analyst"})).json()["context_id"]
        (await client.post("/api/audit/llm-call", json=_audit(context))).raise_for_status()
    in_flight = []
    for _ in range(5):
        answer = await client.post(PRE_CHECK, json={"query": "q", "client_id": "analyst"})
        assert answer.status_code == 200  # recorded use is still 0.75
        in_flight.append(answer.json()["context_id"])
    for context in in_flight:
        (await client.post("/api/audit/llm-call", json=_audit(context))).raise_for_status()
    status = (await client.get("/api/v1/budgets/cap/status")).json()
    assert status["used_usd"] == 0.75 + 5 * COST  # over by the in-flight calls' cost, less one call's
    assert status["used_usd"] - LIMIT < len(in_flight) * COST
    assert (await client.post(PRE_CHECK, json={"query": "q", "client_id": "analyst"})).status_code == 402


@pytest.mark.parametrize("workers", [8, 24])
async def test_racing_callers_pass_the_limit_by_less_than_their_number_of_calls(client, workers):
    rng = random.Random(workers)
    admitted = 0
    in_flight = 0
    most_in_flight = 0

    async def caller() -> None:
        nonlocal admitted, in_flight, most_in_flight
        while True:
            answer = await client.post(PRE_CHECK, json={"query": "q", "client_id": "analyst"})
            if answer.status_code == 402:
                assert answer.json()["policies"] == ["budget_exceeded"]
                return
            assert answer.status_code == 200, answer.text
            admitted += 1
            in_flight += 1
            most_in_flight = max(most_in_flight, in_flight)
            await asyncio.sleep(rng.uniform(0, 0.02))  # the LLM call
            (await client.post("/api/audit/llm-call", json=_audit(answer.json()["context_id"]))).raise_for_status()
            in_flight -= 1

    await asyncio.wait_for(asyncio.gather(*(caller() for _ in range(workers))), timeout=120)
    status = (await client.get("/api/v1/budgets/cap/status")).json()
    used = status["used_usd"]
    assert used == admitted * COST  # every call that went through was charged, once
    assert used >= LIMIT  # nobody stopped before the budget was reached
    assert used - LIMIT < workers * COST  # the bound: at most the in-flight calls' cost over
    assert most_in_flight <= workers
    assert status["is_blocked"] is True
    assert (await client.post(PRE_CHECK, json={"query": "q", "client_id": "analyst"})).status_code == 402

    # What makes the bound hold: every call charged after the one that reached the limit had
    # passed its pre-check before that charge (was in flight), none after it.
    records = (await client.get("/api/v1/usage/records", params={"limit": 1000})).json()["records"][::-1]
    trail = (await client.post("/api/v1/audit/search", json={"limit": 1000})).json()["entries"]
    checked_at = {entry["id"]: entry["timestamp"] for entry in trail}
    total, crossing = 0.0, None
    for index, record in enumerate(records):
        total += record["cost_usd"]
        if total >= LIMIT:
            crossing = index
            break
    assert crossing is not None
    later = records[crossing + 1:]
    assert all(checked_at[r["request_id"]] < records[crossing]["created_at"] for r in later)
    assert used - LIMIT < (len(later) + 1) * COST
