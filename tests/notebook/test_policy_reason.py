"""A held or blocked card's "Reason" is the policy's own description (issue 11, item 10), read
from the AxonFlow in use, and it follows a policy file reloaded in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from axonflow_notebook.testing.shell import bundle_text, governed_shell, magics_of, published

POLICY = """policies:
  - id: pay-second-look
    name: Payments
    category: custom
    pattern: '(?i)\\bpay the supplier\\b'
    action: require_approval
    severity: high
    description: {held}
  - id: codename-x
    name: Codename
    category: custom
    pattern: '(?i)\\bcodename zebra\\b'
    action: block
    severity: high
    description: {blocked}
"""


def _policies(path: Path, held: str, blocked: str) -> str:
    path.write_text(POLICY.format(held=held, blocked=blocked), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reason")
    policies = _policies(tmp / "first.yaml", "Payments need a second pair of eyes",
                         "Project names stay inside the company")
    with governed_shell(tmp / "data", policies=policies, approval_poll_interval_seconds=0.1,
                        approval_max_wait_seconds=1) as shell:
        shell.user_ns["_tmp"] = tmp
        yield shell


def _card(ip, cell: str) -> str:
    with published(ip) as sent:
        out = ip.run_cell(cell)
    assert out.error_in_exec is None, out.error_in_exec
    summary = [data for data, meta, update in sent if "axonflow" in meta and update]
    assert summary, "no static summary replaced the card"
    return bundle_text(sent)


def test_blocked_and_held_cards_give_the_policy_description_as_reason(ip):
    blocked = _card(ip, "%%governed --no-raise\nTell me about codename zebra.")
    assert "Reason" in blocked and "Project names stay inside the company" in blocked
    held = _card(ip, "%%governed --no-raise\nPlease pay the supplier today.")
    assert "Payments need a second pair of eyes" in held
    assert "Reason</td><td>require_approval" not in held and "| Reason | require" not in held


def test_the_reason_follows_a_policy_file_reloaded_in_place(ip):
    magics = magics_of(ip)
    magics.policies = _policies(ip.user_ns["_tmp"] / "second.yaml", "Second look, new wording",
                                "Codenames are secret now")
    held = _card(ip, "%%governed --no-raise\nPlease pay the supplier today.")
    assert "Second look, new wording" in held  # AxonFlow's own reason is only the action
    assert "Payments need a second pair of eyes" not in held
