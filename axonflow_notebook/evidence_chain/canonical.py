"""RFC 8785 (JCS, https://www.rfc-editor.org/rfc/rfc8785) canonical JSON, fast.

``canonical(value)`` writes exactly what the ``rfc8785`` reference package writes (the
tests compare them on generated values), in a fraction of its time: strings go through the
C JSON escaper, which escapes exactly the characters RFC 8785 asks for; numbers are
written as ECMAScript writes them. Objects with non-ASCII keys (RFC 8785 sorts keys by
UTF-16 code units) and subclasses of str or int are left to the reference package.
``FlatRecord`` writes records that all share one set of keys faster still.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _quote  # the C escaper: '"', '\\' and controls only
from typing import Any, Sequence

_SAFE_INT = 2**53 - 1  # RFC 8785 numbers are IEEE doubles
_INF = float("inf")
_KEYS: dict = {}  # object key -> its encoded form and colon (keys repeat from record to record)


class ChainError(ValueError):
    """A record that cannot be chained (not JSON), or a key that cannot be used."""


class _Decline(Exception):
    """A value the fast encoder leaves to the reference implementation."""


def _float(x: float) -> str:
    """ECMAScript's Number::toString, which RFC 8785 (section 3.2.2.3) prescribes.

    ``float.__repr__`` gives the same shortest round-trip digits; only the notation differs.
    """
    if x != x or x in (_INF, -_INF):
        raise ChainError(f"not canonical JSON: {x!r} is not a JSON number")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _float(-x)
    text = float.__repr__(x)
    if "e" not in text:
        return text[:-2] if text.endswith(".0") else text
    mantissa, _, exponent = text.partition("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    k, n = len(digits), int(exponent) + 1  # x = 0.digits * 10**n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    return (digits[0] + ("." + digits[1:] if k > 1 else "")) + ("e+" if e >= 0 else "e-") + str(abs(e))


def _encode(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _quote(value)
    if kind is dict:
        parts = []
        try:
            keys = sorted(value)
        except TypeError:
            raise _Decline from None
        for key in keys:
            prefix = _KEYS.get(key)
            if prefix is None:
                if type(key) is not str or not key.isascii():  # RFC 8785 sorts by UTF-16 units
                    raise _Decline
                prefix = _quote(key) + ":"
                if len(_KEYS) < 4096:
                    _KEYS[key] = prefix
            item = value[key]
            kind = type(item)
            if kind is str:
                parts.append(prefix + _quote(item))
            elif item is None:
                parts.append(prefix + "null")
            else:
                parts.append(prefix + _encode(item))
        return "{" + ",".join(parts) + "}"
    if kind is list or kind is tuple:
        return "[" + ",".join([_encode(item) for item in value]) + "]"
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        if -_SAFE_INT <= value <= _SAFE_INT:
            return int.__repr__(value)
        raise ChainError(f"not canonical JSON: {value} exceeds the safe integer range of JSON numbers")
    if kind is float:
        return _float(value)
    raise _Decline


def _jcs(value: Any) -> bytes:
    import rfc8785  # the reference implementation; loaded only for values the fast path declines

    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ChainError(f"not canonical JSON: {exc}") from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise ChainError(f"not JSON: {exc}") from None


try:  # orjson writes most records exactly as RFC 8785 does, ten times faster (see _orjson_writes_jcs)
    from orjson import OPT_SORT_KEYS as _SORT_KEYS, dumps as _orjson_dumps
except ImportError:  # pragma: no cover - orjson is a dependency; the pure-Python writer still works
    _orjson_dumps = None


def _orjson_writes_jcs(value: Any) -> bool:
    """Whether orjson's bytes for ``value`` are its RFC 8785 canonical JSON.

    They are for plain JSON types with ASCII keys, integers within 2**53 and floats that are not
    whole numbers and lie within 1e-5 <= |x| < 1e16: orjson escapes strings as RFC 8785 does
    (every code point is compared in tests/agent/test_evidence_chain.py) and writes such floats
    with ECMAScript's digits; whole floats (``1.0``), tiny and huge ones it writes otherwise.
    """
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return -_SAFE_INT <= value <= _SAFE_INT
    if kind is float:
        return 1e-5 <= abs(value) < 1e16 and not value.is_integer()
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                return False
            if type(item) is not str and not _orjson_writes_jcs(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) is str or _orjson_writes_jcs(item) for item in value)
    return False


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical JSON of ``value``, as UTF-8 bytes."""
    if _orjson_dumps is not None and _orjson_writes_jcs(value):
        try:
            return _orjson_dumps(value, option=_SORT_KEYS)
        except (TypeError, ValueError):  # a lone surrogate, nesting too deep: the reasons below say which
            pass
    return python_canonical(value)


def python_canonical(value: Any) -> bytes:
    """``canonical`` written by this module alone (what orjson's output is held against)."""
    try:
        text = _encode(value)
    except _Decline:
        return _jcs(value)
    except RecursionError:
        raise ChainError("not JSON: nested too deeply") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ChainError("not canonical JSON: a string holds a lone UTF-16 surrogate") from None


class FlatRecord:
    """Canonical JSON of records that all have the same keys, from their values in key order.

    ``FlatRecord(keys).encode(values) == canonical(dict(zip(keys, values)))``, twice as fast:
    the keys are sorted and escaped once, and ``encode`` is generated for them as one
    expression (as ``collections.namedtuple`` generates its methods), with no dict per record.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if len(set(keys)) != len(keys) or not all(isinstance(k, str) for k in keys):
            raise ValueError("keys must be distinct strings")
        self.keys = tuple(keys)
        order = sorted(range(len(keys)), key=lambda i: keys[i].encode("utf-16-be"))
        pieces = []
        for n, i in enumerate(order):
            lead = ("{" if n == 0 else ",") + _quote(keys[i]) + ":"
            pieces.append(f"{lead!r}, (_q(v{i}) if v{i}.__class__ is str else 'null' if v{i} is None else _e(v{i}))")
        names = "".join(f"v{i}, " for i in range(len(keys)))
        source = (f"def encode(values):\n    ({names}) = values\n"
                  f"    return ''.join(({', '.join(pieces)}, '}}'))\n")
        namespace = {"_q": _quote, "_e": _encode}
        exec(source, namespace)  # noqa: S102 - the source holds escaped key literals only
        self._encode = namespace["encode"]

    def encode(self, values: Sequence) -> bytes:
        try:
            text = self._encode(values)
        except _Decline:
            return canonical(dict(zip(self.keys, values)))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            raise ChainError("not canonical JSON: a string holds a lone UTF-16 surrogate") from None
