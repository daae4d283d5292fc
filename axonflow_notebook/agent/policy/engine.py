"""The policy engine: evaluates a query against the effective static-policy list.

Semantics follow AxonFlow's engine (wire protocol §7.1): priority descending (ties keep
catalogue, then file, order), RE2 matching plus an optional validator, stop at the first
``block``, HITL (``require_approval``) taking precedence over a simultaneous block, and
``redact`` producing a redacted copy of the query.

Speed: every pattern is RE2 (linear time, no backtracking) and compiled once. A single
combined RE2 "gate" of all enabled patterns runs first; when it finds nothing, no policy
can match, and the query is done in one pass instead of one pass per policy. RE2 falls
back from its DFA to its NFA rather than giving up, so the gate never hides a match.
When the gate does match, an ``RE2::Set`` names the candidate policies in one more pass.
A Set *can* give up (its DFA runs out of memory on hostile input) and then reports
nothing; since the gate already proved that something matches, an empty answer is read
as "unknown" and every policy is scanned.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import re2

from .catalogue import system_entries
from .custom import load_custom_entries, parse_custom_entries
from .models import Evaluation, Policy, PolicyFileError, PolicyMatch
from .policy_set import canonical_policies
from .profile import effective_action, resolve_profile
from .schema import PolicyEntry, compile_pattern, re2_options
from .validators import RETRY_INSIDE, VALIDATORS, Validator

__all__ = ["PolicyEngine", "Evaluation", "PolicyMatch", "PolicyFileError", "Policy"]

_SURROGATE = re.compile("[\ud800-\udfff]")


# A match that fails its validator may hide a valid one overlapping it ("555-123-4567 4111
# 1111 1111 1111": the card regex first takes "4567 4111 1111 1111", which fails Luhn).
# For failed matches up to this many bytes, every word start inside is tried as well, up to
# a budget per policy and query, so hostile input (thousands of near-misses) stays fast.
_RETRY_SPAN = 64
_RETRY_BUDGET = 200
_WORD_BYTES = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_OPENERS = frozenset(b"+(")


def _retry_starts(data: bytes, start: int, end: int):
    """Positions inside a failed match where another candidate could begin."""
    for p in range(start + 1, end):
        byte = data[p]
        if byte in _OPENERS or (byte in _WORD_BYTES and data[p - 1] not in _WORD_BYTES):
            yield p


def _next_char(data: bytes, pos: int) -> int:
    pos += 1
    while pos < len(data) and 0x80 <= data[pos] < 0xC0:  # UTF-8 continuation byte
        pos += 1
    return pos


class _Offsets:
    """Byte offset -> character offset, walking from the last answer (linear overall)."""

    __slots__ = ("data", "ascii", "byte", "char")

    def __init__(self, data: bytes, ascii: bool):
        self.data, self.ascii, self.byte, self.char = data, ascii, 0, 0

    def __call__(self, offset: int) -> int:
        if self.ascii:
            return offset
        if offset >= self.byte:
            self.char += len(self.data[self.byte : offset].decode("utf-8"))
        else:
            self.char -= len(self.data[offset : self.byte].decode("utf-8"))
        self.byte = offset
        return self.char


@dataclass(frozen=True)
class _Compiled:
    policy: Policy
    regex: "re2._Regexp"
    validator: Optional[Validator]
    retry_inside: bool = False

    def spans(self, text: str, data: bytes, ascii: bool) -> tuple[tuple[int, int], ...]:
        """Character spans of every validated match, left to right, non-overlapping.

        RE2 runs on the UTF-8 ``data`` (about twice as fast as handing it ``str``)."""
        if self.validator is None:
            spans = [m.span() for m in self.regex.finditer(data)]
            if not ascii:
                to_char = _Offsets(data, ascii)
                spans = [(to_char(s), to_char(e)) for s, e in spans]
            return tuple((s, e) for s, e in spans if e > s)
        to_char = _Offsets(data, ascii)
        validator = self.validator
        found: list[tuple[int, int]] = []
        budget = [_RETRY_BUDGET]
        pos = 0
        while pos <= len(data):
            m = self.regex.search(data, pos)
            if m is None:
                break
            b_start, b_end = m.span()
            if b_end == b_start:
                pos = _next_char(data, b_end)
                continue
            pos = b_end
            start, end = (b_start, b_end) if ascii else (to_char(b_start), to_char(b_end))
            if validator(text, start, end):
                found.append((start, end))
            elif self.retry_inside and b_end - b_start <= _RETRY_SPAN and budget[0] > 0:
                pos = max(pos, self._retry(text, data, b_start, b_end, to_char, found, budget))
        return tuple(found)

    def _retry(self, text, data, b_start, b_end, to_char, found, budget) -> int:
        """Try anchored matches at word starts inside a failed match; return where to go on."""
        for p in _retry_starts(data, b_start, b_end):
            if budget[0] <= 0:
                break
            budget[0] -= 1
            m = self.regex.match(data, p)
            if m is None or m.end() <= p:
                continue
            start, end = to_char(p), to_char(m.end())
            if self.validator(text, start, end):
                found.append((start, end))
                return m.end()
        return b_end


def _policy_from_entry(entry: PolicyEntry, tier: str, profile: Mapping[str, str]) -> Policy:
    return Policy(
        id=entry.id,
        name=entry.name,
        category=entry.category,
        pattern=entry.pattern,
        action=effective_action(entry.category, entry.action, tier, profile),
        stored_action=entry.action,
        severity=entry.severity,
        priority=entry.priority,
        enabled=entry.enabled,
        description=entry.description,
        tier=tier,
        validator=entry.validator,
    )


def _scannable(query: str) -> str:
    """The query with lone surrogates (possible from JSON) replaced, offsets unchanged."""
    try:
        query.encode("utf-8")
        return query
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", query)


def _redact(query: str, spans: list[tuple[int, int, str]]) -> str:
    """Replace every span by ``[REDACTED:<policy id>]``; overlapping spans merge into one."""
    spans.sort(key=lambda s: (s[0], -s[1]))
    merged: list[list] = []
    for start, end, policy_id in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, policy_id])
    out, pos = [], 0
    for start, end, policy_id in merged:
        out.append(query[pos:start])
        out.append(f"[REDACTED:{policy_id}]")
        pos = end
    out.append(query[pos:])
    return "".join(out)


_GROUP_CACHE: dict = {}  # catalogue patterns -> (gate, set), compiled once per process


def _gate_and_set(patterns: list[str], cached: bool) -> tuple:
    key = tuple(patterns)
    found = _GROUP_CACHE.get(key) if cached else None
    if found is None:
        found = (PolicyEngine._build_gate(patterns), PolicyEngine._build_set(patterns))
        if cached:
            if len(_GROUP_CACHE) >= 8:
                _GROUP_CACHE.clear()
            _GROUP_CACHE[key] = found
    return found


class PolicyEngine:
    """An immutable, thread-safe evaluator over a fixed policy list."""

    def __init__(self, policies: Sequence[Policy]):
        ordered = sorted(policies, key=lambda p: -p.priority)  # stable: ties keep input order
        ids = [p.id for p in ordered]
        if len(ids) != len(set(ids)):
            raise ValueError("policy ids must be unique")
        self._policies = tuple(ordered)
        self._version: Optional[str] = None
        self._policies_json: Optional[str] = None
        self._compiled = tuple(
            _Compiled(
                p,
                compile_pattern(p.pattern),
                VALIDATORS[p.validator] if p.validator else None,
                p.validator in RETRY_INSIDE,
            )
            for p in ordered
            if p.enabled
        )
        patterns = [c.policy.pattern for c in self._compiled]
        self._gate = self._build_gate(patterns)
        # Candidates are found per group, catalogue and custom policies apart: the catalogue's
        # gate and set are compiled once per process, so a reload compiles only the custom
        # ones (compiling a set holds the GIL, and pre-checks keep running during a reload).
        # ``_set`` holds (positions, gate, RE2 set) per group; None scans every policy.
        self._set: Optional[list] = []
        for system in (True, False):
            index = tuple(i for i, c in enumerate(self._compiled) if (c.policy.tier == "system") == system)
            if index:
                self._set.append((index, *_gate_and_set([patterns[i] for i in index], cached=system)))

    @staticmethod
    def _build_gate(patterns: list[str]) -> Optional["re2._Regexp"]:
        if not patterns:
            return None
        try:
            return re2.compile("|".join(f"(?:{p})" for p in patterns), options=re2_options(64 << 20))
        except re2.error:
            return None

    @staticmethod
    def _build_set(patterns: list[str]) -> Optional["re2.Set"]:
        if not patterns:
            return None
        try:
            candidates = re2.Set.SearchSet(re2_options(64 << 20))
            for index, pattern in enumerate(patterns):
                if candidates.Add(pattern) != index:
                    return None
            candidates.Compile()
            return candidates
        except re2.error:
            return None

    def _candidates(self, data: bytes) -> Sequence["_Compiled"]:
        """The compiled policies that may match ``data`` (UTF-8), in evaluation order."""
        if self._gate is not None and self._gate.search(data) is None:
            return ()
        if self._set is None:
            return self._compiled
        found: list[int] = []
        for index, gate, candidates in self._set:
            if gate is not None and gate.search(data) is None:
                continue
            hits = candidates.Match(data) if candidates is not None else None
            # A set that gives up reports nothing; its gate proved a match: scan the group.
            found.extend([index[i] for i in hits] if hits else index)
        return [self._compiled[i] for i in sorted(found)]

    @classmethod
    def load(
        cls,
        custom_path: str | os.PathLike | None = None,
        *,
        overrides: Optional[Mapping[str, str]] = None,
    ) -> "PolicyEngine":
        """The system catalogue under the observe-first profile, plus an optional custom file.

        ``overrides`` replaces profile actions per group (``pii``, ``sqli``,
        ``sensitive_data``, ``dangerous``), e.g. ``{"pii": "redact"}``.
        """
        system = system_entries()
        custom = []
        if custom_path is not None:
            custom = load_custom_entries(custom_path, reserved_ids=(e.id for e in system))
        return cls._from_entries(system, custom, overrides)

    @classmethod
    def from_text(
        cls, text: str, name: str, *, overrides: Optional[Mapping[str, str]] = None
    ) -> "PolicyEngine":
        """Like ``load``, with the custom policies given as the text of a policy file.

        ``name`` leads every error line (a file name or a label); blank text means none.
        """
        system = system_entries()
        custom = parse_custom_entries(text, name, reserved_ids=(e.id for e in system), allow_blank=True)
        return cls._from_entries(system, custom, overrides)

    @classmethod
    def _from_entries(cls, system, custom, overrides) -> "PolicyEngine":
        profile = resolve_profile(overrides)
        policies = [_policy_from_entry(e, "system", profile) for e in system]
        policies += [_policy_from_entry(e, "tenant", profile) for e in custom]
        return cls(policies)

    @property
    def version(self) -> str:
        """SHA-256 of the effective policy set (see ``policy_set``); computed once."""
        if self._version is None:
            text = canonical_policies(self._policies)
            self._policies_json = text
            self._version = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self._version

    @property
    def policies_json(self) -> str:
        """The canonical JSON of the policy set that ``version`` hashes (computed with it)."""
        if self._version is None:
            self.version  # noqa: B018 - computes both
        return self._policies_json

    def policies(self) -> list[Policy]:
        """Every policy (disabled ones too), in evaluation order: priority descending."""
        return list(self._policies)

    def evaluate(self, query: str) -> Evaluation:
        text = _scannable(query)
        data = text.encode("utf-8")
        ascii = len(data) == len(text)
        matches: list[PolicyMatch] = []
        blocked_by: Optional[Policy] = None
        approval: Optional[Policy] = None
        redact_spans: list[tuple[int, int, str]] = []
        for compiled in self._candidates(data):
            spans = compiled.spans(text, data, ascii)
            if not spans:
                continue
            policy = compiled.policy
            matches.append(PolicyMatch(policy, policy.action, spans))
            if policy.action == "block":
                blocked_by = policy
                break
            if policy.action == "require_approval" and approval is None:
                approval = policy
            elif policy.action == "redact":
                redact_spans.extend((s, e, policy.id) for s, e in spans)
        requires_redaction = bool(redact_spans) and blocked_by is None
        return Evaluation(
            matches=tuple(matches),
            blocked_by=blocked_by,
            approval_policy=approval,
            requires_redaction=requires_redaction,
            redacted_query=_redact(query, redact_spans) if requires_redaction else None,
        )
