"""`%governed {p}` / `%governed $p`: the line form expands plain names, evaluates nothing, and a
loop of line magics shows one compact row per call.
"""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from axonflow_notebook.testing.shell import magics_of


def test_a_loop_of_line_magics_expands_names_and_shows_one_row_per_call(ip, published):
    ip.user_ns["topics"] = ["tides", "comets", "lichens"]
    out = ip.run_cell("rows = []\n"
                      "for topic in topics:\n"
                      "    %governed -o one Tell me one fact about {topic}, politely $topic.\n"
                      "    rows.append(one)\n")
    assert out.error_in_exec is None, out.error_in_exec
    rows = ip.user_ns["rows"]
    assert [r.ok for r in rows] == [True, True, True]
    shown = [data for data, _, _ in published]
    assert not any("application/vnd.jupyter.widget-view+json" in d for d in shown), \
        "a loop of line magics drew full cards"
    finals = [d["text/plain"] for d, _, update in published if update and "audit" in d["text/plain"]]
    assert len(finals) == 3, finals
    for topic, line in zip(ip.user_ns["topics"], finals):
        assert f"Tell me one fact about {topic}, politely {topic}." in line, line
        assert "\n" not in line and len(line) < 400
    total = sum(len(str(v)) for d, _, _ in published for v in d.values())
    assert total < 3 * 2500, f"{total} characters for three rows"


def test_expansion_happens_in_a_function_too(ip):
    out = ip.run_cell("def ask(city):\n"
                      "    %governed -o in_function What is the capital of {city}?\n"
                      "    return in_function\n"
                      "asked = ask('Peru')\n")
    assert out.error_in_exec is None, out.error_in_exec
    assert ip.user_ns["asked"].ok


@pytest.mark.parametrize("line", ["Explain {topic.upper()}", "Explain {topics[0]}", "Explain {1+1}",
                                  "Explain {__import__('os')}", "Explain {}"])
def test_anything_but_a_plain_name_is_a_usage_error_before_any_call(ip, published, line):
    ip.user_ns.update(topic="x", topics=["x"])
    ip.user_ns.pop("_governed", None)
    out = ip.run_cell(f"%governed {line}")
    assert isinstance(out.error_in_exec, UsageError), out.error_in_exec
    assert "plain names" in str(out.error_in_exec) and "--raw" in str(out.error_in_exec)
    assert not published and "_governed" not in ip.user_ns


def test_an_unknown_name_is_a_usage_error_naming_it(ip, published):
    ip.user_ns.pop("_governed", None)
    out = ip.run_cell("%governed Summarise {no_such_variable} and $also_missing")
    assert isinstance(out.error_in_exec, UsageError)
    assert "no_such_variable" in str(out.error_in_exec)
    assert not published and "_governed" not in ip.user_ns


def test_doubled_characters_are_literal_and_dollar_amounts_stay(ip):
    from axonflow_notebook.notebook.expand import expand_names

    assert expand_names("{{x}} costs $$5 and {x}", [{"x": "7"}]) == "{x} costs $5 and 7"
    assert expand_names("wire $2,500 plus a $30 fee", [{}]) == "wire $2,500 plus a $30 fee"
    assert expand_names("{ x }", [{"x": "7"}]) == "7"


def test_the_prompt_sent_is_the_expanded_one(ip, llm):
    """Through the loopback LLM: what reached the model is the expanded line."""
    ip.user_ns.update(city="Lima", base=llm.url + "/v1", x="EXPANDED")
    magics = magics_of(ip)
    ip.run_cell("import os\nos.environ['OPENAI_API_KEY'] = 'sk-test'\nos.environ['OPENAI_API_BASE'] = base")
    try:
        out = ip.run_cell("%governed -m openai/test-model -o expanded Weather in {city} and $city?")
        assert out.error_in_exec is None, out.error_in_exec
        assert llm.last_user_message() == "Weather in Lima and Lima?"
        out = ip.run_cell("%governed --raw -m openai/test-model Weather in {city} and $city?")
        assert out.error_in_exec is None, out.error_in_exec
        assert llm.last_user_message() == "Weather in {city} and $city?"
        out = ip.run_cell("%%governed -m openai/test-model\nThe cell form keeps {x} and $x.")
        assert out.error_in_exec is None, out.error_in_exec
        assert llm.last_user_message() == "The cell form keeps {x} and $x.\n"
    finally:
        ip.run_cell("os.environ.pop('OPENAI_API_KEY', None)\nos.environ.pop('OPENAI_API_BASE', None);")
    assert magics.runtime.session.results[-1].ok
