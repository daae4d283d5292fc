"""Simulated answers: LiteLLM's `mock_response` stands in when the model's provider has no key.

Governance stays real (policy check, approval, audit); only the model's answer is simulated, and
every output says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from IPython.core.error import UsageError


@dataclass(frozen=True)
class Simulation:
    """What the user asked for: `--simulate` / `--no-simulate` (None: the setting decides)."""

    requested: Optional[bool]
    setting: str  # auto | always | never

    @property
    def forced(self) -> bool:
        return self.requested is True or (self.requested is None and self.setting == "always")


def missing_provider_keys(model: str) -> list[str]:
    """Env vars LiteLLM needs for `model` that are not set (empty: the provider is usable).

    Needs LiteLLM imported (axonflow_notebook/core/llm.py)."""
    import litellm

    try:
        check = litellm.validate_environment(model=model)
    except Exception:
        return []
    if check.get("keys_in_environment"):
        return []
    return list(check.get("missing_keys") or [])


def decide_simulation(model: str, simulation: Simulation) -> bool:
    """True when the answer must come from LiteLLM's mock_response."""
    if simulation.forced:
        return True
    missing = missing_provider_keys(model)
    if not missing:
        return False
    if simulation.requested is False or simulation.setting == "never":
        names = " or ".join(missing)
        raise UsageError(
            f"No {names} in the environment for model {model!r}, and simulation is off. "
            f"Set it (e.g. %env {missing[0]}=...) or drop --no-simulate to get a simulated answer."
        )
    return True


def simulated_answer(model: str) -> str:
    return (
        f"(Simulated answer: no API key for {model}'s provider is set, so LiteLLM's mock_response "
        "stood in for the model. The AxonFlow policy check, approval and audit around it were real.)"
    )
