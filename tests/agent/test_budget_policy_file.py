"""Budgets declared in the policy file: validated with its policies (one line per problem,
naming the entry and the field), loaded at start and on the live reload."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from axonflow_notebook.agent import AgentConfigError, EmbeddedAgent
from axonflow_notebook.agent.budgets.policy_file import load_policy_text

VALID = """\
policies:
  - id: proj-codename
    name: Project codenames
    pattern: '(?i)\\bproject\\s+falcon\\b'
    action: redact
budgets:
  - id: notebook-daily
    name: Notebook spend per day
    scope: organization
    limit_usd: 0.5
    period: daily
    on_exceed: block
  - id: etl-monthly
    name: ETL job
    scope: agent
    scope_id: etl-job
    limit_usd: 20
    period: monthly
    alert_thresholds: [90]
"""
ENTRY = {"id": "b", "name": "B", "scope": "organization", "limit_usd": 5, "period": "daily"}


def _file(**change) -> str:
    fields = {**ENTRY, **change}
    lines = ["budgets:", "  - " + "\n    ".join(f"{k}: {v}" for k, v in fields.items() if v is not None)]
    return "\n".join(lines) + "\n"


BAD_ENTRIES = [
    ({"id": "'has space'"}, "draft.yaml: budget #1 (id 'has space'): id must be 1-128 characters"),
    ({"id": "7"}, "draft.yaml: budget #1: id must be 1-128 characters"),
    ({"name": "''"}, "draft.yaml: budget #1 (id 'b'): name must be 1-255 characters"),
    ({"scope": "galaxy"}, "draft.yaml: budget #1 (id 'b'): scope must be one of organization, team, agent, workflow, user"),
    ({"limit_usd": 0}, "draft.yaml: budget #1 (id 'b'): limit_usd must be greater than 0"),
    ({"limit_usd": "'5'"}, "draft.yaml: budget #1 (id 'b'): limit_usd must be a number of US dollars greater than 0"),
    ({"period": "hourly"}, "draft.yaml: budget #1 (id 'b'): period must be one of daily, weekly, monthly, quarterly, yearly"),
    ({"on_exceed": "explode"}, "draft.yaml: budget #1 (id 'b'): on_exceed must be one of warn, block, downgrade"),
    ({"alert_thresholds": "[50, 2000]"}, "draft.yaml: budget #1 (id 'b'): alert_thresholds must be a list of whole percentages from 1 to 1000"),
    ({"scope_id": "[a]"}, "draft.yaml: budget #1 (id 'b'): scope_id must be a string of at most 256 characters"),
    ({"enabled": "maybe"}, "draft.yaml: budget #1 (id 'b'): enabled must be true or false"),
    ({"description": "[1]"}, "draft.yaml: budget #1 (id 'b'): description must be a string of at most 1000 characters"),
    ({"colour": "red"}, "draft.yaml: budget #1 (id 'b'): unknown field(s): colour (known: id, name, scope"),
    ({"period": None}, "draft.yaml: budget #1 (id 'b'): period is required"),
]


@pytest.fixture
def http(agent):
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret), timeout=30) as client:
        yield client


def _put(http, text: str, **extra) -> httpx.Response:
    return http.put("/api/v1/local/policies", json={"yaml": text, "source": "draft.yaml", **extra})


@pytest.mark.parametrize(("change", "line"), BAD_ENTRIES)
def test_each_bad_field_is_one_line_naming_entry_and_field(http, change, line):
    response = _put(http, _file(**change))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith(line) and "\n" not in error
    assert http.get("/api/v1/budgets").json()["total"] == 0


def test_every_problem_of_policies_and_budgets_in_one_error():
    text = (
        "policies:\n  - {id: p, name: P, pattern: 'x', action: shout}\n"
        "budgets:\n  - {id: a, name: A, scope: team, limit_usd: -1, period: daily}\n"
        "  - {id: a, name: A2, scope: team, limit_usd: 1, period: daily}\n"
        "  - {id: c, name: C, scope: user, limit_usd: 1, period: daily, on_exceed: never}\n"
        "  - just text\n"
    )
    with pytest.raises(ValueError) as raised:
        load_policy_text(text, "p.yaml")
    assert str(raised.value).splitlines() == [
        "p.yaml: policy #1 (id 'p'): action must be one of block, require_approval, redact, warn, log",
        "p.yaml: budget #1 (id 'a'): limit_usd must be greater than 0",
        "p.yaml: budget #3 (id 'c'): on_exceed must be one of warn, block, downgrade",
        "p.yaml: budget #4: must be a mapping of budget fields, not str",
    ]
    with pytest.raises(ValueError, match=r"^p\.yaml: budget #2 \(id 'a'\): id 'a' duplicates budget #1$"):
        load_policy_text("budgets:\n" + "  - {id: a, name: A, scope: team, limit_usd: 1, period: daily}\n" * 2, "p.yaml")
    with pytest.raises(ValueError, match=r"^p\.yaml: 'budgets' must be a list of budget mappings$"):
        load_policy_text("budgets: {id: a}\n", "p.yaml")


def test_budgets_from_the_file_at_start_are_enforced(tmp_path, agent_factory):
    path = tmp_path / "policies.yaml"
    path.write_text(VALID, encoding="utf-8")
    agent = agent_factory(policies=str(path))
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret)) as http:
        budgets = http.get("/api/v1/budgets").json()["budgets"]
        assert [(b["id"], b["source"], b["on_exceed"]) for b in budgets] == [
            ("notebook-daily", str(path), "block"), ("etl-monthly", str(path), "warn")]
        assert budgets[1]["alert_thresholds"] == [90] and budgets[0]["alert_thresholds"] == [50, 80, 100]
        decision = http.post("/api/policy/pre-check", json={"query": "project falcon", "client_id": "analyst"}).json()
        assert decision["requires_redaction"] and decision["budget_info"]["budget_id"] == "notebook-daily"
        http.post("/api/audit/llm-call", json={
            "context_id": decision["context_id"], "client_id": "analyst", "provider": "openai", "model": "m",
            "token_usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            "metadata": {"cost_usd": 0.5}}).raise_for_status()
        assert http.post("/api/policy/pre-check", json={"query": "q", "client_id": "analyst"}).status_code == 402


def test_a_file_of_budgets_only(tmp_path, agent_factory):
    path = tmp_path / "budgets.yaml"
    path.write_text(_file(), encoding="utf-8")
    agent = agent_factory(policies=str(path))
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret)) as http:
        assert [b["id"] for b in http.get("/api/v1/budgets").json()["budgets"]] == ["b"]


@pytest.mark.parametrize(("change", "line"), BAD_ENTRIES[:4])
def test_a_bad_budget_in_the_file_stops_the_start_in_one_line(tmp_path, change, line):
    path = tmp_path / "draft.yaml"
    path.write_text(_file(**change), encoding="utf-8")
    with pytest.raises(AgentConfigError) as raised:
        EmbeddedAgent(db_path=str(tmp_path / "a.db"), policies=str(path)).start()
    assert str(raised.value).startswith(line.replace("draft.yaml", str(path)))


def test_the_cli_refuses_a_bad_budget_in_one_line(tmp_path):
    path = tmp_path / "draft.yaml"
    path.write_text(_file(limit_usd=0), encoding="utf-8")
    env = {**os.environ, "AXONFLOW_TELEMETRY": "off"}
    proc = subprocess.run([sys.executable, "-m", "axonflow_notebook.cli", "agent", "--port", "0", "--db",
                           str(tmp_path / "a.db"), "--policies", str(path)],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"axonflow-notebook agent: error: {path}: budget #1 (id 'b'): "
                                   "limit_usd must be greater than 0")


def test_live_reload_adds_changes_and_removes_file_budgets(http):
    assert _put(http, VALID).status_code == 200
    budgets = {b["id"]: b for b in http.get("/api/v1/budgets").json()["budgets"]}
    assert set(budgets) == {"notebook-daily", "etl-monthly"} and budgets["etl-monthly"]["source"] == "draft.yaml"
    spent = http.post("/api/policy/pre-check", json={"query": "q", "client_id": "analyst"}).json()
    http.post("/api/audit/llm-call", json={
        "context_id": spent["context_id"], "client_id": "analyst", "provider": "openai", "model": "m",
        "token_usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        "metadata": {"cost_usd": 0.5}}).raise_for_status()
    assert http.post("/api/policy/pre-check", json={"query": "q", "client_id": "analyst"}).status_code == 402

    raised = VALID.replace("limit_usd: 0.5", "limit_usd: 5")
    assert _put(http, raised, dry_run=True).status_code == 200  # validated, not applied
    assert http.post("/api/policy/pre-check", json={"query": "q", "client_id": "analyst"}).status_code == 402
    assert _put(http, raised).status_code == 200
    answer = http.post("/api/policy/pre-check", json={"query": "q", "client_id": "analyst"})
    assert answer.status_code == 200 and answer.json()["budget_info"]["percentage"] == 10.0
    changed = http.get("/api/v1/budgets/notebook-daily").json()
    assert changed["limit_usd"] == 5 and changed["created_at"] == budgets["notebook-daily"]["created_at"]
    assert http.get("/api/v1/budgets/etl-monthly").json() == budgets["etl-monthly"]  # unchanged: same dates

    bad = _put(http, raised.replace("period: monthly", "period: hourly"))
    assert bad.status_code == 400 and "budget #2 (id 'etl-monthly'): period must be one of" in bad.json()["error"]
    assert http.get("/api/v1/budgets").json()["total"] == 2  # nothing changed

    assert _put(http, "").status_code == 200
    assert http.get("/api/v1/budgets").json()["total"] == 0
    assert "budget_info" not in http.post("/api/policy/pre-check", json={"query": "q", "client_id": "analyst"}).json()


def test_file_budgets_change_only_through_the_file(http):
    _put(http, VALID).raise_for_status()
    for response in (http.put("/api/v1/budgets/notebook-daily", json={"limit_usd": 9}),
                     http.delete("/api/v1/budgets/notebook-daily"),
                     http.post("/api/v1/budgets", json={**ENTRY, "id": "notebook-daily"})):
        assert response.status_code == 409
        assert "declared in the policy file (draft.yaml)" in response.json()["error"]
    assert http.get("/api/v1/budgets/notebook-daily").json()["limit_usd"] == 0.5


def test_a_file_budget_may_not_take_an_api_budgets_id(http):
    http.post("/api/v1/budgets", json=ENTRY).raise_for_status()
    response = _put(http, _file())
    assert response.status_code == 400
    assert response.json()["error"] == (
        "draft.yaml: budget id 'b' is already a budget created through the API (delete that one or rename this one)")
    assert [b["source"] for b in http.get("/api/v1/budgets").json()["budgets"]] == ["api"]
