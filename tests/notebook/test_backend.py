"""How a settings change reaches the backend: applied from the next call, nothing an earlier
output holds is closed, and only what changed is replaced."""

from __future__ import annotations

from axonflow_notebook.notebook.calls.sync import resolve
from axonflow_notebook.testing.shell import magics_of


def test_a_timing_change_keeps_the_agent_and_the_earlier_console(ip, capsys):
    magics = magics_of(ip)
    before = magics.runtime.backend()
    earlier_console = before.approval_console()  # what an earlier queue output holds
    capsys.readouterr()
    magics.call_timeout_seconds = 7.0
    magics.fail_open = False
    try:
        after = magics.runtime.backend()
        assert after is not before and after.url == before.url and after.agent is not None
        assert after.logger.config.call_timeout_seconds == 7.0
        assert after.logger.config.fail_open is False
        assert before.logger.config.call_timeout_seconds != 7.0  # the old one is left as it was
        assert resolve(earlier_console.health()) is True
        assert "embedded agent at" not in capsys.readouterr().out  # nothing restarted
        out = ip.run_cell("%%governed -o timed\nSay hello.")
        assert out.error_in_exec is None and ip.user_ns["timed"].ok
    finally:
        magics.call_timeout_seconds = None
        magics.fail_open = None


def test_a_reviewer_change_keeps_the_backend(ip):
    magics = magics_of(ip)
    before = magics.runtime.backend()
    magics.reviewer_id, magics.reviewer_email = "rita", "rita@example.com"
    try:
        after = magics.runtime.backend()
        assert after is before and after.reviewer.id == "rita"
    finally:
        magics.reviewer_id = magics.reviewer_email = ""


def test_unset_settings_are_not_overrides(ip):
    magics = magics_of(ip)
    assert "call_timeout_seconds" not in magics.core_overrides()
    magics.call_timeout_seconds = 3.0
    try:
        assert magics.core_overrides()["call_timeout_seconds"] == 3.0
        assert magics.backend_settings().overrides["call_timeout_seconds"] == 3.0
    finally:
        magics.call_timeout_seconds = None
    assert "call_timeout_seconds" not in magics.core_overrides()
