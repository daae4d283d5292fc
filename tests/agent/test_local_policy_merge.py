"""``PUT /api/v1/local/policies`` with ``"merge": true``: a policy cell's policies upserted by id
into the set in force, every other custom policy, validator and budget kept."""

from __future__ import annotations

import asyncio

import httpx
import pytest

FILE = """\
policies:
  - id: wire
    name: Wire transfers
    pattern: '(?i)\\bwire\\s+transfer\\b'
    action: require_approval
  - id: card-digits
    name: Card numbers
    pattern: '\\b(?:\\d[ -]?){13,16}\\b'
    action: redact
    validator: luhn
budgets:
  - id: daily
    name: Daily spend
    scope: organization
    limit_usd: 5
    period: daily
"""

CELL = """\
policies:
  - id: wire
    name: Wire transfers (stricter)
    pattern: '(?i)\\bwire\\s+transfer\\b'
    action: block
  - id: falcon
    name: Project falcon
    pattern: '(?i)project\\s+falcon'
    action: redact
"""


@pytest.fixture
def http(agent_factory, tmp_path):
    path = tmp_path / "policies.yaml"
    path.write_text(FILE)
    agent = agent_factory(policies=str(path))
    with httpx.Client(base_url=agent.url, auth=("admin", agent.secret), timeout=30) as client:
        client.agent = agent
        yield client


def _merge(http, text: str, **extra) -> httpx.Response:
    return http.put("/api/v1/local/policies", json={"yaml": text, "source": "cell 3", "merge": True, **extra})


def _tenant(http) -> dict:
    return {p.id: p for p in http.agent.state.engine.policies() if p.tier == "tenant"}


def test_merge_upserts_by_id_and_keeps_the_rest(http):
    data = _merge(http, CELL).json()["data"]
    assert (data["added"], data["changed"], data["removed"]) == (["falcon"], ["wire"], [])
    tenant = _tenant(http)
    assert list(tenant) == ["wire", "card-digits", "falcon"]  # an upsert keeps its place
    assert tenant["wire"].action == "block" and tenant["card-digits"].validator == "luhn"
    budgets = http.get("/api/v1/budgets").json()
    names = [b["id"] for b in (budgets.get("budgets") if isinstance(budgets, dict) else budgets)]
    assert "daily" in names  # the file's budget survives a cell that declares none
    assert http.get("/api/v1/local/policies").json()["data"]["version"] == data["version"]


def test_one_policy_cell_deletes_nothing_and_dry_run_changes_nothing(http):
    before = http.get("/api/v1/local/policies").json()["data"]
    one = "policies:\n  - id: falcon\n    name: Falcon\n    pattern: falcon\n    action: warn\n"
    preview = _merge(http, one, dry_run=True).json()["data"]
    assert (preview["added"], preview["changed"], preview["removed"]) == (["falcon"], [], [])
    assert http.get("/api/v1/local/policies").json()["data"] == before
    applied = _merge(http, one).json()["data"]
    assert applied["version"] == preview["version"] and set(_tenant(http)) == {"wire", "card-digits", "falcon"}


def test_an_invalid_cell_is_one_line_per_problem_led_by_its_label(http):
    before = http.get("/api/v1/local/policies").json()["data"]
    bad = ("policies:\n  - id: sys_pii_email\n    name: X\n    pattern: x\n    action: warn\n"
           "  - id: a\n    name: A\n    pattern: '('\n    action: nope\n")
    response = _merge(http, bad)
    assert response.status_code == 400
    lines = response.json()["error"].splitlines()
    assert len(lines) == 3 and all(line.startswith("cell 3: policy #") for line in lines)
    assert "already a system policy id" in lines[0]
    assert http.get("/api/v1/local/policies").json()["data"] == before
    assert _merge(http, 3 * " ").status_code == 200  # blank: nothing to merge, nothing changes
    assert http.put("/api/v1/local/policies", json={"yaml": "", "merge": "yes"}).status_code == 400


async def test_merges_racing_reloads_lose_nothing(http):
    async with httpx.AsyncClient(base_url=str(http.base_url), auth=("admin", http.agent.secret), timeout=30) as client:
        cells = [f"policies:\n  - id: cell-{i}\n    name: Cell {i}\n    pattern: token-{i}\n    action: warn\n"
                 for i in range(8)]
        answers = await asyncio.gather(*(client.put("/api/v1/local/policies", json={
            "yaml": text, "source": f"cell {i}", "merge": True}) for i, text in enumerate(cells)))
    assert all(a.status_code == 200 for a in answers)
    assert {f"cell-{i}" for i in range(8)} | {"wire", "card-digits"} == set(_tenant(http))
