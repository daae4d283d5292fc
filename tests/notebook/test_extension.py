"""Loading, unloading and configuring the extension (no AxonFlow needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from axonflow_notebook.notebook.magics import AwaitGovernedCells, GovernedMagics

HEAVY = ("litellm", "axonflow", "starlette", "uvicorn", "ipywidgets")


@pytest.fixture
def ip():
    config = Config()
    config.HistoryAccessor.enabled = False
    shell = InteractiveShell.instance(config=config)
    shell.extension_manager.unload_extension("axonflow_notebook")
    shell.config.pop("GovernedMagics", None)  # %config survives reloads; tests start clean
    shell.run_line_magic("load_ext", "axonflow_notebook")
    yield shell
    shell.run_line_magic("unload_ext", "axonflow_notebook")
    shell.config.pop("GovernedMagics", None)


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
    magics = ip.magics_manager.registry["GovernedMagics"]
    public = magics.public_config()
    out = capsys.readouterr().out
    assert "GovernedMagics.client_secret" in out
    assert "s3cr3t" not in out and "tok-abc123" not in out
    assert "s3cr3t" not in repr(public) and "tok-abc123" not in repr(public)
    assert magics.client_secret.reveal() == "s3cr3t-value"
    assert f"{magics.client_secret}" == "********"
    assert "s3cr3t" not in repr(ip.config) and "tok-abc123" not in repr(ip.config)
    ip.run_line_magic("reload_ext", "axonflow_notebook")  # config survives, still masked
    reloaded = ip.magics_manager.registry["GovernedMagics"]
    assert reloaded.client_secret.reveal() == "s3cr3t-value"
    assert "s3cr3t" not in repr(ip.config)


def test_settings_fall_back_to_environment(ip, monkeypatch):
    magics = ip.magics_manager.registry["GovernedMagics"]
    monkeypatch.setenv("AXONFLOW_NOTEBOOK_MODEL", "anthropic/claude-x")
    monkeypatch.setenv("AXONFLOW_CLIENT_SECRET", "env-secret")
    assert magics.effective_model() == "anthropic/claude-x"
    assert magics.effective_client_secret().reveal() == "env-secret"
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

    fn = ip.magics_manager.registry["GovernedMagics"].governed
    assert parse_call_options(fn, "").simulate is None
    assert parse_call_options(fn, "--simulate").simulate is True
    assert parse_call_options(fn, "--no-simulate").simulate is False
    opts = parse_call_options(fn, "-m gpt-4o -o ans --stream --format text -t 0.2 --max-tokens 9")
    assert (opts.model, opts.out, opts.stream, opts.fmt, opts.temperature, opts.max_tokens) == (
        "gpt-4o", "ans", True, "text", 0.2, 9)


def test_who_may_click_approve():
    from axonflow_notebook.notebook.approvals import (
        DEV_LABEL, NotebookApprovals, clicks_unavailable_reason, decider_for,
    )

    dev = decider_for(dev_mode=True, requester="notebook", reviewer_id="", reviewer_email="")
    assert dev.can_decide and dev.label == DEV_LABEL and DEV_LABEL in dev.reviewer_id
    nobody = decider_for(dev_mode=False, requester="nb", reviewer_id="", reviewer_email="")
    assert not nobody.can_decide and "reviewer" in nobody.reason
    itself = decider_for(dev_mode=False, requester="nb", reviewer_id="nb", reviewer_email="")
    assert not itself.can_decide and "requester" in itself.reason
    alice = decider_for(dev_mode=False, requester="nb", reviewer_id="alice", reviewer_email="a@x")
    assert alice.can_decide and alice.reviewer_email == "a@x"

    assert clicks_unavailable_reason(awaiting=True, background=False, ipykernel=(7, 4)) is None
    assert clicks_unavailable_reason(awaiting=False, background=True, ipykernel=(6, 31)) is None
    old = clicks_unavailable_reason(awaiting=True, background=False, ipykernel=(7, 3))
    assert "ipykernel < 7.4" in old and "%axonflow queue" in old
    blocked = clicks_unavailable_reason(awaiting=False, background=False, ipykernel=(7, 4))
    actions = NotebookApprovals(object(), dev, blocked)
    assert not actions.can_decide and actions.disabled_reason == blocked
    actions.approve("r1", "ok")  # disabled: a click does nothing


def test_an_endpoint_without_a_client_id_is_one_clear_usage_error(monkeypatch):
    """A real AxonFlow needs a client id; say which setting to fill, not a pydantic dump."""
    from IPython.core.error import UsageError

    from axonflow_notebook.notebook.backend import start_backend
    from axonflow_notebook.notebook.settings import GovernedSettings

    monkeypatch.setenv("AXONFLOW_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("AXONFLOW_CLIENT_ID", raising=False)
    with pytest.raises(UsageError, match="AXONFLOW_CLIENT_ID"):
        start_backend(GovernedSettings(), say=lambda line: None)
