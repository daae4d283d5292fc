"""Usage and budgets survive a restart of the agent, in private files.

Usage records, API budgets and alerts are tables of the agent's own database; the in-memory
view the pre-check reads is rebuilt from them at start.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from axonflow.exceptions import BudgetExceededError
from axonflow.types import BudgetOnExceed, BudgetPeriod, BudgetScope, CreateBudgetRequest, TokenUsage

USAGE = TokenUsage(prompt_tokens=100, completion_tokens=50, total_tokens=150)
SECRET = "budget-durability-secret"


async def _spend(sdk, cost: float, context=None) -> str:
    decision = await sdk.pre_check("anonymous", "Summarise", context=context)
    await sdk.audit_llm_call(decision.context_id, "ok", "openai", "gpt-4o", USAGE, 40, {"cost_usd": cost})
    return decision.context_id


async def test_usage_budgets_and_alerts_after_a_restart(tmp_path, agent_factory, make_sdk):
    db = str(tmp_path / "agent.db")
    first = agent_factory(db_path=db, secret=SECRET)
    sdk = make_sdk(first)
    await sdk.create_budget(CreateBudgetRequest(
        id="daily", name="Daily cap", scope=BudgetScope.ORGANIZATION, limit_usd=1.0,
        period=BudgetPeriod.DAILY, on_exceed=BudgetOnExceed.BLOCK, alert_thresholds=[50, 100]))
    await _spend(sdk, 0.6)
    await _spend(sdk, 0.2, context={"team_id": "risk"})
    before = await sdk.get_usage_summary("daily")
    alerts_before = (await sdk.get_budget_alerts("daily")).alerts
    first.stop()

    second = agent_factory(db_path=db, secret=SECRET)
    sdk = make_sdk(second)
    assert (await sdk.get_budget("daily")).limit_usd == 1.0
    status = await sdk.get_budget_status("daily")
    assert status.used_usd == pytest.approx(0.8) and not status.is_exceeded
    after = await sdk.get_usage_summary("daily")
    assert (after.total_requests, after.total_cost_usd, after.total_tokens_in) == (
        before.total_requests, before.total_cost_usd, before.total_tokens_in) == (2, pytest.approx(0.8), 200)
    records = (await sdk.list_usage_records()).records
    assert [r.team_id for r in records] == ["risk", None]
    assert (await sdk.get_budget_alerts("daily")).alerts == alerts_before  # not raised again

    await _spend(sdk, 0.2)  # the in-memory view was rebuilt: 0.8 + 0.2 reaches the limit
    with pytest.raises(BudgetExceededError) as raised:
        await sdk.pre_check("anonymous", "more")
    assert raised.value.used_usd == pytest.approx(1.0)
    second.stop()

    third = agent_factory(db_path=db, secret=SECRET)
    with pytest.raises(BudgetExceededError):
        await make_sdk(third).pre_check("anonymous", "still blocked after a restart")
    assert [a.threshold for a in (await make_sdk(third).get_budget_alerts("daily")).alerts] == [100, 50]


async def test_an_audit_after_a_restart_is_charged_to_its_client(tmp_path, agent_factory, make_sdk):
    """The attribution a pre-check kept in memory (its context's team) is gone after a
    restart; the audit is still accepted and charged to the client and user it names."""
    db = str(tmp_path / "agent.db")
    first = agent_factory(db_path=db, secret=SECRET)
    decision = await make_sdk(first).pre_check("anonymous", "hi", context={"team_id": "risk"})
    first.stop()
    second = agent_factory(db_path=db, secret=SECRET)
    sdk = make_sdk(second)
    await sdk.audit_llm_call(decision.context_id, "ok", "openai", "gpt-4o", USAGE, 40, {"cost_usd": 0.3})
    record = (await sdk.list_usage_records()).records[0]
    assert (record.agent_id, record.team_id, record.cost_usd) == ("analyst", None, 0.3)


USE_AND_LIST_MODES = r"""
import json, os, sys, base64, urllib.request
os.umask(0)
root = sys.argv[1]
from axonflow_notebook.agent import EmbeddedAgent

agent = EmbeddedAgent(db_path=os.path.join(root, "store", "agent.db")).start()
token = base64.b64encode(("k:" + agent.secret).encode()).decode()

def post(path, body):
    request = urllib.request.Request(agent.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Basic " + token, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))

post("/api/v1/budgets", {"id": "b", "name": "B", "scope": "organization", "limit_usd": 0.1,
                         "period": "daily", "alert_thresholds": [50]})
ctx = post("/api/policy/pre-check", {"query": "hi", "client_id": "k"})["context_id"]
post("/api/audit/llm-call", {"context_id": ctx, "client_id": "k", "provider": "openai", "model": "m",
                             "token_usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                             "metadata": {"cost_usd": 0.2}})
modes = {}
for directory, dirs, files in os.walk(root):
    for name in dirs + files:
        path = os.path.join(directory, name)
        modes[os.path.relpath(path, root)] = os.stat(path).st_mode & 0o777
agent.stop()
print(json.dumps(modes))
"""


def test_budget_tables_live_in_the_private_store_whatever_the_umask(tmp_path):
    proc = subprocess.run([sys.executable, "-c", USE_AND_LIST_MODES, str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    modes = json.loads(proc.stdout)
    assert set(modes) == {"store", "store/agent.db", "store/agent.db-wal", "store/agent.db-shm"}
    for name, mode in modes.items():
        assert mode == (0o700 if name == "store" else 0o600), f"{name}: {oct(mode)}"
