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
    assert set(AxonFlowLoggerConfig.model_fields) == {
        "endpoint", "client_id", "client_secret", "fail_open", "call_timeout_seconds",
        "breaker_failure_threshold", "breaker_recovery_seconds", "enable_hitl_polling",
        "approval_poll_interval_seconds", "approval_max_wait_seconds", "default_user_token",
        "tenant_id", "extra_context",
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
