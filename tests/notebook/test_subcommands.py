"""`%axonflow`'s subcommands: the list, approve / reject by id, connect as a reviewer in one
step, and a configuration for the user's own AxonFlowLogger or GovernanceConsole."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from axonflow_notebook.testing.agents import start_agent
from axonflow_notebook.testing.shell import magics_of

POLICIES = Path(__file__).resolve().parents[2] / "notebooks" / "policies.yaml"


def test_axonflow_alone_or_with_help_lists_the_subcommands(ip, capsys):
    for line in ("", "--help", "-h", "help"):
        assert ip.run_line_magic("axonflow", line) is None
        listing = capsys.readouterr().out
        for name in ("status", "policies", "audit", "queue", "approve", "reject", "connect",
                     "endpoint", "config"):
            assert f"  {name} " in listing, (line, listing)
    ip.run_line_magic("axonflow", "approve --help")
    assert "--comment" in capsys.readouterr().out
    with pytest.raises(UsageError, match="unknown subcommand 'bogus'.*status"):
        ip.run_line_magic("axonflow", "bogus")


def _held(ip, prompt: str):
    handle = ip.run_cell(f"%%governed --background --no-raise\n{prompt}").result
    deadline = time.time() + 20
    while handle.request_id is None and time.time() < deadline:
        time.sleep(0.1)
    assert handle.request_id, handle.status
    return handle


def test_approve_and_reject_by_id_with_a_comment(ip, capsys):
    handle = _held(ip, "Prepare a wire transfer of 21 EUR.")
    ip.run_line_magic("axonflow", f'approve {handle.request_id} --comment "PO 77 checked"')
    assert f"request {handle.request_id} approved" in capsys.readouterr().out
    result = handle.result(timeout=20)
    assert result.ok and result.approval.status == "approved"
    assert result.approval.comment == "PO 77 checked"  # as typed, without the shell's quotes

    handle = _held(ip, "Prepare a wire transfer of 22 EUR.")
    ip.run_line_magic("axonflow", f"reject {handle.request_id} --comment 'No PO for invoice 77'")
    result = handle.result(timeout=20)
    assert type(result.error).__name__ == "ApprovalRejected"
    assert result.approval.comment == "No PO for invoice 77"

    with pytest.raises(UsageError) as info:  # decided already: one line, no traceback
        ip.run_line_magic("axonflow", f"approve {handle.request_id}")
    assert "\n" not in str(info.value) and handle.request_id in str(info.value)
    with pytest.raises(UsageError):
        ip.run_line_magic("axonflow", "approve")  # the id is required


def test_config_is_the_backend_in_use_for_the_users_own_objects(ip):
    from axonflow_notebook.core.review import GovernanceConsole
    from axonflow_notebook.notebook.calls.sync import resolve

    config = ip.run_line_magic("axonflow", "config --client-id batch-job")
    backend = magics_of(ip).runtime.backend()
    assert config.endpoint == backend.url and config.client_id == "batch-job"
    assert type(config).__name__ == "AxonFlowLoggerConfig"
    console = GovernanceConsole(config)
    try:
        assert resolve(console.health()) is True
        resolve(console.list_queue())  # the credential, if the agent wants one, came with it
    finally:
        console.close()
    secret = config.client_secret.get_secret_value()
    if secret:
        assert secret not in repr(config) and secret not in str(config)


def test_connect_makes_the_notebook_a_reviewer_in_one_step(ip, tmp_path, monkeypatch, capsys):
    magics = magics_of(ip)
    remote = start_agent(tmp_path / "team.db", policies=POLICIES)
    monkeypatch.setenv("AXONFLOW_REVIEWER_SECRET", remote.test_secret)
    try:
        ip.run_line_magic("axonflow", f"connect {remote.url} --reviewer maria --email maria@example.com")
        said = capsys.readouterr().out
        assert "reviews as maria" in said and remote.test_secret not in said
        assert (magics.endpoint, magics.client_id, magics.reviewer_id) == (remote.url, "maria", "maria")
        assert magics.reviewer_secret.get_secret_value() == remote.test_secret
        backend = magics.runtime.backend()
        assert backend.url == remote.url and not backend.local
        held = _held(ip, "Prepare a wire transfer of 23 EUR.")  # a request of another client…
        ip.run_line_magic("axonflow", f"approve {held.request_id}")  # …decided as maria
        assert held.result(timeout=20).approval.reviewer == "maria@example.com"
    finally:
        for name in ("endpoint", "client_id", "client_secret", "reviewer_id", "reviewer_email",
                     "reviewer_secret"):
            setattr(magics, name, "")
        remote.stop()


def test_connect_to_nothing_changes_nothing(ip, monkeypatch):
    magics = magics_of(ip)
    monkeypatch.setenv("AXONFLOW_REVIEWER_SECRET", "whatever")
    before = magics.runtime.backend().url
    with pytest.raises(UsageError, match="nothing changed"):
        ip.run_line_magic("axonflow", "connect http://127.0.0.1:9 --reviewer maria")
    assert magics.endpoint == "" and magics.reviewer_id == ""
    assert magics.runtime.backend().url == before
    with pytest.raises(UsageError, match="unrecognized arguments: --secret"):  # never on the line
        ip.run_line_magic("axonflow", "connect http://127.0.0.1:9 --reviewer maria --secret s3")


def test_policies_filters_narrow_the_table(ip):
    every = ip.run_line_magic("axonflow", "policies")
    wire = ip.run_line_magic("axonflow", "policies wire")
    approval = ip.run_line_magic("axonflow", "policies --action require_approval")
    assert "wire transfers need a human approval" in wire.plain.lower()
    assert len(wire.plain.splitlines()) < len(every.plain.splitlines())
    assert "wire transfers need a human approval" in approval.plain.lower()
    assert len(approval.plain.splitlines()) < len(every.plain.splitlines())


def test_help_names_each_magic_with_its_own_percent_signs():
    """IPython's help formatter adds one `%` of its own to the parser's prog."""
    from axonflow_notebook.notebook import subcommands
    from axonflow_notebook.notebook.lab_commands import policy_cell_arguments

    assert "\n  %axonflow status\n" in subcommands.SUBCOMMANDS["status"].parser().format_help()
    assert "\n  %%axonflow_policy [--dry-run] [--replace]" in policy_cell_arguments.parser.format_help()


def test_status_says_an_unset_token_is_not_set():
    from axonflow_notebook.notebook.ui.status import mask

    assert mask("user_token", "(not set)") == "(not set)" and mask("user_token", "tok-123") == "••••"


def test_approve_names_an_unexpanded_variable_instead_of_sending_it():
    from IPython.core.error import UsageError

    from axonflow_notebook.notebook import subcommands

    sub, args = subcommands.parse("approve {h.request_id} --comment ok")
    with pytest.raises(UsageError, match=r"\{h\.request_id\} is not expanded here"):
        sub.run(None, args)  # refused before any backend is asked
