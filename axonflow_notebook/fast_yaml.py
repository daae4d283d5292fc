"""PyYAML's safe loading and dumping, through libyaml when PyYAML was built with it.

The same documents, and errors with the same line and column, as ``yaml.safe_load`` and
``yaml.safe_dump``, several times faster: a policy reload parses its file (twice: policies and
budgets) and the static-policy API writes one back, on the cores that answer pre-checks meanwhile.
A leaf module, shared by the agent, the lab and the evidence bundle.
"""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
YAMLError = yaml.YAMLError


def safe_load(stream: Any) -> Any:
    return yaml.load(stream, Loader=SafeLoader)  # noqa: S506 - a safe loader, as yaml.safe_load


def safe_dump(data: Any, **options: Any) -> str:
    return yaml.dump(data, Dumper=SafeDumper, **options)


__all__ = ["SafeDumper", "SafeLoader", "YAMLError", "safe_dump", "safe_load"]
