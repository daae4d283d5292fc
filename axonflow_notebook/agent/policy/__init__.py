"""The embedded agent's static-policy engine: AxonFlow's community catalogue plus custom policies."""

from .engine import Evaluation, Policy, PolicyEngine, PolicyFileError, PolicyMatch

__all__ = ["PolicyEngine", "Evaluation", "PolicyMatch", "PolicyFileError", "Policy"]
