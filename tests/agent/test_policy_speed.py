"""Speed and robustness: hostile 100 KB inputs stay fast, arbitrary text never breaks evaluate,
redaction never leaks a matched span, and the prefilter never changes an answer."""

from __future__ import annotations

import random
import re
import statistics
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axonflow_notebook.agent.policy import PolicyEngine

from test_policy_engine import POLICY_TABLE  # a sibling module (tests are rootdir-relative, no package)

SIZE = 100_000
_rng = random.Random(20261126)


def _fill(unit: str) -> str:
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


ADVERSARIAL = {
    "a-run": "a" * SIZE,
    "digit-run": "1" * SIZE,
    "digit-groups": _fill("1234 "),
    "separators": _fill("1-2 3.4/5:6"),
    "cards": _fill("4111 1111 1111 1111 "),
    "ssns": _fill("123-45-6789 "),
    "emails": _fill("a.b@c.de "),
    "dotted": _fill("1.1.1.1."),
    "ignore-ignore": _fill("ignore "),
    "nested-sql": _fill("' OR '1'='1' -- UNION SELECT (SELECT CONCAT(CHAR(1,"),
    "comments": _fill("/* /* */ -- # "),
    "spaces": " " * SIZE,
    "nul": "\x00" * SIZE,
    "quotes": _fill("'\"'\"); "),
    "non-ascii-cards": _fill("é 4111 1111 1111 1111 日本 "),
    "random-unicode": "".join(chr(_rng.randint(1, 0xD7FF)) for _ in range(SIZE)),
    "random-symbols": "".join(_rng.choice("0123456789 -./:@#;'\"()*abcXYZ\n\t") for _ in range(SIZE)),
}


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine.load()


@pytest.fixture(scope="module")
def redact_all() -> PolicyEngine:
    """Worst case: nothing stops early and every match of every policy must be redacted."""
    return PolicyEngine.load(
        overrides={"pii": "redact", "sqli": "redact", "sensitive_data": "redact", "dangerous": "redact"}
    )


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_hostile_100kb_is_fast(engine, redact_all, name):
    """CPU time of this thread, so that five other test runs on two shared cores do not
    decide the result; a wall-clock bound of twice as much guards against sleeping."""
    text = ADVERSARIAL[name]
    assert len(text) == SIZE
    for eng in (engine, redact_all):
        cpu, wall = time.thread_time(), time.perf_counter()
        eng.evaluate(text)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        assert cpu < 1.0, f"{name}: {cpu:.3f}s CPU"
        assert wall < 2.0, f"{name}: {wall:.3f}s wall"


def test_short_prompt_p50_is_well_under_a_millisecond(engine):
    for prompt in (
        "Summarize the quarterly revenue report for the board in three bullet points.",
        "Email jane.doe@example.com the order summary for 2024-05-01.",
    ):
        samples = []
        for _ in range(300):
            started = time.perf_counter()
            engine.evaluate(prompt)
            samples.append(time.perf_counter() - started)
        assert statistics.median(samples) < 0.001


# --- properties ------------------------------------------------------------------------

ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=300) | st.text(
    st.sampled_from("\x00 \t\n'\";-#/*()=:@.0123456789aAbBxX[]<>|"), max_size=300
)

SECRETS = [
    "123-45-6789",
    "4111 1111 1111 1111",
    "378282246310005",
    "jane.doe@example.com",
    "DE89370400440532013000",
    "192.168.1.20",
    "555-123-4567",
    "S1234567D",
    "ABCPE1234F",
    "password=hunter2",
    "api_key=abc",
    "wire transfer",
]
FILLER = st.text(st.sampled_from("abcdefghij KLMNOP,!?\n"), min_size=1, max_size=20)
MIXED = st.lists(st.sampled_from(SECRETS) | FILLER, max_size=12).map(" ".join)

_PLACEHOLDER = re.compile(r"\[REDACTED:[^\]]+\]")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ANY_TEXT | MIXED)
def test_evaluate_never_raises(engine, text):
    ev = engine.evaluate(text)
    assert ev.decision in {"allowed", "blocked", "needs_approval", "redacted"}
    assert all(0 <= s < e <= len(text) for m in ev.matches for s, e in m.spans)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=MIXED)
def test_redacted_query_never_contains_a_matched_span(redact_all, text):
    ev = redact_all.evaluate(text)
    if not ev.requires_redaction:
        assert ev.redacted_query is None
        return
    covered = set()
    for match in ev.matches:
        for s, e in match.spans:
            covered.update(range(s, e))
            assert text[s:e] not in ev.redacted_query
    kept = "".join(ch for i, ch in enumerate(text) if i not in covered)
    assert _PLACEHOLDER.sub("", ev.redacted_query) == kept


_PLAIN: dict[int, PolicyEngine] = {}


def _without_prefilter(engine: PolicyEngine) -> PolicyEngine:
    """The same policies with the combined gate and the RE2::Set switched off: every policy
    is scanned, which is the answer the prefilter must never change."""
    if id(engine) not in _PLAIN:
        plain = PolicyEngine(engine.policies())
        plain._gate = None
        plain._set = None
        _PLAIN[id(engine)] = plain
    return _PLAIN[id(engine)]


def _observed(engine: PolicyEngine, text: str) -> list[tuple[str, tuple]]:
    return [(m.policy.id, m.spans) for m in engine.evaluate(text).matches]


def _reference(engine: PolicyEngine, text: str) -> list[tuple[str, tuple]]:
    return _observed(_without_prefilter(engine), text)


@pytest.mark.parametrize("text", sorted({t for _, t, _ in POLICY_TABLE}))
def test_prefilter_agrees_with_a_full_scan_on_the_table(engine, text):
    assert _observed(engine, text) == _reference(engine, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=MIXED | st.text(st.characters(codec="utf-8"), max_size=200))
def test_prefilter_agrees_with_a_full_scan(redact_all, text):
    assert _observed(redact_all, text) == _reference(redact_all, text)
