"""Budgets in a notebook: `%axonflow budget` shows and sets them, every card shows the spend and
the budget bar, a call over a blocking budget stops its cell in two lines naming the budget.

Answers are simulated (LiteLLM's mock_response for gpt-4o-mini, priced by LiteLLM like a real
answer); the local agent charges each call's cost to the budgets covering it. Each test names
its own notebook (`__session__`, as ipykernel sets it), so its workflow budgets cover only its
own calls.
"""

from __future__ import annotations

import re
import uuid

import pytest
from IPython.core.error import UsageError

from axonflow_notebook.testing.inert import assert_inert, assert_inert_markdown, assert_no_math_html


@pytest.fixture
def notebook(ip):
    path = f"/home/ana/analysis-{uuid.uuid4().hex[:8]}.ipynb"
    ip.user_ns["__session__"] = path
    yield path
    ip.user_ns.pop("__session__", None)


def cost_of(result) -> float:
    return next(e.cost_usd for e in result.events if type(e).__name__ == "CompletionFinished")


def final_bundle(published) -> dict:
    return [data for data, _, update in published if update][-1]


def run_ok(ip, name: str, prompt: str):
    out = ip.run_cell(f"%%governed -o {name}\n{prompt}")
    assert out.error_in_exec is None, out.error_in_exec
    return ip.user_ns[name]


def test_a_budget_set_here_covers_this_notebook_and_stops_the_cell_in_two_lines(ip, notebook, published, capsys):
    cost = cost_of(run_ok(ip, "first", "Name one planet."))
    ip.run_line_magic("axonflow", f"budget set nb-cap --limit {2.5 * cost!r} --period daily --scope workflow "
                                  "--action block --name 'Analysis notebook'")
    said = capsys.readouterr().out
    assert "budget nb-cap created" in said and f"workflow {notebook}" in said and "blocks calls" in said
    published.clear()
    second = run_ok(ip, "second", "Name another planet.")
    assert second.budget.budget_id == "nb-cap" and second.budget.status == "within"
    assert second.budget.used_usd == pytest.approx(cost)
    bundle = final_bundle(published)
    assert "axonflow-spend" in bundle["text/html"] and "Analysis notebook" in bundle["text/html"]
    used = re.search(r'axonflow-budget-used" style="width:([\d.]+)%', bundle["text/html"]).group(1)
    added = re.search(r'axonflow-budget-added" style="width:([\d.]+)%', bundle["text/html"]).group(1)
    assert float(used) == pytest.approx(40.0, abs=0.01) and float(added) == pytest.approx(40.0, abs=0.01)
    assert "budget Analysis notebook: 80% of" in bundle["text/plain"]
    for data, _, _ in published:
        if "text/html" in data:
            assert_inert(data["text/html"])
            assert_no_math_html(data["text/html"])
        if "text/markdown" in data:
            assert_inert_markdown(data["text/markdown"])
    run_ok(ip, "third", "And a third.")  # 2 calls' use before it: under 2.5

    published.clear()
    out = ip.run_cell("%%governed -o over\nOne more planet, please.")
    err = out.error_in_exec
    assert type(err).__name__ == "GovernedCallStopped"
    lines = err._render_traceback_()
    assert len(lines) == 2, lines
    assert lines[0].startswith("BudgetExceededError: budget 'Analysis notebook' (nb-cap) is used up:")
    assert "today" in lines[0] and "the call was not sent" in lines[0]
    assert "%axonflow budget set nb-cap --limit USD" in lines[1]
    assert not any("Traceback" in line for line in capsys.readouterr().out.splitlines())
    over = ip.user_ns["over"]
    assert type(over.error).__name__ == "BudgetExceededError" and over.error.budget_id == "nb-cap"
    assert over.decision.status == "blocked" and over.budget.status == "blocked"
    summary = final_bundle(published)
    assert "budget used up, call refused" in summary["text/html"] and "(used up, call refused)" in summary["text/plain"]
    assert summary["text/plain"].count("\n") == 0

    shown = ip.run_line_magic("axonflow", "budget")
    assert "nb-cap" in shown.plain and "This notebook this month:" in shown.plain and "over 3 calls" in shown.plain
    assert "(120%)" in shown.plain and "extended linearly" in shown.plain
    row = next(line for line in shown.plain.splitlines() if line.startswith("nb-cap"))
    assert row.rstrip().endswith("yes")  # it covers this notebook
    assert_inert(shown.html)
    assert_no_math_html(shown.html)
    assert_inert_markdown(shown.markdown)

    ip.run_line_magic("axonflow", f"budget set nb-cap --limit {10 * cost!r}")
    assert "budget nb-cap changed" in capsys.readouterr().out
    run_ok(ip, "after", "Now it goes through.")
    with pytest.raises(UsageError, match="period is daily and cannot change") as refused:
        ip.run_line_magic("axonflow", "budget set nb-cap --period weekly")
    assert "\n" not in str(refused.value)
    ip.run_line_magic("axonflow", "budget delete nb-cap")
    assert "nb-cap" not in ip.run_line_magic("axonflow", "budget").plain


def test_a_warning_budget_lets_the_call_through_and_the_card_warns(ip, notebook, published, capsys):
    cost = cost_of(run_ok(ip, "first", "Name one ocean."))
    ip.run_line_magic("axonflow", f"budget set nb-soft --limit {cost / 2!r} --period weekly --scope workflow")
    said = capsys.readouterr().out
    assert "warns past its limit" in said and "--action block" in said  # AxonFlow's default: warn
    published.clear()
    result = run_ok(ip, "warned", "Name another ocean.")
    assert result.ok and result.text and result.budget.status == "warning" and result.budget.warning
    bundle = final_bundle(published)
    assert "over budget (warning)" in bundle["text/html"] and "Allowed with warnings" in bundle["text/html"]
    assert "(over, warning)" in bundle["text/plain"] and "Call failed" not in bundle["text/html"]
    meta = [meta for data, meta, update in published if update][-1]
    assert meta["axonflow"]["decision"] == "allowed_with_warnings"
    ip.run_line_magic("axonflow", "budget delete nb-soft")


def test_budget_subcommand_usage_errors_are_one_line(ip, notebook):
    assert "--limit" in "\n".join(_help(ip))
    for line, says in (("budget set", "needs the budget's ID"),
                       ("budget set fresh --limit 1", "a new budget needs --period, --scope"),
                       ("budget set fresh --limit -1 --period daily --scope user", "positive number"),
                       ("budget delete", "needs the budget's ID"),
                       ("budget show extra", "takes no ID"),
                       ("budget delete no-such-budget", "budget not found")):
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("axonflow", line)
        assert says in str(info.value) and "\n" not in str(info.value), (line, str(info.value))


def _help(ip):
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        ip.run_line_magic("axonflow", "budget --help")
    return buffer.getvalue().splitlines()
