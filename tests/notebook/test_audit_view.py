"""`%axonflow audit`, `policies`, `status` and `audit --local` tables: content, layout, inertness."""

from __future__ import annotations

import datetime as dt

import pytest

from axonflow_notebook.core.events import (
    ApprovalDecided,
    CompletionFinished,
    DecisionMade,
    GovernanceSkipped,
)
from axonflow_notebook.core.records import AuditEntry, AuditPage, PolicyRecord
from axonflow_notebook.core.result import GovernedResult
from axonflow_notebook.notebook.ui import audit_trail, journal_table, policies_table, status_table
from axonflow_notebook.notebook.ui.audit_trail import kernel_stats
from axonflow_notebook.testing.inert import assert_inert, assert_inert_markdown, assert_no_math_html

XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))",
       "user\u202egnp.exe", "wire $2,500 plus a $30 fee", "\\(\\d{3}\\)-\\d{4}"]


def entry(i, decision="allowed", policies=("pii-email",), **kw) -> AuditEntry:
    fields = dict(
        id=f"aud-{i:04d}-6f1c2e0a-93b1-4c57-9d6e-2b8f1a7c3d90",
        timestamp=dt.datetime(2026, 11, 26, 20, i % 60, tzinfo=dt.timezone.utc),
        decision=decision, policies=tuple(policies), block_reason=None, model="gpt-4o-mini",
        provider="openai", prompt_tokens=5, completion_tokens=5 + i, total_tokens=10 + i,
        cost_usd=0.00012 * (i + 1), latency_ms=100 + i, query_preview=f"question {i}",
        client_id="nb", user="", audit_id=None, metadata={})
    fields.update(kw)
    return AuditEntry(**fields)


def page(entries, total=None) -> AuditPage:
    return AuditPage(entries=tuple(entries), total=len(entries) if total is None else total,
                     limit=100, offset=0)


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


# -- audit trail --------------------------------------------------------------------------------
def test_newest_first_paged_with_kernel_summary_and_chart():
    entries = [entry(i, "blocked" if i % 3 == 0 else "allowed", ["fin-wire-transfer"])
               for i in range(45)]
    kernel = [result(), result("blocked"), result("needs_approval", "approved"),
              result(skipped=True)]
    data, meta = audit_trail(page(entries, 120), kernel)._repr_mimebundle_()
    html = data["text/html"]
    assert html.index("aud-0044") < html.index("aud-0043") < html.index("aud-0000")
    assert html.count("<details") == 2 and "Page 3 (entries 41–45)" in html
    assert "45 of 120 audit entries" in html and "fin-wire-transfer" in html
    assert "4 calls, 1 blocked, 1 approval, 36 tokens, cost $0.003000, 1 fail-open" in html
    assert "<svg" in html and html.count("<rect") >= 4
    assert "<script" not in html and 'class="axonflow-card axonflow-audit-trail' in html
    assert "aud-0044" in data["text/markdown"]
    assert data["text/plain"].splitlines()[0].startswith("AxonFlow audit trail — 45 of 120")
    assert meta == {"axonflow": {"audit_entries": 45, "audit_total": 120}}


@pytest.mark.parametrize("decision, status, label", [
    ("needs_approval", "approved", "approved"),
    ("needs_approval", "rejected", "rejected"),
    ("needs_approval", "expired", "expired"),
    ("needs_approval", "pending", "pending approval"),
    ("require_approval", "approved", "approved"),
    ("needs_approval", None, "needs approval"),
    ("approved", "rejected", "rejected"),  # the decision already names the approval's end
    ("blocked", None, "blocked"),
])
def test_held_calls_are_labelled_by_how_their_approval_ended(decision, status, label):
    metadata = {"approval_status": status} if status else {}
    e = entry(1, decision, metadata=metadata)
    if decision == "approved":
        e = entry(1, "rejected")
    data, _ = audit_trail(page([e]), [])._repr_mimebundle_()
    assert f"| {label} |" in data["text/markdown"]
    assert "needs_approval" not in data["text/plain"]


def test_cost_column_and_an_id_column_that_fits():
    data, _ = audit_trail(page([entry(7)]), [])._repr_mimebundle_()
    html = data["text/html"]
    assert "<th" in html and ">Cost</th>" in html and "$0.000960" in html
    assert "table-layout:fixed" in html and "<colgroup>" in html
    full = entry(7).id
    assert f'title="{full}"' in html  # the whole id on hover …
    assert ">aud-0007…</span>" in html  # … a short one in the cell
    assert full in data["text/plain"] or full[:50] in data["text/plain"]


def test_each_entry_names_its_client_and_this_kernels_calls_say_so():
    """Issue 11, item 8: the trail holds every client of the AxonFlow (every kernel of the user,
    with the local agent); this kernel's own calls are marked, by context id or audit id."""
    mine = GovernedResult()
    mine.record(DecisionMade("c", "approved", (), None, "ctx-mine", 1.0))
    by_audit = GovernedResult(audit_id="audit-mine")
    entries = [entry(1, id="ctx-mine", client_id="notebook"),
               entry(2, client_id="notebook", audit_id="audit-mine"),
               entry(3, client_id="batch-job"), entry(4, client_id="notebook")]
    data, _ = audit_trail(page(entries), [mine, by_audit])._repr_mimebundle_()
    md, html, plain = data["text/markdown"], data["text/html"], data["text/plain"]
    assert ">Client</th>" in html and "| Client |" in md
    assert md.count("notebook (this kernel)") == 2 and "| batch-job |" in md
    assert md.count("| notebook |") == 1  # another kernel of the same client id: not ours
    assert "Every client of this AxonFlow; 2 of these entries are this kernel's calls" in plain
    assert html.count("(this kernel)</span>") == 2


def test_empty_trail_and_no_kernel_calls():
    data, _ = audit_trail(page([]), [])._repr_mimebundle_()
    assert "No audit entries." in data["text/html"] and "0 calls" in data["text/plain"]


def test_kernel_stats():
    stats = kernel_stats([result(), result("blocked"), result("needs_approval", "rejected",
                                                               error=RuntimeError("no"))])
    assert stats["calls"] == 3 and stats["blocked"] == 1 and stats["approvals"] == 1
    assert stats["outcomes"] == {"allowed": 1, "blocked": 1, "rejected": 1}


@pytest.mark.parametrize("payload", XSS)
def test_audit_trail_is_inert(payload):
    e = entry(1, payload, (payload,), model=payload, provider=payload, query_preview=payload,
              id=payload, metadata={"approval_status": payload})
    data, _ = audit_trail(page([e, entry(2, payload)]), [result()])._repr_mimebundle_()
    assert_inert(data["text/html"])
    assert_no_math_html(data["text/html"])
    assert_inert_markdown(data["text/markdown"])


# -- policies -----------------------------------------------------------------------------------
def pol(pid, category="pii", action="block", severity="high", pattern=r"\b\d{3}-\d{2}-\d{4}\b",
        **kw) -> PolicyRecord:
    fields = dict(id=pid, name=pid.replace("-", " ").title(), category=category, action=action,
                  severity=severity, priority=10, enabled=True, pattern=pattern,
                  description=f"What {pid} guards against.")
    fields.update(kw)
    return PolicyRecord(**fields)


POLICIES = [
    pol("sys_pii_ssn"), pol("sys_pii_email", action="redact", severity="medium"),
    pol("fin-wire-transfer", "finance", "require_approval", "critical",
        r"(?i)\b(wire|transfer)\b.{0,40}\b(EUR|USD|\$)\s?\d"),
    pol("sql-injection", "security", "block", "critical", "(?i)(union\\s+select|drop\\s+table)" * 4),
    pol("old-rule", "security", "warn", "low", enabled=False),
]


def test_policies_show_card_ids_words_and_groups():
    data, meta = policies_table(POLICIES)._repr_mimebundle_()
    html, md, plain = data["text/html"], data["text/markdown"], data["text/plain"]
    for pid in ("sys_pii_ssn", "fin-wire-transfer", "sql-injection"):
        assert pid in html and pid.replace("_", "\\_") in md and pid in plain
    assert "require approval" in html and "PolicyAction" not in html + md + plain
    assert html.index(">finance ") < html.index(">pii ") < html.index(">security ")
    assert "(2)" in html and "disabled" in html
    assert "max-width:940px" in html and "table-layout:fixed" in html
    assert "<details><summary" in html  # the long SQL pattern folds
    assert "5 policies" in plain and meta["axonflow"]["policies_total"] == 5
    assert "**finance** (1)" in md


@pytest.mark.parametrize("kw, shown", [
    (dict(category="security"), {"sql-injection", "old-rule"}),
    (dict(action="require_approval"), {"fin-wire-transfer"}),
    (dict(action="require approval"), {"fin-wire-transfer"}),
    (dict(search="wire"), {"fin-wire-transfer"}),
    (dict(search="DROP"), {"sql-injection"}),
    (dict(category="pii", action="redact"), {"sys_pii_email"}),
    (dict(search="nothing-matches"), set()),
])
def test_policies_filter(kw, shown):
    rich = policies_table(POLICIES, **kw)
    listed = {p.id for p in POLICIES if f">{p.id}<" in rich.html}
    assert listed == shown
    assert f"{len(shown)} of 5" in rich.plain
    if not shown:
        assert "No policies match." in rich.html


@pytest.mark.parametrize("category, shown", [
    ("pii", {"sys_pii_ssn", "sys_pii_email", "eu-iban"}),  # the family, as the catalogue names it
    ("pii-eu", {"eu-iban"}),
    ("pii-e", set()),  # a family is a whole word
    ("security", {"sql-injection", "old-rule"}),
])
def test_policies_filter_by_category_family(category, shown):
    family = POLICIES + [pol("eu-iban", "pii-eu", "warn", "medium")]
    rich = policies_table(family, category=category)
    assert {p.id for p in family if f">{p.id}<" in rich.html} == shown


def test_policy_patterns_are_never_maths():
    data, _ = policies_table([pol("phone", pattern=r"\(\d{3}\) \d{3}-\d{4}"),
                              pol("price", pattern=r"\$\d+ and \$\d+")])._repr_mimebundle_()
    assert_no_math_html(data["text/html"])
    assert_inert_markdown(data["text/markdown"])
    assert r"\(\d{3}\) \d{3}-\d{4}" in data["text/html"]


# -- status and journal -------------------------------------------------------------------------
def test_status_table_nested_config():
    data, _ = status_table({"backend": "embedded agent", "health": "ok",
                            "config": {"approval_max_wait_seconds": 300}})._repr_mimebundle_()
    assert "config.approval_max_wait_seconds" in data["text/plain"] and "#2e7d32" in data["text/html"]


def test_journal_says_delivered_once():
    rows = [{"created_at": 1_790_000_000, "decision": "allowed", "model": "m", "policies": "[]",
             "total_tokens": 3, "cost_usd": 0.0001, "latency_ms": 5, "delivery": "delivered"},
            {"created_at": 1_790_000_001, "decision": "allowed", "model": "m", "policies": "[]",
             "delivery": "undelivered", "reason": "agent unreachable"},
            {"created_at": 1_790_000_002, "decision": "skipped", "model": "m", "policies": "[]",
             "delivery": "not_applicable", "reason": "fail-open"}]
    data, _ = journal_table(rows, "/tmp/journal.sqlite3")._repr_mimebundle_()
    for mime in data.values():
        assert "delivered delivered" not in mime and "delivered: delivered" not in mime
    assert "undelivered: agent unreachable" in data["text/plain"]
    assert "not applicable: fail-open" in data["text/plain"]
    assert "2 not on AxonFlow" not in data["text/html"]
    assert "1 not on AxonFlow" in data["text/html"]


def test_the_kernels_stats_line_counts_in_words():
    from axonflow_notebook.notebook.ui.audit_trail import _stats_line

    line = _stats_line({"calls": 1, "blocked": 0, "approvals": 2, "tokens": 1, "cost": None})
    assert line.startswith("1 call, 0 blocked, 2 approvals, 1 token, cost ")
