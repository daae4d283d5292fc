"""Loads a user's custom policy file and explains precisely what is wrong with a bad one.

Every problem becomes a ``PolicyFileError`` whose message starts with the file name and,
for entry problems, names the entry (1-based index, and id when known) and the field:
``policies.yaml: policy #2 (id 'x'): action must be one of block, require_approval, …``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from ... import fast_yaml as yaml  # libyaml when built with it
from .models import PolicyFileError
from .schema import PolicyEntry

_TYPE_MESSAGES = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
}


def load_custom_entries(path: str | os.PathLike, reserved_ids: Iterable[str] = ()) -> list[PolicyEntry]:
    """Read and validate ``path``; ``reserved_ids`` (the system catalogue) may not be reused."""
    name = os.fspath(path)
    return parse_custom_entries(_read_text(Path(path), name), name, reserved_ids)


def parse_custom_entries(
    text: str, name: str, reserved_ids: Iterable[str] = (), *, allow_blank: bool = False
) -> list[PolicyEntry]:
    """Validate the text of a policy file; every problem is one line of the error, led by ``name``.

    With ``allow_blank``, blank text means no custom policies (the live-reload route clears
    them that way); an empty policy *file* stays an error, as it is more likely a mistake.
    """
    if allow_blank and not text.strip():
        return []
    data = _parse_yaml(text, name)
    # A file may also declare budgets (validated by agent/budgets/policy_file.py), or only them.
    if not isinstance(data, dict) or not ("policies" in data or "budgets" in data):
        raise PolicyFileError(f"{name}: the top level must be a mapping with a 'policies' list")
    unknown = sorted(str(k) for k in data if k not in ("policies", "budgets"))
    if unknown:
        raise PolicyFileError(
            f"{name}: unknown top-level key(s): {', '.join(unknown)} (only 'policies' and 'budgets' are allowed)"
        )
    raw_entries = data.get("policies")
    if raw_entries is None:
        raw_entries = []
    if not isinstance(raw_entries, list):
        raise PolicyFileError(f"{name}: 'policies' must be a list of policy mappings")

    reserved = set(reserved_ids)
    seen: dict[str, int] = {}
    entries: list[PolicyEntry] = []
    problems: list[str] = []
    for index, raw in enumerate(raw_entries, start=1):
        label = _entry_label(index, raw)
        if not isinstance(raw, dict):
            problems.append(f"{name}: {label}: must be a mapping of fields, not {type(raw).__name__}")
            continue
        try:
            entry = PolicyEntry.model_validate(raw)
        except ValidationError as exc:
            problems.extend(f"{name}: {label}: {msg}" for msg in _field_messages(exc))
            continue
        if entry.id in reserved:
            problems.append(f"{name}: {label}: id '{entry.id}' is already a system policy id")
        elif entry.id in seen:
            problems.append(f"{name}: {label}: id '{entry.id}' duplicates policy #{seen[entry.id]}")
        else:
            seen[entry.id] = index
            entries.append(entry)
    if problems:
        raise PolicyFileError("\n".join(problems))
    return entries


def _read_text(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyFileError(f"{name}: policy file not found") from None
    except UnicodeDecodeError as exc:
        raise PolicyFileError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise PolicyFileError(f"{name}: cannot read policy file ({exc.strerror or exc})") from None


def _parse_yaml(text: str, name: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyFileError(f"{name}: {where}invalid YAML: {problem}") from None


def _entry_label(index: int, raw: Any) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
        return f"policy #{index} (id {raw['id']!r})"
    return f"policy #{index}"


def _yaml_value(value: Any) -> str:
    """How a parsed YAML scalar reads back, so ``id: off`` explains itself as ``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return f"a {type(value).__name__}"


def _field_messages(exc: ValidationError) -> list[str]:
    messages = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "entry"
        kind = err["type"]
        if kind == "missing":
            text = "is required"
        elif kind == "extra_forbidden":
            text = "is not a known field (known: " + ", ".join(PolicyEntry.model_fields) + ")"
        elif kind in _TYPE_MESSAGES:
            text = f"{_TYPE_MESSAGES[kind]}, not {_yaml_value(err.get('input'))}"
            if kind == "string_type" and isinstance(err.get("input"), (bool, int, float)):
                text += " (quote it in the YAML file)"
        elif kind == "value_error":
            text = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        else:
            text = err["msg"]
        messages.append(f"{field} {text}")
    return messages
