"""Loads the shipped community system-policy catalogue (``catalogue.yaml``)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from ... import fast_yaml as yaml  # libyaml when built with it
from .schema import PolicyEntry


@lru_cache(maxsize=1)
def system_entries() -> tuple[PolicyEntry, ...]:
    """The catalogue entries in file order; parsed once per process."""
    text = resources.files(__package__).joinpath("catalogue.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    entries = tuple(PolicyEntry.model_validate(raw) for raw in data["policies"])
    ids = [e.id for e in entries]
    if len(ids) != len(set(ids)):
        raise RuntimeError("catalogue.yaml repeats a policy id")
    return entries
