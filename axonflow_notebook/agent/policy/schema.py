"""The shape of one policy entry, shared by the shipped catalogue and custom policy files.

Pydantic checks types strictly (``enabled: "yes"`` is an error, not ``True``) and each
check words its own message, so a bad file reads back as "action must be one of …".
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

import re2
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationInfo, field_validator

from .models import ACTIONS, SEVERITIES
from .validators import VALIDATORS

CATEGORIES = (
    "custom",
    "security-sqli",
    "security-admin",
    "security-dangerous",
    "sensitive-data",
    "pii-global",
    "pii-us",
    "pii-eu",
    "pii-india",
    "pii-singapore",
    "pii-indonesia",
    "compliance-rbi",
    "compliance-sebi",
    "compliance-euaiact",
    "compliance-masfeat",
)

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")


def re2_options(max_mem: int = 8 << 20) -> "re2.Options":
    """RE2 options that report errors to us instead of logging them to stderr."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = max_mem
    return options


@lru_cache(maxsize=2048)
def compile_pattern(pattern: str) -> "re2._Regexp":
    """Compile with RE2 (linear time, Go-RE2 syntax); raise ValueError naming pattern and reason.

    Cached: compiled patterns are immutable and thread-safe, and a live reload would otherwise
    compile every catalogue pattern again while pre-checks wait for the GIL."""
    try:
        return re2.compile(pattern, options=re2_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "unknown error"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(f"{pattern!r} is not a valid RE2 regular expression: {reason}") from None


_CHOICES = {"category": CATEGORIES, "action": ACTIONS, "severity": SEVERITIES}


class PolicyEntry(BaseModel):
    """One entry under ``policies:``."""

    model_config = ConfigDict(extra="forbid")

    id: StrictStr
    name: StrictStr
    category: StrictStr = "custom"
    pattern: StrictStr
    action: StrictStr
    severity: StrictStr = "medium"
    priority: StrictInt = 100
    enabled: StrictBool = True
    description: StrictStr = ""
    validator: Optional[StrictStr] = None

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.fullmatch(v):
            raise ValueError(
                "must be 1-128 characters of letters, digits, '_', '-' or '.', "
                "starting with a letter or digit"
            )
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip() or len(v) > 255:
            raise ValueError("must be 1-255 characters")
        return v

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        if len(v) > 1000:
            raise ValueError("must be at most 1000 characters")
        return v

    @field_validator("category", "action", "severity")
    @classmethod
    def _one_of(cls, v: str, info: ValidationInfo) -> str:
        choices = _CHOICES[info.field_name]
        if v not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return v

    @field_validator("priority")
    @classmethod
    def _priority(cls, v: int) -> int:
        if not -1_000_000 <= v <= 1_000_000:
            raise ValueError("must be between -1000000 and 1000000")
        return v

    @field_validator("validator")
    @classmethod
    def _validator(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and v not in VALIDATORS:
            raise ValueError("must be one of " + ", ".join(sorted(VALIDATORS)))
        return v

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        if not v:
            raise ValueError("must not be empty")
        compiled = compile_pattern(v)
        if compiled.search("") is not None:
            raise ValueError(f"{v!r} matches the empty string, so it would match every query")
        return v
