"""audit_trail: paged table newest first, this kernel's totals, an inline SVG chart; all inert."""

from __future__ import annotations

import pytest

from axonflow_notebook.core.events import (
    ApprovalDecided,
    CompletionFinished,
    DecisionMade,
    GovernanceSkipped,
)
from axonflow_notebook.core.result import GovernedResult
from axonflow_notebook.notebook.audit_view import audit_trail, kernel_stats, policy_names
from axonflow_notebook.notebook.render import policies_table, status_table

from test_render import XSS, assert_inert, assert_inert_markdown  # same directory


def entry(i, decision="allowed", policies=("pii-email",)):
    return {"id": f"aud-{i}", "timestamp": f"2026-11-26T20:{i % 60:02d}:00Z",
            "policy_decision": decision, "model": "gpt-4o-mini", "provider": "openai",
            "tokens_used": 10 + i, "response_time_ms": 100 + i, "client_id": "nb",
            "policy_details": {"policies": list(policies)}, "query": f"question {i}"}


def result(status="approved", approval=None, tokens=12, cost=0.001, skipped=False, error=None):
    r = GovernedResult(error=error)
    r.record(DecisionMade("c", status, (), None, None, 1.0))
    if approval:
        r.record(ApprovalDecided("c", "req", approval, "rita"))
    if status != "blocked":
        r.record(CompletionFinished("c", "m", "p", 5, tokens - 5, tokens, cost, 9.0, True))
    if skipped:
        r.record(GovernanceSkipped("c", "timeout", "audit"))
    return r


def test_newest_first_paged_with_kernel_summary_and_chart():
    entries = [entry(i, "blocked" if i % 3 == 0 else "allowed", ["fin-wire-transfer"])
               for i in range(45)]
    kernel = [result(), result("blocked"), result("needs_approval", "approved"),
              result(skipped=True)]
    data, meta = audit_trail(entries, 120, kernel)._repr_mimebundle_()
    html = data["text/html"]
    assert html.index("aud-44") < html.index("aud-43") < html.index("aud-0")
    assert html.count("<details") == 2 and "Page 3 (entries 41–45)" in html
    assert "45 of 120 audit entries" in html and "fin-wire-transfer" in html
    assert "4 calls, 1 blocked, 1 approvals, 36 tokens, cost $0.003000, 1 fail-open" in html
    assert "<svg" in html and html.count("<rect") >= 4
    assert "<script" not in html and 'class="axonflow-card axonflow-audit-trail"' in html
    assert "| aud-44 |" in data["text/markdown"]
    assert data["text/plain"].splitlines()[0].startswith("AxonFlow audit trail — 45 of 120")
    assert meta == {"axonflow": {"audit_entries": 45, "audit_total": 120}}


def test_empty_trail_and_no_kernel_calls():
    data, _ = audit_trail([], 0, [])._repr_mimebundle_()
    assert "No audit entries." in data["text/html"] and "0 calls" in data["text/plain"]


def test_kernel_stats():
    stats = kernel_stats([result(), result("blocked"), result("needs_approval", "rejected",
                                                               error=RuntimeError("no"))])
    assert stats["calls"] == 3 and stats["blocked"] == 1 and stats["approvals"] == 1
    assert stats["outcomes"] == {"allowed": 1, "blocked": 1, "rejected": 1}


@pytest.mark.parametrize("details, names", [
    ({"policies": ["a", "b"]}, "a, b"),
    ([{"id": "x"}, {"name": "y"}], "x, y"),
    ('{"policy_id": "z"}', "z"),
    ("plain text", "plain text"),
    (None, ""),
])
def test_policy_names_from_any_shape(details, names):
    assert policy_names(details) == names


@pytest.mark.parametrize("payload", XSS)
def test_audit_trail_is_inert(payload):
    e = {k: payload for k in ("id", "timestamp", "policy_decision", "model", "provider", "query",
                              "client_id")}
    e["policy_details"] = {"policies": [payload]}
    data, _ = audit_trail([e, {"policy_details": payload, "policy_decision": payload}], 2,
                          [result()])._repr_mimebundle_()
    assert_inert(data["text/html"])
    assert_inert_markdown(data["text/markdown"])


def test_policies_table_columns():
    data, _ = policies_table([{"id": "sql-injection", "name": "SQL injection", "action": "block",
                               "severity": "critical", "enabled": True, "pattern": "(?i)drop"}]
                             )._repr_mimebundle_()
    assert "sql-injection" in data["text/html"] and "1 policy" in data["text/plain"]
    assert data["text/markdown"].splitlines()[2].startswith("| id | name | action")


def test_status_table_nested_config():
    data, _ = status_table({"backend": "embedded agent", "health": "ok",
                            "config": {"approval_max_wait_seconds": 300}})._repr_mimebundle_()
    assert "config.approval_max_wait_seconds" in data["text/plain"] and "#2e7d32" in data["text/html"]


def test_sdk_audit_entries_with_datetimes_and_violations():
    from datetime import datetime, timezone

    from axonflow.types import AuditLogEntry

    sdk_entry = AuditLogEntry(
        id="aud-9", request_id="r", timestamp=datetime(2026, 11, 26, 20, 0, tzinfo=timezone.utc),
        user_email="", client_id="nb", tenant_id="t", request_type="llm_chat",
        policy_decision="blocked", policy_details={}, response_time_ms=0, query_summary="wire it",
        success=False, blocked=True, risk_score=0.9, provider="openai", model="gpt-4o-mini",
        tokens_used=0, latency_ms=15, policy_violations=["fin-wire-transfer"], metadata={})
    data, _ = audit_trail([sdk_entry], 1, [])._repr_mimebundle_()
    for text in ("2026-11-26 20:00:00 UTC", "fin-wire-transfer", "wire it", "15 ms", "aud-9"):
        assert text in data["text/html"]
