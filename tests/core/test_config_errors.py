"""Config validation, env loading, the secret's secrecy, the error types."""

from __future__ import annotations

import logging

import pytest

from axonflow_notebook import (
    ApprovalRejected,
    ApprovalTimeout,
    AxonFlowLoggerConfig,
    PolicyDeniedError,
)

SECRET = "s3cr3t-VALUE"


def test_seed_fields_and_defaults():
    config = AxonFlowLoggerConfig(endpoint="http://localhost:8080", client_id="my-app", client_secret="...")
    assert config.fail_open is True
    assert config.call_timeout_seconds == 5.0
    assert config.breaker_failure_threshold == 5
    assert config.breaker_recovery_seconds == 30.0
    assert config.enable_hitl_polling is True
    assert config.approval_poll_interval_seconds == 2.0
    assert config.approval_max_wait_seconds == 300.0
    assert config.default_user_token == "anonymous"
    assert config.tenant_id is None and config.extra_context == {}
    assert config.journal_prompts == "preview"  # ours, beyond the seed: what the local journal keeps
    assert set(AxonFlowLoggerConfig.model_fields) == {
        "endpoint", "client_id", "client_secret", "fail_open", "call_timeout_seconds",
        "breaker_failure_threshold", "breaker_recovery_seconds", "enable_hitl_polling",
        "approval_poll_interval_seconds", "approval_max_wait_seconds", "default_user_token",
        "tenant_id", "extra_context", "journal_prompts",
    }


@pytest.mark.parametrize("field,value", [
    ("endpoint", ""), ("endpoint", "   "), ("client_id", ""), ("call_timeout_seconds", 0),
    ("breaker_failure_threshold", 0), ("breaker_recovery_seconds", -1),
    ("approval_poll_interval_seconds", 0), ("approval_max_wait_seconds", 0),
])
def test_invalid_values_name_the_field(field, value):
    values = dict(endpoint="http://x", client_id="c")
    values[field] = value
    with pytest.raises(ValueError) as info:
        AxonFlowLoggerConfig(**values)
    assert field in str(info.value)


def test_secret_never_rendered(caplog):
    config = AxonFlowLoggerConfig(endpoint="http://x", client_id="c", client_secret=SECRET)
    assert config.secret_value() == SECRET
    for text in (repr(config), str(config), f"{config}", config.model_dump_json()):
        assert SECRET not in text
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("t").info("config %s %r", config, config)
    assert SECRET not in caplog.text
    with pytest.raises(ValueError) as info:
        AxonFlowLoggerConfig(endpoint="", client_id="c", client_secret=SECRET)
    assert SECRET not in str(info.value)


def test_from_env(monkeypatch):
    monkeypatch.setenv("AXONFLOW_ENDPOINT", "http://agent:8080")
    monkeypatch.setenv("AXONFLOW_CLIENT_ID", "env-app")
    monkeypatch.setenv("AXONFLOW_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("AXONFLOW_TENANT_ID", "t-9")
    monkeypatch.setenv("AXONFLOW_FAIL_OPEN", "false")
    monkeypatch.setenv("AXONFLOW_CALL_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("AXONFLOW_EXTRA_CONTEXT", '{"team": "risk"}')
    config = AxonFlowLoggerConfig.from_env(approval_poll_interval_seconds=0.5)
    assert config.endpoint == "http://agent:8080" and config.client_id == "env-app"
    assert config.secret_value() == SECRET and config.tenant_id == "t-9"
    assert config.fail_open is False and config.call_timeout_seconds == 2.5
    assert config.extra_context == {"team": "risk"} and config.approval_poll_interval_seconds == 0.5


def test_from_env_missing_endpoint_names_it(monkeypatch):
    monkeypatch.delenv("AXONFLOW_ENDPOINT", raising=False)
    monkeypatch.setenv("AXONFLOW_CLIENT_ID", "x")
    with pytest.raises(ValueError, match="endpoint"):
        AxonFlowLoggerConfig.from_env()


def test_error_types():
    err = PolicyDeniedError("blocked", ["p1"])
    assert err.reason == "blocked" and err.policies == ["p1"] and str(err) == "blocked"
    assert PolicyDeniedError("x").policies == []
    assert PolicyDeniedError("x", policies=["a"]).policies == ["a"]
    for cls in (ApprovalRejected, ApprovalTimeout):
        assert issubclass(cls, PolicyDeniedError)
        assert cls("r", policies=["q"]).policies == ["q"]


def test_importing_package_stays_cheap():
    import subprocess
    import sys

    code = ("import sys, axonflow_notebook; from axonflow_notebook.core import events, result, errors, config; "
            "bad = [m for m in ('litellm', 'axonflow', 'IPython', 'ipywidgets') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_core_never_imports_ui_or_agent():
    import pathlib
    import re

    core = pathlib.Path(__file__).resolve().parents[2] / "axonflow_notebook" / "core"
    pattern = re.compile(r"^\s*(from|import)\s+(IPython|ipywidgets|nest_asyncio|axonflow_notebook\.agent|\.\.agent|\.\.notebook)", re.M)
    for path in core.glob("*.py"):
        assert not pattern.search(path.read_text()), path.name


NOTEBOOK_OVERRIDES = dict(endpoint="http://override:9", client_id="nb-client", client_secret="nb-SECRET-1",
                          fail_open=False, call_timeout_seconds=1.5, approval_max_wait_seconds=45.0,
                          approval_poll_interval_seconds=0.25)
ENVIRONMENT = {"AXONFLOW_ENDPOINT": "http://env:8080", "AXONFLOW_CLIENT_ID": "env-app",
               "AXONFLOW_CLIENT_SECRET": "env-SECRET", "AXONFLOW_FAIL_OPEN": "true",
               "AXONFLOW_CALL_TIMEOUT_SECONDS": "9", "AXONFLOW_APPROVAL_MAX_WAIT_SECONDS": "600",
               "AXONFLOW_APPROVAL_POLL_INTERVAL_SECONDS": "3", "AXONFLOW_TENANT_ID": "t-env"}


def test_from_env_overrides_win_for_every_setting_the_notebook_passes():
    config = AxonFlowLoggerConfig.from_env(ENVIRONMENT, **NOTEBOOK_OVERRIDES)
    for name, value in NOTEBOOK_OVERRIDES.items():
        got = config.secret_value() if name == "client_secret" else getattr(config, name)
        assert got == value, name
    assert config.tenant_id == "t-env"  # not overridden: the environment's


def test_from_env_none_overrides_mean_not_set_and_secretstr_is_accepted():
    from pydantic import SecretStr

    config = AxonFlowLoggerConfig.from_env(ENVIRONMENT, endpoint=None, client_id=None,
                                           client_secret=SecretStr("typed-SECRET"), fail_open=None)
    assert config.endpoint == "http://env:8080" and config.client_id == "env-app" and config.fail_open is True
    assert config.secret_value() == "typed-SECRET"
    assert isinstance(config.client_secret, SecretStr)


def test_environment_values_maps_every_variable_once():
    values = AxonFlowLoggerConfig.environment_values({**ENVIRONMENT, "AXONFLOW_EXTRA_CONTEXT": '{"a": 1}',
                                                      "AXONFLOW_UNRELATED": "x", "AXONFLOW_TENANT_ID": " "})
    assert values["endpoint"] == "http://env:8080" and values["extra_context"] == {"a": 1}
    assert "tenant_id" not in values  # blank counts as unset
    assert set(values) <= set(AxonFlowLoggerConfig.model_fields)
    assert AxonFlowLoggerConfig.env_name("approval_max_wait_seconds") == "AXONFLOW_APPROVAL_MAX_WAIT_SECONDS"


@pytest.mark.parametrize("variable, value, field", [
    ("AXONFLOW_CALL_TIMEOUT_SECONDS", "soon", "call_timeout_seconds"),
    ("AXONFLOW_FAIL_OPEN", "perhaps", "fail_open"),
    ("AXONFLOW_APPROVAL_MAX_WAIT_SECONDS", "-1", "approval_max_wait_seconds"),
])
def test_from_env_error_names_the_variable_in_one_line(variable, value, field):
    with pytest.raises(ValueError) as info:
        AxonFlowLoggerConfig.from_env({**ENVIRONMENT, variable: value})
    message = str(info.value)
    assert variable in message and field in message and "\n" not in message
    assert value not in message.replace(variable, "")


def test_from_env_error_names_the_override_and_the_missing_variable():
    with pytest.raises(ValueError, match=r"call_timeout_seconds: .*\(from call_timeout_seconds=\)"):
        AxonFlowLoggerConfig.from_env(ENVIRONMENT, call_timeout_seconds=0)
    with pytest.raises(ValueError, match=r"endpoint: .*set AXONFLOW_ENDPOINT or pass endpoint="):
        AxonFlowLoggerConfig.from_env({"AXONFLOW_CLIENT_ID": "x"})


def test_user_token_and_secret_stay_out_of_the_repr():
    config = AxonFlowLoggerConfig(endpoint="http://x", client_id="c", client_secret=SECRET,
                                  default_user_token="eyJ.user-TOKEN.sig")
    assert config.default_user_token == "eyJ.user-TOKEN.sig"
    for text in (repr(config), str(config)):
        assert "user-TOKEN" not in text and SECRET not in text


def test_approval_timeout_says_timed_out(make_logger, fake, call):
    """Users match on "timed out", as with the reference integration's ApprovalTimeout."""
    import asyncio

    from core_fakes import PreCheck

    fake.pre = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
    with pytest.raises(ApprovalTimeout) as info:
        asyncio.run(make_logger(approval_max_wait_seconds=0.05).acompletion(**call()))
    assert "timed out" in str(info.value) and "timed out" in info.value.reason
    assert str(info.value).startswith("Approval request timed out")  # axonflow-litellm's own words
