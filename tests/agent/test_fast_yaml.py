"""fast_yaml: PyYAML's safe loader and dumper through libyaml, with yaml.safe_load's results and
the same line and column in its errors (the policy file's one-line-per-problem messages use them)."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from axonflow_notebook import fast_yaml

POLICY_FILE = """\
policies:
  - id: wire
    name: Wire transfers
    pattern: '(?i)\\bwire\\s+transfer\\b'
    action: require_approval
    priority: 100
    enabled: true
  - {id: nuke, name: "Nukes \\u2622", pattern: "nuke", action: block, severity: critical}
budgets:
  - {id: team, limit_usd: 12.5, period: monthly, on_exceed: block}
"""


def test_libyaml_is_used_when_pyyaml_has_it():
    if yaml.__with_libyaml__:
        assert fast_yaml.SafeLoader is yaml.CSafeLoader and fast_yaml.SafeDumper is yaml.CSafeDumper
    else:
        assert fast_yaml.SafeLoader is yaml.SafeLoader


def test_documents_load_as_safe_load_loads_them():
    catalogue = "".join(path.read_text(encoding="utf-8") for path in
                        resources.files("axonflow_notebook.agent.policy").iterdir() if path.name.endswith(".yaml"))
    for text in (POLICY_FILE, catalogue, "", "just text", "- 1\n- 2.5\n- null\n- 2026-11-29\n"):
        assert fast_yaml.safe_load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", [
    "policies:\n  - id: a\n    name: [unclosed\n",
    "policies:\n  - id: a\n  name: b\n - bad\n",
    "a: b: c\n",
    "policies: !!python/object:os.system 'echo no'\n",
])
def test_errors_keep_their_line_and_column(text):
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(text)
    with pytest.raises(fast_yaml.YAMLError) as fast:
        fast_yaml.safe_load(text)
    pure_mark, fast_mark = getattr(pure.value, "problem_mark", None), getattr(fast.value, "problem_mark", None)
    assert (pure_mark.line, pure_mark.column) == (fast_mark.line, fast_mark.column)


def test_a_dump_reads_back_as_the_same_document():
    document = yaml.safe_load(POLICY_FILE)
    text = fast_yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    assert fast_yaml.safe_load(text) == document and "☢" in text
