"""The one type every secret setting is held in: pydantic's `SecretStr`, never pickled.

`%config GovernedMagics` prints the repr of every setting, `%axonflow status` the effective
configuration; `SecretStr` masks itself in both. `%store` (or any pickling of the namespace)
would write the clear value, so pickling is refused. Imported only when a secret is set: pydantic
is too heavy for `%load_ext`.
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr


class NotebookSecret(SecretStr):
    def __reduce__(self) -> Any:
        raise TypeError("secret values cannot be pickled")

    def __copy__(self) -> "NotebookSecret":
        return self

    def __deepcopy__(self, memo: dict) -> "NotebookSecret":  # traitlets deep-copies config values
        return self


def as_secret(value: Any) -> "NotebookSecret | None":
    """A NotebookSecret for a str or SecretStr; None for nothing (an empty or unset secret)."""
    if value is None:
        return None
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise TypeError(f"a secret must be a string, not {type(value).__name__}")
    return NotebookSecret(value) if value else None
