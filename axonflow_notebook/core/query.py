"""What gets governed: the query text of a chat request, and how to redact it."""

from __future__ import annotations

from typing import Any, List, Optional

MAX_QUERY_CHARS = 4000
# The platform 400s an empty query, which would silently skip governance under
# fail-open, so image-only or empty messages are governed under a placeholder.
NON_TEXT_QUERY = "[non-text content]"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return "" if content is None else str(content)


def _last_user_index(messages: Any) -> Optional[int]:
    if not isinstance(messages, (list, tuple)):
        return None
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, dict) and message.get("role") == "user":
            return index
    return None


def extract_query(messages: Any) -> str:
    """Text of the last user message (≤ 4000 chars), or the non-text placeholder."""
    index = _last_user_index(messages)
    if index is not None:
        text = _text_of(messages[index].get("content"))
    elif isinstance(messages, (list, tuple)) and messages and isinstance(messages[-1], dict):
        text = _text_of(messages[-1].get("content"))
    else:
        text = ""
    text = text[:MAX_QUERY_CHARS]
    return text if text.strip() else NON_TEXT_QUERY


def redact_messages(messages: Any, redacted: str) -> List[Any]:
    """A copy of `messages` whose last user message text is `redacted`.

    Non-text parts (images) of a multi-part message are kept; its text parts
    are replaced by one text part.
    """
    copied = list(messages)
    index = _last_user_index(copied)
    if index is None:
        return copied
    message = dict(copied[index])
    content = message.get("content")
    if isinstance(content, list):
        others = [p for p in content if not (isinstance(p, dict) and p.get("type") == "text")]
        message["content"] = [{"type": "text", "text": redacted}, *others]
    else:
        message["content"] = redacted
    copied[index] = message
    return copied


__all__ = ["extract_query", "redact_messages", "NON_TEXT_QUERY", "MAX_QUERY_CHARS"]
