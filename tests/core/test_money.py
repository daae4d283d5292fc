"""One way to write dollars (core/money.py): a card, a batch's budget line, the report and the
core's own messages write the same amount the same way (a batch once said "$5.0000" and
"$4.999973" for one budget)."""

from __future__ import annotations

import pytest

from axonflow_notebook.core.errors import BudgetExceededError
from axonflow_notebook.core.money import usd


@pytest.mark.parametrize("value, text", [
    (None, "—"), (0, "$0.00"), (0.0000004, "<$0.000001"), (0.0000136, "$0.000014"), (0.000021, "$0.000021"),
    (0.25, "$0.2500"), (4.999973, "$5.00"), (5, "$5.00"), (1234.5, "$1,234.50"), (-0.5, "$-0.5000"),
])
def test_usd(value, text):
    assert usd(value) == text


def test_every_place_that_writes_dollars_agrees():
    from axonflow_notebook.evidence.report_plot import money
    from axonflow_notebook.notebook.ui.call_cards.spend import fmt_usd
    from axonflow_notebook.notebook.ui.format import fmt_cost

    for value in (0.0000135, 0.004, 0.25, 4.999973, 12.5):
        assert fmt_cost(value) == fmt_usd(value) == money(value) == usd(value)
    error = BudgetExceededError(budget_id="team", budget_name="Team", limit_usd=5, used_usd=4.999973)
    assert "$5.00 of $5.00 used" in str(error)
