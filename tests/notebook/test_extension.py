"""Loading, unloading and configuring the extension (no AxonFlow needed)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

import pytest
from IPython.core.error import UsageError

from axonflow_notebook.notebook.magics import GovernedMagics
from axonflow_notebook.notebook.transformers import AwaitGovernedCells
from axonflow_notebook.testing.shell import governed_shell, magics_of

HEAVY = ("litellm", "axonflow", "starlette", "uvicorn", "ipywidgets", "anywidget", "pydantic")


@pytest.fixture
def ip(tmp_path):
    with governed_shell(tmp_path, widgets=False) as shell:
        yield shell


def _ours(shell):
    magics = [c for c in shell.configurables if isinstance(c, GovernedMagics)]
    transformers = [t for t in shell.input_transformers_post if isinstance(t, AwaitGovernedCells)]
    transformers += [t for t in shell.input_transformer_manager.cleanup_transforms
                     if getattr(t, "__name__", "") == "keep_question_marks"]
    return magics, transformers


def test_load_ext_is_fast_and_imports_nothing_heavy():
    """The spec'd budget: %load_ext axonflow_notebook in <= 0.15 s, in a fresh interpreter."""
    script = textwrap.dedent(
        """
        import sys, time
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config
        c = Config(); c.HistoryAccessor.enabled = False
        ip = InteractiveShell.instance(config=c)
        t = time.perf_counter()
        ip.run_line_magic("load_ext", "axonflow_notebook")
        elapsed = time.perf_counter() - t
        heavy = [m for m in %r if m in sys.modules]
        print(elapsed, ",".join(heavy))
        """ % (HEAVY,)
    )
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", AXONFLOW_TELEMETRY="off")
    times = []
    for _ in range(3):  # best of three: a run may pay for a cold disk cache or a busy CPU
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, check=True).stdout.split()
        times.append(float(out[0]))
        assert len(out) == 1, f"heavy modules imported at load: {out[1]}"
    assert min(times) <= 0.15, f"%load_ext took {min(times):.3f} s"


def test_unload_and_reload_leave_no_duplicates(ip):
    assert "governed" in ip.magics_manager.magics["cell"]
    for _ in range(3):
        ip.run_line_magic("reload_ext", "axonflow_notebook")
    magics, transformers = _ours(ip)
    assert len(magics) == 1 and len(transformers) == 2
    assert ip.magics_manager.registry["GovernedMagics"] is magics[0]
    ip.run_line_magic("load_ext", "axonflow_notebook")  # "already loaded": still one of each
    assert [len(x) for x in _ours(ip)] == [1, 2]
    ip.run_line_magic("unload_ext", "axonflow_notebook")
    assert _ours(ip) == ([], [])
    assert "governed" not in ip.magics_manager.magics["cell"]
    assert "governed" not in ip.magics_manager.magics["line"]
    assert "axonflow" not in ip.magics_manager.magics["line"]
    assert "GovernedMagics" not in ip.magics_manager.registry
    ip.run_line_magic("load_ext", "axonflow_notebook")
    assert [len(x) for x in _ours(ip)] == [1, 2]


def test_config_and_status_config_never_show_the_secret(ip, capsys):
    ip.run_cell('%config GovernedMagics.client_secret = "s3cr3t-value"')
    ip.run_cell('%config GovernedMagics.user_token = "tok-abc123"')
    ip.run_cell("%config GovernedMagics")
    ip.run_cell("print(repr(get_ipython().magics_manager.registry['GovernedMagics'].client_secret))")
    magics = magics_of(ip)
    public = magics.public_config()
    out = capsys.readouterr().out
    assert "GovernedMagics.client_secret" in out and "**********" in out
    assert "s3cr3t" not in out and "tok-abc123" not in out
    assert "s3cr3t" not in repr(public) and "tok-abc123" not in repr(public)
    assert magics.client_secret.get_secret_value() == "s3cr3t-value"
    assert f"{magics.client_secret}" == "**********"
    assert "s3cr3t" not in repr(ip.config) and "tok-abc123" not in repr(ip.config)
    ip.run_line_magic("reload_ext", "axonflow_notebook")  # config survives, still masked
    reloaded = magics_of(ip)
    assert reloaded.client_secret.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t" not in repr(ip.config)


def test_secrets_are_pydantic_secret_strings_that_refuse_pickling(ip):
    from pydantic import SecretStr

    magics = magics_of(ip)
    magics.reviewer_secret = "rev-secret-xyz"
    assert isinstance(magics.reviewer_secret, SecretStr)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(magics.reviewer_secret)
    assert "rev-secret-xyz" not in repr(magics.reviewer_secret) + str(magics.reviewer_secret)
    magics.reviewer_secret = ""
    assert magics.reviewer_secret is None  # empty means unset


def test_settings_override_the_environment_through_the_core_config(ip, monkeypatch):
    """The magics read no AXONFLOW_* variable of the core's themselves: the core's from_env does,
    with the settings a user made as overrides."""
    from axonflow_notebook.notebook.calls.backend import read_config

    magics = magics_of(ip)
    monkeypatch.setenv("AXONFLOW_NOTEBOOK_MODEL", "anthropic/claude-x")
    monkeypatch.setenv("AXONFLOW_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("AXONFLOW_CALL_TIMEOUT_SECONDS", "7.5")
    monkeypatch.setenv("AXONFLOW_FAIL_OPEN", "false")
    assert magics.effective_model() == "anthropic/claude-x"
    assert magics.core_overrides() == {}
    config = read_config({**magics.core_overrides(), "endpoint": "http://x", "client_id": "c"})
    assert config.call_timeout_seconds == 7.5 and config.fail_open is False
    assert config.client_secret.get_secret_value() == "env-secret"
    magics.call_timeout_seconds = 2.0
    magics.fail_open = True
    config = read_config({**magics.core_overrides(), "endpoint": "http://x", "client_id": "c"})
    assert config.call_timeout_seconds == 2.0 and config.fail_open is True
    assert "env-secret" not in repr(magics.public_config())
    ip.run_cell('%config GovernedMagics.model = "gpt-4o"')
    assert magics.effective_model() == "gpt-4o"


@pytest.mark.parametrize(
    "line",
    ["--bogus", "-t notanumber", "--format html", "--max-tokens 0", "-o 1bad", "--code --stream",
     '-s "unclosed'],
)
def test_argument_errors_are_usage_errors(ip, line):
    with pytest.raises(UsageError):
        ip.run_cell_magic("governed", line, "hello")


def test_empty_prompt_is_a_usage_error(ip):
    with pytest.raises(UsageError):
        ip.run_line_magic("governed", "")


def test_transformer_makes_governed_cells_await_and_leaves_others(ip):
    src = ip.transform_cell("%%governed -m x\nwhat is {a} $b?\n")
    assert src.startswith("await get_ipython().magics_manager.registry['GovernedMagics']")
    assert "'what is {a} $b?\\n'" in src
    assert ip.should_run_async("%%governed\nhi\n", transformed_cell=src)
    assert ip.transform_cell("%governed hi there").startswith("await ")
    question = ip.transform_cell("%governed What is Project Nightingale?\n")
    assert question.startswith("await ") and "'What is Project Nightingale?'" in question
    assert "pinfo" in ip.transform_cell("%governed?\n") or "governed" in ip.transform_cell("%governed?\n")
    assert ip.transform_cell("\n%%governed\nhi\n").startswith("await ")  # after a blank line too
    mixed = ip.transform_cell("x = 1\n%governed hi\n")
    assert "await" not in mixed
    assert "await" not in ip.transform_cell("%%time\n1\n")
    ip.autoawait = False
    try:
        assert "await" not in ip.transform_cell("%%governed\nhi\n")
    finally:
        ip.autoawait = True


def test_simulate_flags_parse(ip):
    from axonflow_notebook.notebook.args import parse_call_options

    fn = magics_of(ip).governed
    assert parse_call_options(fn, "").simulate is None
    assert parse_call_options(fn, "--simulate").simulate is True
    assert parse_call_options(fn, "--no-simulate").simulate is False
    opts = parse_call_options(fn, "-m gpt-4o -o ans --stream --format text -t 0.2 --max-tokens 9")
    assert (opts.model, opts.out, opts.stream, opts.fmt, opts.temperature, opts.max_tokens) == (
        "gpt-4o", "ans", True, "text", 0.2, 9)
    assert parse_call_options(fn, "--raw {x}").raw is True
    # Quoted option values arrive without their quotes (IPython keeps them when it splits).
    opts = parse_call_options(fn, """-s "Be terse" -m 'gpt-4o' -u "tok en" What's up?""")
    assert (opts.system, opts.model, opts.user_token, opts.prompt) == (
        "Be terse", "gpt-4o", "tok en", "What's up?")


def test_who_may_click_approve():
    from axonflow_notebook.notebook.calls.approvals import (
        DEV_LABEL,
        NotebookApprovals,
        Reviewer,
        clicks_unavailable_reason,
        decider_for,
    )

    dev = decider_for(dev_mode=True, requester="notebook", reviewer=Reviewer())
    assert dev.can_decide and dev.label == DEV_LABEL and DEV_LABEL in dev.reviewer_id
    nobody = decider_for(dev_mode=False, requester="nb", reviewer=Reviewer())
    assert not nobody.can_decide and "reviewer" in nobody.reason
    itself = decider_for(dev_mode=False, requester="nb", reviewer=Reviewer("nb"))
    assert not itself.can_decide and "requester" in itself.reason
    queue = decider_for(dev_mode=False, requester=None, reviewer=Reviewer("nb"))
    assert queue.can_decide  # other clients' requests, in the queue
    alice = decider_for(dev_mode=False, requester="nb", reviewer=Reviewer("alice", "a@x"))
    assert alice.can_decide and alice.reviewer_email == "a@x"

    assert clicks_unavailable_reason(awaiting=True, background=False, ipykernel=(7, 4)) is None
    assert clicks_unavailable_reason(awaiting=False, background=True, ipykernel=(6, 31)) is None
    old = clicks_unavailable_reason(awaiting=True, background=False, ipykernel=(7, 3))
    assert "ipykernel < 7.4" in old and "%axonflow queue" in old
    blocked = clicks_unavailable_reason(awaiting=False, background=False, ipykernel=(7, 4))
    actions = NotebookApprovals(lambda: object(), lambda: dev, blocked)
    assert not actions.can_decide and actions.disabled_reason == blocked
    actions.approve("r1", "ok")  # disabled: a click does nothing
    starting = NotebookApprovals(lambda: object(), lambda: None)  # the backend is not up yet
    assert not starting.can_decide and starting.decider_label == ""
    assert not starting._decided and starting._decider is None  # asked again once it is


def test_an_endpoint_without_a_client_id_is_one_clear_usage_error(monkeypatch):
    """A real AxonFlow needs a client id; say which setting to fill, not a pydantic dump."""
    from axonflow_notebook.notebook.calls.backend import BackendSettings, start_backend

    monkeypatch.setenv("AXONFLOW_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("AXONFLOW_CLIENT_ID", raising=False)
    with pytest.raises(UsageError, match="AXONFLOW_CLIENT_ID") as info:
        start_backend(BackendSettings(), say=lambda line: None)
    assert "%axonflow connect" in str(info.value)
