"""Configuration traits for the notebook magics (`%config GovernedMagics.…`, ipython_config.py).

The traits live on a mixin so `GovernedMagics` stays about magics; config sections follow the
class hierarchy, so `c.GovernedMagics.model` and `%config GovernedMagics` see them all. A setting
left unset (empty, or None) is not passed on: the AxonFlow settings a user did set become the
overrides of the core's `AxonFlowLoggerConfig.from_env`, which reads the environment (the
`AXONFLOW_*` variables) in its one place. Secrets are held as pydantic `SecretStr`s
(secret_value.py), which mask themselves wherever they are printed.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional

from traitlets import Bool, CaselessStrEnum, Float, TraitError, TraitType, Unicode, validate
from traitlets.config.configurable import Configurable

MASK = "**********"  # what a SecretStr prints
SECRET_TRAITS = ("client_secret", "user_token", "reviewer_secret")
TIMINGS = ("call_timeout_seconds", "approval_max_wait_seconds", "approval_poll_interval_seconds")
CORE_FIELDS = ("endpoint", "client_id", "client_secret", "fail_open", "journal_prompts") + TIMINGS


class SecretTrait(TraitType):
    """A string setting held as a masked `SecretStr` (None when unset)."""

    default_value = None
    allow_none = True
    info_text = "a secret string (shown masked)"

    def validate(self, obj: Any, value: Any) -> Any:
        if value is None or value == "":
            return None
        from .secret_value import as_secret

        try:
            return as_secret(value)
        except TypeError:
            self.error(obj, value)

    def from_string(self, s: str) -> Any:
        return self.validate(None, s)


def reveal(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


class GovernedSettings(Configurable):
    """Every setting of the extension; unset means "the environment, else the default"."""

    model = Unicode(
        help="Default model for %%governed (env AXONFLOW_NOTEBOOK_MODEL, else gpt-4o-mini)."
    ).tag(config=True)
    endpoint = Unicode(
        help="AxonFlow endpoint (env AXONFLOW_ENDPOINT). Unset: your local embedded agent."
    ).tag(config=True)
    client_id = Unicode(
        help="AxonFlow client id (env AXONFLOW_CLIENT_ID; 'notebook' for the local agent)."
    ).tag(config=True)
    client_secret = SecretTrait(
        help="AxonFlow client secret (env AXONFLOW_CLIENT_SECRET). Never displayed."
    ).tag(config=True)
    user_token = SecretTrait(help="User token sent with every request. Never displayed.").tag(
        config=True
    )
    policies = Unicode(
        help="Policy file of the local embedded agent (env AXONFLOW_POLICIES); changing it "
             "reloads the agent's policies in place."
    ).tag(config=True)
    data_dir = Unicode(
        help="Directory of the local agent's data and the audit journal (default: the user data dir)."
    ).tag(config=True)
    fail_open = Bool(
        None, allow_none=True,
        help="Run the call ungoverned (and say so) when AxonFlow cannot be reached "
             "(env AXONFLOW_FAIL_OPEN, else True).",
    ).tag(config=True)
    call_timeout_seconds = Float(
        None, allow_none=True,
        help="Deadline of each AxonFlow request (env AXONFLOW_CALL_TIMEOUT_SECONDS, else 5).",
    ).tag(config=True)
    approval_max_wait_seconds = Float(
        None, allow_none=True,
        help="How long a cell waits for a human approval (env AXONFLOW_APPROVAL_MAX_WAIT_SECONDS, "
             "else 300).",
    ).tag(config=True)
    approval_poll_interval_seconds = Float(
        None, allow_none=True,
        help="How often the approval status is polled while a cell waits "
             "(env AXONFLOW_APPROVAL_POLL_INTERVAL_SECONDS, else 2).",
    ).tag(config=True)
    simulate = CaselessStrEnum(
        ["auto", "always", "never"],
        "auto",
        help="auto: simulate answers (LiteLLM mock_response) when the model's provider has no key.",
    ).tag(config=True)
    journal_prompts = CaselessStrEnum(
        ["preview", "full"], None, allow_none=True,
        help="What the local audit journal keeps of each prompt: 'preview' (its first characters) or "
             "'full' (whole prompts, for what_if replays; prompts can hold personal data) "
             "(env AXONFLOW_JOURNAL_PROMPTS, else preview).",
    ).tag(config=True)
    reviewer_id = Unicode(
        help="Reviewer identity allowed to approve from this notebook (%axonflow connect sets it)."
    ).tag(config=True)
    reviewer_email = Unicode(help="Reviewer e-mail recorded with decisions.").tag(config=True)
    reviewer_secret = SecretTrait(help="Reviewer credential. Never displayed.").tag(config=True)
    journal_retention_days = Float(
        None, allow_none=True,
        help="Days the local audit journal keeps calls; older ones are pruned with a checkpoint, so "
             "the rest still verifies (env AXONFLOW_JOURNAL_RETENTION_DAYS, else 183; 0 keeps all).",
    ).tag(config=True)

    @validate("journal_retention_days")
    def _retention(self, proposal: Any) -> Optional[float]:
        value = proposal["value"]
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise TraitError(f"GovernedMagics.journal_retention_days must be 0 or more days, got {value!r}")
        return value

    @validate(*TIMINGS)
    def _positive_finite(self, proposal: Any) -> Optional[float]:
        value = proposal["value"]
        if value is not None and not (math.isfinite(value) and value > 0):
            raise TraitError(f"GovernedMagics.{proposal['trait'].name} must be a positive number of "
                             f"seconds, got {value!r}")
        return value

    # -- what the calls layer is given ---------------------------------------------------------
    def effective_model(self) -> str:
        return self.model or os.environ.get("AXONFLOW_NOTEBOOK_MODEL") or "gpt-4o-mini"

    def effective_policies(self) -> Optional[str]:
        return self.policies or os.environ.get("AXONFLOW_POLICIES") or None

    def effective_data_dir(self) -> str:
        if self.data_dir:
            return self.data_dir
        from platformdirs import user_data_dir

        return user_data_dir("axonflow-notebook")

    def core_overrides(self) -> dict:
        """The AxonFlowLoggerConfig fields this notebook set (the rest: environment, defaults)."""
        values = {name: getattr(self, name) for name in CORE_FIELDS}
        return {name: value for name, value in values.items() if value not in (None, "")}

    def backend_settings(self) -> Any:
        from .calls.approvals import Reviewer
        from .calls.backend import BackendSettings

        return BackendSettings(self.core_overrides(), self.effective_policies(),
                               self.effective_data_dir(), Reviewer(self.reviewer_id, self.reviewer_email),
                               self.reviewer_secret, journal_retention_days=self.journal_retention_days)

    def public_config(self) -> dict:
        """The notebook's own settings, secrets masked (for `%axonflow status`)."""
        return {
            "model": self.effective_model(),
            "policies": self.effective_policies() or "(built-in)",
            "simulate": self.simulate,
            "user_token": MASK if self.user_token else "(not set)",
            "reviewer_id": self.reviewer_id or "(not set)",
        }
