"""`Rich`: a static output every frontend can show without widget state or JavaScript."""

from __future__ import annotations

from typing import Any, Mapping, Optional


class Rich:
    """`text/html`, `text/markdown` and `text/plain`, plus output metadata (ids, never secrets)."""

    def __init__(self, html: str, markdown: str, plain: str,
                 metadata: Optional[Mapping[str, Any]] = None) -> None:
        self.html = html
        self.markdown = markdown
        self.plain = plain
        self.metadata = dict(metadata or {})

    def bundle(self) -> dict:
        return {"text/html": self.html, "text/markdown": self.markdown, "text/plain": self.plain}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None):
        data = self.bundle()
        if include:
            data = {k: v for k, v in data.items() if k in include}
        if exclude:
            data = {k: v for k, v in data.items() if k not in exclude}
        return data, self.metadata

    def __repr__(self) -> str:
        return self.plain


__all__ = ["Rich"]
