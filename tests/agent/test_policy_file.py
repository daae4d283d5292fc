"""Custom policy files: the documented shape loads, and every bad file says what is wrong where."""

from __future__ import annotations

import textwrap

import pytest

from axonflow_notebook.agent.policy import PolicyEngine, PolicyFileError

GOOD = """\
policies:
  - id: fin-wire-transfer
    name: Wire transfers need a human approval
    category: custom
    pattern: '(?i)\\bwire\\s+transfer\\b'
    action: require_approval      # block | require_approval | redact | warn | log
    severity: high                # low | medium | high | critical
    priority: 500
    enabled: true
    description: Wire transfers need a human approval
  - id: x
    name: Second
    pattern: 'second'
    action: warn
"""


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in tmp_path so messages carry the bare file name, as a user would pass it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(directory, body: str, name: str = "policies.yaml") -> str:
    (directory / name).write_text(textwrap.dedent(body))
    return name


def error_for(directory, body: str) -> str:
    path = write(directory, body)
    with pytest.raises(PolicyFileError) as info:
        PolicyEngine.load(path)
    return str(info.value)


def test_documented_shape_loads_with_defaults(in_tmp):
    engine = PolicyEngine.load(write(in_tmp, GOOD))
    tenant = {p.id: p for p in engine.policies() if p.tier == "tenant"}
    wire, second = tenant["fin-wire-transfer"], tenant["x"]
    assert (wire.action, wire.severity, wire.priority, wire.category) == ("require_approval", "high", 500, "custom")
    assert (second.category, second.severity, second.priority, second.enabled, second.description) == (
        "custom", "medium", 100, True, "",
    )


def test_path_object_and_empty_list(in_tmp):
    path = in_tmp / "empty.yaml"
    path.write_text("policies: []\n")
    assert all(p.tier == "system" for p in PolicyEngine.load(path).policies())


def test_policy_file_error_is_a_value_error():
    assert issubclass(PolicyFileError, ValueError)


def test_bad_action_message_names_file_entry_and_field(in_tmp):
    body = GOOD.replace("action: warn", "action: deny")
    assert error_for(in_tmp, body) == (
        "policies.yaml: policy #2 (id 'x'): action must be one of block, require_approval, redact, warn, log"
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{id: p1, name: P, pattern: 'a', action: warn, severity: urgent}",
         "policy #1 (id 'p1'): severity must be one of low, medium, high, critical"),
        ("{id: p1, name: P, pattern: 'a', action: warn, category: finance}",
         "policy #1 (id 'p1'): category must be one of custom, "),
        ("{id: p1, name: P, pattern: 'a', action: warn, priority: '500'}",
         "policy #1 (id 'p1'): priority must be an integer, not '500'"),
        ("{id: p1, name: P, pattern: 'a', action: warn, priority: 1.5}",
         "policy #1 (id 'p1'): priority must be an integer, not 1.5"),
        ("{id: p1, name: P, pattern: 'a', action: warn, enabled: 'yes please'}",
         "policy #1 (id 'p1'): enabled must be true or false, not 'yes please'"),
        ("{id: p1, pattern: 'a', action: warn}",
         "policy #1 (id 'p1'): name is required"),
        ("{name: P, pattern: 'a', action: warn}",
         "policy #1: id is required"),
        ("{id: p1, name: P, action: warn}",
         "policy #1 (id 'p1'): pattern is required"),
        ("{id: p1, name: P, pattern: 'a'}",
         "policy #1 (id 'p1'): action is required"),
        ("{id: p1, name: P, pattern: 'a', acton: warn}",
         "policy #1 (id 'p1'): action is required\n"),
        ("{id: p1, name: P, pattern: 'a', action: warn, acton: warn}",
         "policy #1 (id 'p1'): acton is not a known field (known: id, name, category, pattern, action,"),
        ("{id: 'bad id!', name: P, pattern: 'a', action: warn}",
         "policy #1 (id 'bad id!'): id must be 1-128 characters of letters"),
        ("{id: 12, name: P, pattern: 'a', action: warn}",
         "policy #1: id must be a string, not 12 (quote it in the YAML file)"),
        ("{id: p1, name: '', pattern: 'a', action: warn}",
         "policy #1 (id 'p1'): name must be 1-255 characters"),
        ("{id: p1, name: P, pattern: '(?=lookahead)', action: warn}",
         "policy #1 (id 'p1'): pattern '(?=lookahead)' is not a valid RE2 regular expression: invalid perl operator: (?="),
        ("{id: p1, name: P, pattern: '(unclosed', action: warn}",
         "policy #1 (id 'p1'): pattern '(unclosed' is not a valid RE2 regular expression: missing ): (unclosed"),
        ("{id: p1, name: P, pattern: '', action: warn}",
         "policy #1 (id 'p1'): pattern must not be empty"),
        ("{id: p1, name: P, pattern: 'x*', action: warn}",
         "policy #1 (id 'p1'): pattern 'x*' matches the empty string, so it would match every query"),
        ("{id: p1, name: P, pattern: 'a', action: warn, validator: checksum}",
         "policy #1 (id 'p1'): validator must be one of aadhaar, aba_routing, dob,"),
        ("just-a-string",
         "policy #1: must be a mapping of fields, not str"),
    ],
)
def test_bad_entry_names_entry_and_field(in_tmp, entry, expected):
    message = error_for(in_tmp, f"policies:\n  - {entry}\n")
    assert message.startswith("policies.yaml: ")
    assert expected in message + "\n"


def test_every_bad_entry_is_reported(in_tmp):
    message = error_for(
        in_tmp,
        """\
        policies:
          - {id: ok, name: Ok, pattern: 'a', action: warn}
          - {id: b, name: B, pattern: 'a', action: nope}
          - {id: c, name: C, pattern: '(', action: warn, severity: huge}
        """,
    )
    lines = message.splitlines()
    assert lines[0] == "policies.yaml: policy #2 (id 'b'): action must be one of block, require_approval, redact, warn, log"
    assert lines[1].startswith("policies.yaml: policy #3 (id 'c'): pattern '(' is not a valid RE2")
    assert lines[2] == "policies.yaml: policy #3 (id 'c'): severity must be one of low, medium, high, critical"
    assert len(lines) == 3


def test_duplicate_id_within_the_file(in_tmp):
    message = error_for(
        in_tmp,
        """\
        policies:
          - {id: same, name: A, pattern: 'a', action: warn}
          - {id: same, name: B, pattern: 'b', action: warn}
        """,
    )
    assert message == "policies.yaml: policy #2 (id 'same'): id 'same' duplicates policy #1"


def test_duplicate_of_a_system_policy_id(in_tmp):
    message = error_for(
        in_tmp,
        "policies:\n  - {id: sys_pii_ssn, name: Mine, pattern: 'a', action: block}\n",
    )
    assert message == "policies.yaml: policy #1 (id 'sys_pii_ssn'): id 'sys_pii_ssn' is already a system policy id"


def test_missing_file(in_tmp):
    with pytest.raises(PolicyFileError, match=r"^nowhere\.yaml: policy file not found$"):
        PolicyEngine.load("nowhere.yaml")


def test_directory_instead_of_file(in_tmp):
    (in_tmp / "adir").mkdir()
    with pytest.raises(PolicyFileError, match=r"^adir: cannot read policy file"):
        PolicyEngine.load("adir")


def test_unreadable_yaml_gives_line_and_column(in_tmp):
    message = error_for(in_tmp, "policies:\n  - id: a\n    name: [unclosed\n")
    assert message.startswith("policies.yaml: line ")
    assert "invalid YAML" in message


def test_tab_indented_yaml(in_tmp):
    message = error_for(in_tmp, "policies:\n\t- id: a\n")
    assert message.startswith("policies.yaml: line 2, column 1: invalid YAML:")


def test_not_utf8(in_tmp):
    (in_tmp / "policies.yaml").write_bytes(b"policies:\n  - id: \xff\xfe\n")
    with pytest.raises(PolicyFileError, match=r"^policies\.yaml: not UTF-8 text"):
        PolicyEngine.load("policies.yaml")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", "policies.yaml: the top level must be a mapping with a 'policies' list"),
        ("- id: a\n", "policies.yaml: the top level must be a mapping with a 'policies' list"),
        ("just text\n", "policies.yaml: the top level must be a mapping with a 'policies' list"),
        ("rules: []\n", "policies.yaml: the top level must be a mapping with a 'policies' list"),
        ("policies: {id: a}\n", "policies.yaml: 'policies' must be a list of policy mappings"),
        ("policies: []\nextra: 1\n", "policies.yaml: unknown top-level key(s): extra (only 'policies' and 'budgets' are allowed)"),
    ],
)
def test_bad_top_level(in_tmp, body, expected):
    assert error_for(in_tmp, body) == expected


def test_full_path_is_named_as_given(tmp_path):
    path = tmp_path / "team" / "rules.yaml"
    path.parent.mkdir()
    path.write_text("policies:\n  - {id: a, name: A, pattern: 'a', action: shout}\n")
    with pytest.raises(PolicyFileError) as info:
        PolicyEngine.load(path)
    assert str(info.value).startswith(f"{path}: policy #1 (id 'a'): action must be one of")
