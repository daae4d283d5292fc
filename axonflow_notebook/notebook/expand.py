"""`%governed {p}` and `%governed $p`: plain names from the user's variables, nothing evaluated.

IPython's own expansion of magic lines evaluates whatever is inside the braces; a prompt must
never run code, so the line form expands plain names only (`{name}`, `$name`), `{{`, `}}` and
`$$` stand for literal characters, and anything else in braces (attribute access, indexing,
calls) is a UsageError, as is a name that is not defined: the call is never made with text the
user did not mean. `--raw` sends the line as written; the cell form is always literal.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Mapping, Optional, Sequence

from IPython.core.error import UsageError

_TOKEN = re.compile(r"\{\{|\}\}|\$\$|\{([^{}]*)\}|\$([^\W\d]\w*)")
_LITERAL = {"{{": "{", "}}": "}", "$$": "$"}
_HINT = "use --raw to send the text as it is"


def _is_name(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)


def expand_names(text: str, namespaces: Sequence[Optional[Mapping[str, Any]]]) -> str:
    """`text` with each `{name}` / `$name` replaced by `str()` of that variable."""
    scopes = [ns for ns in namespaces if ns is not None]

    def value_of(match: "re.Match[str]") -> str:
        token = match.group(0)
        if token in _LITERAL:
            return _LITERAL[token]
        braced = match.group(1)
        name = braced.strip() if braced is not None else match.group(2)
        if braced is not None and not _is_name(name):
            raise UsageError(f"%governed expands plain names only, and {token!r} is not one: "
                             "nothing in a prompt is evaluated. Put the value in a variable, "
                             f"write {{{{ }}}} for literal braces, or {_HINT}.")
        for scope in scopes:
            if name in scope:
                return str(scope[name])
        raise UsageError(f"%governed: {token} names no variable ({name!r} is not defined); "
                         f"define it, or {_HINT}.")

    return _TOKEN.sub(value_of, text)
