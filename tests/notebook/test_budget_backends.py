"""`%axonflow budget` against other agents: budgets declared in the policy file, usage that
survives an agent restart, and who may change budgets on an agent with `--auth`."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from axonflow_notebook.testing.agents import start_agent
from axonflow_notebook.testing.ports import free_port
from axonflow_notebook.testing.shell import governed_shell, magics_of

POLICY_FILE = """\
policies:
  - id: no-nukes
    name: No nukes
    pattern: '(?i)\\bnuke\\b'
    action: block
budgets:
  - id: team-daily
    name: Team spend per day
    scope: organization
    limit_usd: 5
    period: daily
    on_exceed: block
"""
NOTEBOOK = "/home/ana/restart-check.ipynb"


def run_ok(ip, prompt: str):
    out = ip.run_cell(f"%%governed -o answer\n{prompt}")
    assert out.error_in_exec is None, out.error_in_exec
    return ip.user_ns["answer"]


def test_budgets_of_the_policy_file_are_shown_and_changed_only_there(tmp_path):
    policies = tmp_path / "team-policies.yaml"
    policies.write_text(POLICY_FILE, encoding="utf-8")
    with governed_shell(tmp_path / "data", env={"AXONFLOW_POLICIES": str(policies)}) as ip:
        shown = ip.run_line_magic("axonflow", "budget")
        assert "team-daily" in shown.plain and "$0.00 of $5.00 (0.0%)" in shown.plain
        assert "Team spend per day" in shown.html and "team-policies.yaml (change it there)" in shown.html
        result = run_ok(ip, "Count to three.")
        assert result.budget.budget_id == "team-daily" and result.budget.status == "within"
        with pytest.raises(UsageError) as refused:
            ip.run_line_magic("axonflow", "budget set team-daily --limit 50")
        text = str(refused.value)
        assert "team-policies.yaml" in text and "nothing changed" in text and "\n" not in text


def test_usage_recorded_before_an_agent_restart_shows_after_it(tmp_path):
    port, secret, db = free_port(), "restart-secret-9f", tmp_path / "agent.db"
    env = {"AXONFLOW_ENDPOINT": f"http://127.0.0.1:{port}", "AXONFLOW_CLIENT_ID": "analyst",
           "AXONFLOW_CLIENT_SECRET": secret}
    agent = start_agent(db, port=port, secret=secret)
    try:
        with governed_shell(tmp_path / "one", env=env, reviewer_id="lead", reviewer_secret=secret) as ip:
            ip.user_ns["__session__"] = NOTEBOOK
            ip.run_line_magic("axonflow", "budget set nb-month --limit 1 --period monthly --scope workflow "
                                          "--action block")
            costs = [next(e.cost_usd for e in run_ok(ip, f"Call {i}.").events
                          if type(e).__name__ == "CompletionFinished") for i in range(2)]
            before = ip.run_line_magic("axonflow", "budget").plain
    finally:
        agent.stop()
    agent = start_agent(db, port=port, secret=secret)  # the same store, a new process state
    try:
        with governed_shell(tmp_path / "two", env=env) as ip:
            ip.user_ns["__session__"] = NOTEBOOK
            after = ip.run_line_magic("axonflow", "budget").plain
    finally:
        agent.stop()
    used = f"${sum(costs):.6f} of $1.00"
    assert used in before and used in after, (before, after)
    assert "This notebook this month:" in after and "over 2 calls" in after
    row = next(line for line in after.splitlines() if line.startswith("nb-month"))
    assert row.rstrip().endswith("yes")


def test_only_a_reviewer_changes_budgets_on_an_agent_with_auth(tmp_path, auth_file, capsys):
    agent = start_agent(tmp_path / "agent.db", auth=str(auth_file))
    env = {"AXONFLOW_ENDPOINT": agent.url, "AXONFLOW_CLIENT_ID": "analyst", "AXONFLOW_CLIENT_SECRET": "analyst-secret"}
    create = "budget set cap --limit 5 --period weekly --scope organization --action block"
    try:
        with governed_shell(tmp_path / "data", env=env) as ip:
            with pytest.raises(UsageError) as no_reviewer:  # the notebook says so before AxonFlow does
                ip.run_line_magic("axonflow", create)
            assert "only a reviewer may create, change or delete budgets" in str(no_reviewer.value)
            assert "%axonflow connect" in str(no_reviewer.value)
            magics = magics_of(ip)
            magics.reviewer_id, magics.reviewer_secret = "analyst2", "analyst2-secret"  # not a reviewer there
            with pytest.raises(UsageError) as refused:
                ip.run_line_magic("axonflow", create)
            text = str(refused.value)
            assert "not marked reviewer in the auth file" in text and "nothing changed" in text and "\n" not in text
            assert ip.run_line_magic("axonflow", "budget").plain.startswith("AxonFlow budgets — none in force")
            magics.reviewer_id, magics.reviewer_secret = "reviewer", "reviewer-secret"
            ip.run_line_magic("axonflow", create)
            ip.run_line_magic("axonflow", "budget set cap --limit 9")
            said = capsys.readouterr().out
            assert "budget cap created: $5.00 a week (UTC) for the whole organization, blocks calls" in said
            assert "budget cap changed: $9.00 a week" in said
            assert "$0.00 of $9.00" in ip.run_line_magic("axonflow", "budget").plain  # read as analyst
            assert run_ok(ip, "Hello.").budget.budget_id == "cap"
            magics.reviewer_id, magics.reviewer_secret = "analyst2", "analyst2-secret"
            with pytest.raises(UsageError, match="not marked reviewer"):
                ip.run_line_magic("axonflow", "budget delete cap")
            magics.reviewer_id, magics.reviewer_secret = "reviewer", "reviewer-secret"
            ip.run_line_magic("axonflow", "budget delete cap")
            assert "none in force" in ip.run_line_magic("axonflow", "budget").plain
    finally:
        agent.stop()
