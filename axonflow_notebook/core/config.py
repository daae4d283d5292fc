"""AxonFlowLoggerConfig: the LiteLLM integration's configuration, validated by pydantic.

Configuration is read in one place: `from_env` maps every `AXONFLOW_<FIELD>` variable
onto its field once, and keyword overrides (a script's arguments, the notebook's
`%config GovernedMagics` settings) win over the environment. Validation errors are
`ValueError`s naming the field (and, for `from_env`, where the value came from);
input values are hidden from error messages so a secret can never leak through one.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Literal, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "AXONFLOW_"


class AxonFlowLoggerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, validate_assignment=True)

    endpoint: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = SecretStr("")

    fail_open: bool = True
    call_timeout_seconds: float = Field(default=5.0, gt=0, allow_inf_nan=False)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_recovery_seconds: float = Field(default=30.0, gt=0, allow_inf_nan=False)

    enable_hitl_polling: bool = True
    approval_poll_interval_seconds: float = Field(default=2.0, gt=0, allow_inf_nan=False)
    approval_max_wait_seconds: float = Field(default=300.0, gt=0, allow_inf_nan=False)

    # A user's token can be a bearer credential (a JWT): kept out of the repr.
    default_user_token: str = Field(default="anonymous", repr=False)
    tenant_id: Optional[str] = None
    extra_context: Dict[str, Any] = Field(default_factory=dict)
    # What the local journal keeps of each prompt (journal_recording.py): "preview", its first
    # characters, or "full", the whole prompt (for `what_if` replays; prompts can hold personal data).
    journal_prompts: Literal["preview", "full"] = "preview"

    @field_validator("journal_prompts", mode="before")
    @classmethod
    def _prompt_word(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("endpoint", "client_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip().rstrip("/") if value.startswith("http") else value.strip()

    def secret_value(self) -> str:
        """The real client secret, for handing to the SDK only."""
        return self.client_secret.get_secret_value()

    def pre_check_context(self) -> Dict[str, Any]:
        context = dict(self.extra_context)
        if self.tenant_id:
            context["tenant_id"] = self.tenant_id
        return context

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable of `field` (e.g. fail_open → AXONFLOW_FAIL_OPEN)."""
        return ENV_PREFIX + field.upper()

    @classmethod
    def environment_values(cls, environ: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
        """The fields set by `AXONFLOW_*` variables (unvalidated; empty values count as unset).

        For callers that must know what the environment says before they can build a
        config (e.g. whether an endpoint is set at all).
        """
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(cls.env_name(name))
            if raw is None or raw.strip() == "":
                continue
            if name == "extra_context":
                try:
                    values[name] = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{cls.env_name(name)}: not valid JSON ({exc.msg})") from None
            else:
                values[name] = raw
        return values

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> "AxonFlowLoggerConfig":
        """Build from `AXONFLOW_<FIELD>` variables (e.g. AXONFLOW_FAIL_OPEN=false) and overrides.

        Keyword overrides win over the environment; an override of None means "not set
        here" (the environment, else the default, applies). `AXONFLOW_EXTRA_CONTEXT` is
        a JSON object. Errors name the field and where its value came from.
        """
        from_env = cls.environment_values(environ)
        given = {name: value for name, value in overrides.items() if value is not None}
        values = {**from_env, **given}
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ValueError(_describe(exc, from_env, given)) from None


def _describe(exc: ValidationError, from_env: Mapping[str, Any], given: Mapping[str, Any]) -> str:
    """One line per problem, naming the field and where its value came from."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "config"
        name = str(error["loc"][0]) if error["loc"] else ""
        if name in given:
            source = f" (from {name}=)"
        elif name in from_env:
            source = f" (from {AxonFlowLoggerConfig.env_name(name)})"
        elif error["type"] == "missing":
            source = f" (set {AxonFlowLoggerConfig.env_name(name)} or pass {name}=)"
        else:
            source = ""
        problems.append(f"{field}: {error['msg']}{source}")
    return "AxonFlow configuration: " + "; ".join(problems)


__all__ = ["AxonFlowLoggerConfig", "ENV_PREFIX"]
