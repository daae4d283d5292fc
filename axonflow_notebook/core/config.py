"""AxonFlowLoggerConfig: the seed's configuration, validated by pydantic.

Validation errors are `pydantic.ValidationError`, a `ValueError` whose message
names the field. Input values are hidden from error messages so that a secret
can never leak through one.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

_ENV_PREFIX = "AXONFLOW_"


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

    default_user_token: str = "anonymous"
    tenant_id: Optional[str] = None
    extra_context: Dict[str, Any] = Field(default_factory=dict)

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
    def from_env(
        cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any
    ) -> "AxonFlowLoggerConfig":
        """Build from `AXONFLOW_<FIELD>` variables (e.g. AXONFLOW_FAIL_OPEN=false).

        Keyword overrides win over the environment. `AXONFLOW_EXTRA_CONTEXT`
        is a JSON object.
        """
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(_ENV_PREFIX + name.upper())
            if raw is None or raw == "":
                continue
            if name == "extra_context":
                try:
                    values[name] = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"AXONFLOW_EXTRA_CONTEXT: not valid JSON ({exc.msg})") from None
            else:
                values[name] = raw
        values.update(overrides)
        return cls(**values)


__all__ = ["AxonFlowLoggerConfig"]
