"""Property tests of the `%%governed` / `%axonflow` argument parsers and of what reaches them.

* Any magic line parses to valid options or raises `UsageError` (never SystemExit, ValueError,
  TypeError, ...), and the options it returns are usable: `--out` a bindable name, a finite
  temperature, a positive token limit.
* Nothing is interpolated on the way: `{x}`, `$x`, `$$`, quotes, backslashes and odd unicode in
  the magic line and the cell body reach the magic byte for byte, through IPython's magic
  transformer and our await transformer (which re-quotes them with `repr`). The line form's own
  expansion of plain names (tests/notebook/test_line_form.py) happens later, in the magic.
* The line form's expansion never evaluates anything and raises only UsageError.
"""

from __future__ import annotations

import keyword
import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from axonflow_notebook.notebook.args import parse_call_options, parse_filters, split_words
from axonflow_notebook.notebook.magics import GovernedMagics
from axonflow_notebook.notebook.subcommands import SUBCOMMANDS, parse
from axonflow_notebook.testing.shell import governed_shell, magics_of

OPTION_WORDS = ["-m", "--model", "-o", "--out", "-s", "--system", "-t", "--temperature",
                "--max-tokens", "-u", "--user-token", "--stream", "--format", "--background",
                "--no-raise", "--simulate", "--no-simulate", "--code", "--raw", "-h", "--help", "--", "-",
                "status", "policies", "audit", "queue", "approve", "reject", "connect", "config",
                "--limit", "--filter", "--local", "--comment", "--reviewer", "--category", "k=v",
                "markdown", "text", "json", "nan", "inf", "-inf", "1e309", "-1", "0", "2",
                "class", "None", "x y", "'", '"', "\\", "{x}", "$x", "$$", "\x00", "\u202e"]

lines = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(OPTION_WORDS) | st.text(max_size=12), max_size=12).map(" ".join),
)


def _check(opts) -> None:
    if opts.out is not None:
        assert opts.out.isidentifier() and not keyword.iskeyword(opts.out)
    if opts.temperature is not None:
        assert math.isfinite(opts.temperature) and opts.temperature >= 0
    if opts.max_tokens is not None:
        assert opts.max_tokens > 0
    assert opts.fmt in ("markdown", "text", "json")
    assert not (opts.code and (opts.stream or opts.background))


@settings(max_examples=400, deadline=None)
@given(lines)
@example("-t nan")
@example("-t inf")
@example("-o class")
@example("-h")
@example('"unterminated')
@example("--format <script>")
def test_governed_line_parses_or_raises_usage_error(line):
    try:
        opts = parse_call_options(GovernedMagics.governed, line)
    except UsageError:
        return
    _check(opts)


@settings(max_examples=300, deadline=None)
@given(lines)
@example("")
@example("--help")
@example("audit --limit x")
@example("approve")
@example("connect http://x")
def test_axonflow_line_parses_or_raises_usage_error(line):
    try:
        sub, args = parse(line)
    except UsageError:
        return
    if sub is None:
        assert isinstance(args, str) and "%axonflow" in args  # a help text
    else:
        assert sub is SUBCOMMANDS[sub.name]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=100))
def test_split_words_and_filters_raise_only_usage_error(text):
    try:
        split_words(text)
        parse_filters([text])
    except UsageError:
        pass


# -- through a real shell: what the magic receives is what the user wrote --------------------
@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    with governed_shell(tmp_path_factory.mktemp("data"), widgets=False) as ip:
        ip.user_ns.update(x="EXPANDED", y="EXPANDED")
        yield ip


@pytest.fixture
def received(shell):
    """Replace the magics' `_prepare` (the first thing both entry points do) by a recorder."""
    magics = magics_of(shell)
    seen: list = []

    def record(line, cell, *, awaiting, local_ns=None):
        seen.append((line, cell, awaiting))
        raise UsageError("recorded")

    magics._prepare = record
    yield seen
    del magics._prepare


body_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), min_size=1, max_size=80
).map(lambda s: s + " {x} $x ${y} $$x {{x}}")
magic_line = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40
).map(lambda s: "-o r " + s + " {x} $x")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=magic_line, body=body_text)
def test_cell_magic_receives_line_and_body_verbatim(shell, received, line, body):
    received.clear()
    shell.run_cell(f"%%governed {line}\n{body}", store_history=False, silent=True)
    assert received, "the magic was not called"
    got_line, got_cell, awaiting = received[-1]
    assert got_line.strip() == line.strip()
    assert got_cell.rstrip("\n") == body.rstrip("\n")
    assert "EXPANDED" not in got_line + got_cell
    assert awaiting is True  # the await transformer kept the text intact too


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=magic_line)
def test_line_magic_receives_line_verbatim(shell, received, line):
    received.clear()
    shell.run_cell(f"%governed {line}", store_history=False, silent=True)
    assert received, "the magic was not called"
    got_line, got_cell, _ = received[-1]
    assert got_cell is None
    assert got_line.strip() == line.strip()
    assert "EXPANDED" not in got_line


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
@example("{x.__class__}")
@example("{__import__('os').system('echo hi')}")
@example("$x$y{{x}}$$")
def test_line_expansion_evaluates_nothing_and_raises_only_usage_error(text):
    from axonflow_notebook.notebook.expand import expand_names

    class Tripwire:
        def __str__(self):
            return "VALUE"

        def __getattr__(self, name):
            raise AssertionError(f"attribute {name} was evaluated")

    try:
        out = expand_names(text, [{"x": Tripwire(), "y": "Y"}])
    except UsageError:
        return
    assert isinstance(out, str)
