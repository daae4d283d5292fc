"""A batch's items as chat messages: a prompt string, or a messages list as `completion()` takes."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List


def as_messages(item: Any, index: int) -> List[Dict[str, Any]]:
    """The messages of item `index`; TypeError naming the item otherwise (before any call)."""
    if isinstance(item, str):
        return [{"role": "user", "content": item}]
    if isinstance(item, (list, tuple)) and item and all(isinstance(m, dict) for m in item):
        return [dict(message) for message in item]
    raise TypeError(f"batch item {index}: expected a prompt string or a non-empty list of message "
                    f"dicts, got {type(item).__name__}")


def all_messages(items: Iterable[Any]) -> List[List[Dict[str, Any]]]:
    if isinstance(items, (str, bytes)) or isinstance(items, dict):
        raise TypeError("batch items: expected a sequence of prompts or message lists, not one "
                        f"{type(items).__name__}")
    return [as_messages(item, index) for index, item in enumerate(items)]


__all__ = ["as_messages", "all_messages"]
