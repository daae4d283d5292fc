"""The budget, usage and pricing routes answer what AxonFlow's published OpenAPI documents.

Component schemas transcribed (not fetched) from ``docs/api/orchestrator-api.yaml`` of
https://github.com/getaxonflow/axonflow, ``info.version`` 1.1.0, read at commit
0fbaef5a2dafa772d46083d70f92b3419aff968e (Cost Controls). One deliberate difference:
``BudgetAlert.id`` is documented as an integer, but the official SDK's ``BudgetAlert.id`` is
a ``str`` (pydantic refuses an int there), so the agent sends the number as a string.
"""

from __future__ import annotations

import httpx
import jsonschema
import pytest

STRING, INTEGER, NUMBER, BOOLEAN = ({"type": t} for t in ("string", "integer", "number", "boolean"))
SCOPE = {"type": "string", "enum": ["organization", "team", "agent", "workflow", "user"]}
PERIOD = {"type": "string", "enum": ["daily", "weekly", "monthly", "quarterly", "yearly"]}
ON_EXCEED = {"type": "string", "enum": ["warn", "block", "downgrade"]}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def array(item: dict) -> dict:
    return {"type": "array", "items": item}


SCHEMAS = {
    "Budget": {"type": "object", "required": ["id", "name", "scope", "limit_usd", "period"], "properties": {
        "id": STRING, "name": STRING, "enabled": BOOLEAN, "scope": SCOPE, "scope_id": STRING,
        "limit_usd": NUMBER, "period": PERIOD, "on_exceed": ON_EXCEED, "alert_thresholds": array(INTEGER),
        "org_id": STRING, "tenant_id": STRING, "created_at": STRING, "updated_at": STRING}},
    "BudgetList": {"type": "object", "properties": {"budgets": array(ref("Budget")), "count": INTEGER}},
    "BudgetStatus": {"type": "object", "properties": {
        "budget": ref("Budget"), "used_usd": NUMBER, "remaining_usd": NUMBER, "percentage": NUMBER,
        "period_start": STRING, "period_end": STRING, "is_exceeded": BOOLEAN, "is_blocked": BOOLEAN}},
    "BudgetAlert": {"type": "object", "properties": {
        "id": STRING,  # integer in the spec; see the module docstring
        "budget_id": STRING, "threshold": INTEGER, "percentage_reached": NUMBER, "amount_usd": NUMBER,
        "alert_type": {"type": "string", "enum": ["threshold_reached", "budget_exceeded", "budget_blocked"]},
        "message": STRING, "created_at": STRING, "acknowledged": BOOLEAN}},
    "BudgetAlertList": {"type": "object", "properties": {"alerts": array(ref("BudgetAlert")), "count": INTEGER}},
    "BudgetCheckResponse": {"type": "object", "properties": {
        "allowed": BOOLEAN, "action": ON_EXCEED, "budget_id": STRING, "budget_name": STRING,
        "used_usd": NUMBER, "limit_usd": NUMBER, "percentage": NUMBER, "message": STRING}},
    "UsageSummary": {"type": "object", "properties": {
        "total_cost_usd": NUMBER, "total_tokens_in": INTEGER, "total_tokens_out": INTEGER,
        "total_requests": INTEGER, "average_cost_per_request": NUMBER, "period_start": STRING,
        "period_end": STRING, "period": STRING}},
    "UsageBreakdownItem": {"type": "object", "properties": {
        "group_by": STRING, "group_value": STRING, "cost_usd": NUMBER, "tokens_in": INTEGER,
        "tokens_out": INTEGER, "request_count": INTEGER, "percentage": NUMBER}},
    "UsageBreakdown": {"type": "object", "properties": {
        "group_by": STRING, "total_cost_usd": NUMBER, "items": array(ref("UsageBreakdownItem")),
        "period": STRING, "period_start": STRING, "period_end": STRING}},
    "UsageRecord": {"type": "object", "properties": {
        "id": STRING, "request_id": STRING, "org_id": STRING, "tenant_id": STRING, "team_id": STRING,
        "agent_id": STRING, "user_id": STRING, "workflow_id": STRING, "provider": STRING, "model": STRING,
        "tokens_in": INTEGER, "tokens_out": INTEGER, "cost_usd": NUMBER, "latency_ms": INTEGER,
        "success": BOOLEAN, "error_message": STRING, "created_at": STRING, "timestamp": STRING}},
    "UsageRecordList": {"type": "object", "properties": {
        "records": array(ref("UsageRecord")), "count": INTEGER, "total": INTEGER}},
    "ModelPricing": {"type": "object", "properties": {"input_per_1k": NUMBER, "output_per_1k": NUMBER}},
    "PricingInfo": {"type": "object", "required": ["provider", "model", "pricing"], "properties": {
        "provider": STRING, "model": STRING, "pricing": ref("ModelPricing")}},
    "PricingList": {"type": "object", "required": ["providers"], "properties": {"providers": {
        "type": "object", "additionalProperties": {"type": "object", "additionalProperties": ref("ModelPricing")}}}},
    # agent-api.yaml's PreCheckResponse, with budget_info as the wire-protocol notes give it
    "PreCheckResponse": {"type": "object", "required": ["context_id", "approved", "expires_at"], "properties": {
        "context_id": STRING, "approved": BOOLEAN, "policies": array(STRING), "expires_at": STRING,
        "block_reason": STRING, "budget_info": ref("BudgetInfo")}},
    "BudgetInfo": {"type": "object", "required": ["used_usd", "limit_usd", "percentage", "exceeded"],
                   "properties": {"budget_id": STRING, "budget_name": STRING, "used_usd": NUMBER,
                                  "limit_usd": NUMBER, "percentage": NUMBER, "exceeded": BOOLEAN,
                                  "action": ON_EXCEED}},
}


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """(status, body, schema) of every budget route, from one real agent."""
    from axonflow_notebook.agent import EmbeddedAgent

    agent = EmbeddedAgent(db_path=str(tmp_path_factory.mktemp("spec") / "a.db")).start()
    out: dict[str, tuple[int, object, str]] = {}
    try:
        with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret), timeout=30) as http:
            def keep(name: str, response: httpx.Response, schema: str):
                out[name] = (response.status_code, response.json() if response.content else None, schema)
                return out[name][1]

            keep("create", http.post("/api/v1/budgets", json={
                "id": "cap", "name": "Cap", "scope": "team", "scope_id": "risk", "limit_usd": 0.5,
                "period": "monthly", "on_exceed": "block", "alert_thresholds": [50, 100]}), "Budget")
            decision = keep("pre-check", http.post("/api/policy/pre-check", json={
                "query": "hi", "client_id": "analyst", "context": {"team_id": "risk"}}), "PreCheckResponse")
            http.post("/api/audit/llm-call", json={
                "context_id": decision["context_id"], "client_id": "analyst", "provider": "openai",
                "model": "gpt-4o", "token_usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
                "metadata": {"cost_usd": 0.6}}).raise_for_status()
            keep("pre-check 402", http.post("/api/policy/pre-check", json={
                "query": "hi", "client_id": "analyst", "context": {"team_id": "risk"}}), "PreCheckResponse")
            keep("list", http.get("/api/v1/budgets"), "BudgetList")
            keep("get", http.get("/api/v1/budgets/cap"), "Budget")
            keep("update", http.put("/api/v1/budgets/cap", json={"name": "Risk team"}), "Budget")
            keep("status", http.get("/api/v1/budgets/cap/status"), "BudgetStatus")
            keep("alerts", http.get("/api/v1/budgets/cap/alerts"), "BudgetAlertList")
            keep("check", http.post("/api/v1/budgets/check", json={"org_id": "o", "team_id": "risk"}),
                 "BudgetCheckResponse")
            keep("usage", http.get("/api/v1/usage"), "UsageSummary")
            keep("breakdown", http.get("/api/v1/usage/breakdown?group_by=team"), "UsageBreakdown")
            keep("records", http.get("/api/v1/usage/records"), "UsageRecordList")
            keep("pricing one", http.get("/api/v1/pricing?provider=openai&model=gpt-4o"), "PricingInfo")
            keep("pricing provider", http.get("/api/v1/pricing?provider=openai"), "PricingList")
            keep("pricing all", http.get("/api/v1/pricing"), "PricingList")
            out["delete"] = (http.delete("/api/v1/budgets/cap").status_code, None, "")
    finally:
        agent.stop()
    return out


def test_statuses(answers):
    assert {name: status for name, (status, _, _) in answers.items()} == {
        "create": 201, "pre-check": 200, "pre-check 402": 402, "list": 200, "get": 200, "update": 200,
        "status": 200, "alerts": 200, "check": 200, "usage": 200, "breakdown": 200, "records": 200,
        "pricing one": 200, "pricing provider": 200, "pricing all": 200, "delete": 204}


@pytest.mark.parametrize("name", ["create", "pre-check", "pre-check 402", "list", "get", "update", "status",
                                  "alerts", "check", "usage", "breakdown", "records", "pricing one",
                                  "pricing provider", "pricing all"])
def test_body_matches_the_published_schema(answers, name):
    _, body, schema = answers[name]
    document = {"$ref": f"#/components/schemas/{schema}", "components": {"schemas": SCHEMAS}}
    jsonschema.validate(body, document)
    if schema == "BudgetAlertList":
        assert body["count"] == 2 and body["alerts"]
