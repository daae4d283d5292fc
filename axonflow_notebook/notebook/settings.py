"""Configuration traits for the notebook magics (`%config GovernedMagics.…`, ipython_config.py).

The traits live on a mixin so `GovernedMagics` stays about magics; config sections follow the
class hierarchy, so `c.GovernedMagics.model` and `%config GovernedMagics` see them all.
Secrets are held in `Secret` objects whose repr/str are masked: `%config GovernedMagics` prints
`Current: %r` of every trait, and `%axonflow status` prints the effective config.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional

from traitlets import Bool, CaselessStrEnum, Float, TraitError, TraitType, Unicode, validate
from traitlets.config.configurable import Configurable

MASK = "********"
SECRET_TRAITS = ("client_secret", "user_token", "reviewer_secret")


class Secret:
    """A credential that never shows itself: repr, str and format all print a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return repr(MASK) if self._value else "''"

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __copy__(self) -> "Secret":
        return self

    def __deepcopy__(self, memo: dict) -> "Secret":  # traitlets deep-copies config values
        return self

    def __reduce__(self):  # never pickled (e.g. by %store) in clear text
        raise TypeError("Secret values cannot be pickled")


class SecretTrait(TraitType):
    """A string trait whose value is stored as a `Secret`."""

    default_value = Secret("")
    info_text = "a secret string (shown masked)"

    def validate(self, obj: Any, value: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        if value is None:
            return Secret("")
        if isinstance(value, str):
            return Secret(value)
        self.error(obj, value)

    def from_string(self, s: str) -> Secret:
        return Secret(s)


def reveal(value: Any) -> str:
    return value.reveal() if isinstance(value, Secret) else (value or "")


class GovernedSettings(Configurable):
    """Every setting of the extension; empty means "use the environment variable"."""

    model = Unicode(
        help="Default model for %%governed (env AXONFLOW_NOTEBOOK_MODEL, else gpt-4o-mini)."
    ).tag(config=True)
    endpoint = Unicode(
        help="AxonFlow endpoint (env AXONFLOW_ENDPOINT). Empty: start the embedded agent."
    ).tag(config=True)
    client_id = Unicode(
        help="AxonFlow client id (env AXONFLOW_CLIENT_ID; 'notebook' for the embedded agent)."
    ).tag(config=True)
    client_secret = SecretTrait(
        help="AxonFlow client secret (env AXONFLOW_CLIENT_SECRET). Never displayed."
    ).tag(config=True)
    user_token = SecretTrait(help="User token sent with every request. Never displayed.").tag(
        config=True
    )
    policies = Unicode(
        help="Policy file for the embedded agent (env AXONFLOW_POLICIES)."
    ).tag(config=True)
    data_dir = Unicode(
        help="Directory of the embedded agent's SQLite file (default: the user data dir)."
    ).tag(config=True)
    fail_open = Bool(
        True, help="Run the call ungoverned (and say so) when AxonFlow cannot be reached."
    ).tag(config=True)
    call_timeout_seconds = Float(5.0, help="Deadline of each AxonFlow request.").tag(config=True)
    approval_max_wait_seconds = Float(
        300.0, help="How long a cell waits for a human approval before giving up."
    ).tag(config=True)
    approval_poll_interval_seconds = Float(
        2.0, help="How often the approval status is polled while a cell waits."
    ).tag(config=True)
    simulate = CaselessStrEnum(
        ["auto", "always", "never"],
        "auto",
        help="auto: simulate answers (LiteLLM mock_response) when the model's provider has no key.",
    ).tag(config=True)
    reviewer_id = Unicode(
        help="Reviewer identity allowed to approve from this notebook (real AxonFlow / --auth agent)."
    ).tag(config=True)
    reviewer_email = Unicode(help="Reviewer e-mail recorded with decisions.").tag(config=True)
    reviewer_secret = SecretTrait(help="Reviewer credential. Never displayed.").tag(config=True)

    # -- effective values (config first, then environment) ---------------------------------
    @validate("call_timeout_seconds", "approval_max_wait_seconds", "approval_poll_interval_seconds")
    def _positive_finite(self, proposal: Any) -> float:
        value = proposal["value"]
        if not (math.isfinite(value) and value > 0):
            raise TraitError(f"GovernedMagics.{proposal['trait'].name} must be a positive number of "
                             f"seconds, got {value!r}")
        return value

    def effective_model(self) -> str:
        return self.model or os.environ.get("AXONFLOW_NOTEBOOK_MODEL") or "gpt-4o-mini"

    def effective_endpoint(self) -> str:
        return self.endpoint or os.environ.get("AXONFLOW_ENDPOINT", "")

    def effective_client_id(self, default: str = "") -> str:
        return self.client_id or os.environ.get("AXONFLOW_CLIENT_ID") or default

    def effective_client_secret(self) -> Secret:
        return self.client_secret or Secret(os.environ.get("AXONFLOW_CLIENT_SECRET", ""))

    def effective_policies(self) -> Optional[str]:
        return self.policies or os.environ.get("AXONFLOW_POLICIES") or None

    def effective_data_dir(self) -> str:
        if self.data_dir:
            return self.data_dir
        from platformdirs import user_data_dir

        return user_data_dir("axonflow-notebook")

    def public_config(self) -> dict:
        """The effective configuration with secrets masked (for `%axonflow status`)."""
        return {
            "model": self.effective_model(),
            "endpoint": self.effective_endpoint() or "(embedded agent)",
            "client_id": self.effective_client_id("notebook"),
            "client_secret": MASK if self.effective_client_secret() else "(not set)",
            "user_token": MASK if self.user_token else "(not set)",
            "policies": self.effective_policies() or "(built-in)",
            "fail_open": self.fail_open,
            "call_timeout_seconds": self.call_timeout_seconds,
            "approval_max_wait_seconds": self.approval_max_wait_seconds,
            "approval_poll_interval_seconds": self.approval_poll_interval_seconds,
            "simulate": self.simulate,
            "reviewer_id": self.reviewer_id or "(not set)",
        }
