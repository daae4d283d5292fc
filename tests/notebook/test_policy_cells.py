"""`%%axonflow_policy` in a real InteractiveShell: valid cells upserted by id (the output shows the
change and the version now in force), dry runs, invalid cells (one line per problem, each field),
conflicting ids, a reload while calls are in flight, and the real-AxonFlow path through the
SDK's static-policy API against an agent configured as an endpoint."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from IPython.core.error import UsageError

from axonflow_notebook.notebook.calls.sync import resolve
from axonflow_notebook.testing.agents import start_agent
from axonflow_notebook.testing.shell import magics_of

POLICIES = Path(__file__).resolve().parents[2] / "notebooks" / "policies.yaml"
CELL = """\
policies:
  - id: falcon
    name: Project falcon
    pattern: '(?i)\\bproject\\s+falcon\\b'
    action: redact
  - id: hr-salary
    name: Salary data mentioned
    category: custom
    pattern: '(?i)\\bsalar(y|ies)\\b'
    action: block
    severity: low
    priority: 200
    description: Salary data mentioned in a prompt
"""


def _backend(ip):
    return magics_of(ip).runtime.backend()


def _in_force(ip) -> dict:
    backend = _backend(ip)
    with httpx.Client(base_url=backend.url, auth=("notebook", backend.agent.secret), timeout=30) as http:
        return http.get("/api/v1/local/policies").json()["data"]


def _custom(ip) -> dict:
    return {p.id: p for p in resolve(_backend(ip).console.list_policies()) if p.tier != "system"}


@pytest.fixture
def restore(ip):
    yield
    resolve(_backend(ip).console.reload_policies(POLICIES.read_text(), str(POLICIES)))


def _cell(ip, cell: str, line: str = ""):
    return ip.run_cell_magic("axonflow_policy", line, cell)


def test_a_cell_is_upserted_by_id_and_shows_the_change_and_version(ip, restore):
    before = _in_force(ip)
    preview = _cell(ip, CELL, "--dry-run")
    assert preview.metadata["axonflow"]["dry_run"] is True and _in_force(ip) == before
    assert preview.metadata["axonflow"]["added"] == ["falcon"]
    assert preview.metadata["axonflow"]["changed"] == ["hr-salary"]
    assert "Dry run" in preview.plain and "nothing applied" in preview.plain

    shown = _cell(ip, CELL)
    now = _in_force(ip)
    meta = shown.metadata["axonflow"]
    assert meta["dry_run"] is False and meta["policy_version"] == now["version"] == preview.metadata[
        "axonflow"]["policy_version"] != before["version"]
    assert now["source"].startswith("policy cell")
    custom = _custom(ip)
    assert custom["hr-salary"].action == "block" and custom["falcon"].action == "redact"
    assert {"fin-wire-transfer", "acct-number", "project-nightingale", "mkt-competitor-names"} <= set(custom)
    html = shown.html
    assert now["version"][:12] in html and 'title="' + now["version"] in html
    assert "action: warn → block" in shown.plain and "in force" in shown.plain.lower()
    test = ip.run_line_magic("axonflow", "test Our salary bands for project falcon")
    assert test.decision == "blocked" and test.policy_version == now["version"]

    again = _cell(ip, CELL)
    assert again.metadata["axonflow"]["added"] == again.metadata["axonflow"]["changed"] == []
    assert "No change" in again.plain


def test_replace_makes_the_cell_the_whole_custom_set(ip, restore):
    one = "policies:\n  - id: only\n    name: Only\n    pattern: only-token\n    action: warn\n"
    shown = _cell(ip, one, "--replace")
    assert set(shown.metadata["axonflow"]["removed"]) >= {"fin-wire-transfer", "hr-salary"}
    assert set(_custom(ip)) == {"only"}
    with pytest.raises(UsageError, match="needs policies in the cell body"):
        _cell(ip, "  \n")
    assert _cell(ip, "policies: []\n", "--replace").metadata["axonflow"]["removed"] == ["only"]


FIELDS = [
    ("id", "'bad id!'", "id must be 1-128 characters"),
    ("name", "''", "name must be 1-255 characters"),
    ("pattern", "'(unclosed'", "is not a valid RE2 regular expression"),
    ("pattern", "'a*'", "matches the empty string"),
    ("action", "allow", "action must be one of block, require_approval"),
    ("severity", "urgent", "severity must be one of low"),
    ("priority", "high", "priority must be an integer"),
    ("enabled", "maybe", "enabled must be true or false"),
    ("category", "code-secrets", "category must be one of custom"),
    ("validator", "crc", "validator must be one of"),
    ("description", "'" + "d" * 1001 + "'", "description must be at most 1000 characters"),
    ("colour", "red", "colour is not a known field"),
]


@pytest.mark.parametrize("field, value, message", FIELDS)
def test_each_invalid_field_is_one_line_and_changes_nothing(ip, field, value, message):
    before = _in_force(ip)["version"]
    entry = {"id": "x", "name": "X", "pattern": "xyz-token", "action": "warn", field: value}
    cell = "policies:\n  - " + "\n    ".join(f"{k}: {v}" for k, v in entry.items()) + "\n"
    with pytest.raises(UsageError) as caught:
        _cell(ip, cell)
    lines = str(caught.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith("policy cell") and ": policy #1" in lines[0], lines
    assert message in lines[0]
    assert _in_force(ip)["version"] == before


@pytest.mark.parametrize("cell, message", [
    ("policies: [\n", "invalid YAML"),
    ("- id: x\n", "the top level must be a mapping with a 'policies' list"),
    ("policies:\n  - {id: a, name: A, pattern: x1, action: warn}\n  - {id: a, name: B, pattern: x2, action: warn}\n",
     "policy #2 (id 'a'): id 'a' duplicates policy #1"),
    ("policies:\n  - {id: sys_pii_email, name: Mine, pattern: x1, action: warn}\n",
     "id 'sys_pii_email' is already a system policy id"),
])
def test_file_level_problems_and_conflicting_ids(ip, cell, message):
    with pytest.raises(UsageError) as caught:
        _cell(ip, cell)
    assert message in str(caught.value) and str(caught.value).startswith("policy cell")


def test_several_problems_one_line_each(ip):
    cell = ("policies:\n  - {id: a, name: A, pattern: '(', action: nope}\n"
            "  - {id: b, name: B, pattern: x, action: warn, priority: high}\n")
    with pytest.raises(UsageError) as caught:
        _cell(ip, cell)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3 and [line.split(": policy ")[1][:2] for line in lines] == ["#1", "#1", "#2"]


def test_a_reload_while_calls_are_in_flight(ip, restore):
    """A held call started on the old set finishes; pre-checks answer throughout, each from one whole set."""
    backend = _backend(ip)
    handle = ip.run_cell("%%governed --background --no-raise\nPrepare a wire transfer of 41 EUR.").result
    deadline = __import__("time").time() + 20
    while handle.request_id is None and __import__("time").time() < deadline:
        __import__("time").sleep(0.1)
    assert handle.request_id
    answers, errors = [], []
    stop = threading.Event()

    def hammer():
        with httpx.Client(base_url=backend.url, auth=("notebook", backend.agent.secret), timeout=30) as http:
            while not stop.is_set():
                r = http.post("/api/policy/pre-check", json={"query": "wire transfer now", "client_id": "notebook"})
                (answers if r.status_code == 200 else errors).append(r.json() if r.status_code == 200 else r.text)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    versions = {_in_force(ip)["version"]: "require_approval"}
    try:
        for i in range(6):
            action = "block" if i % 2 == 0 else "require_approval"
            cell = ("policies:\n  - id: fin-wire-transfer\n    name: Wire transfers need a human approval\n"
                    f"    pattern: '(?i)\\bwire\\s+transfers?\\b'\n    action: {action}\n    severity: high\n"
                    "    priority: 500\n    description: Wire transfers need a human approval\n")
            shown = _cell(ip, cell)
            versions[shown.metadata["axonflow"]["policy_version"]] = action
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert errors == [] and len(answers) > 10
    for answer in answers:  # each answer came from one whole set, the one its version names
        held = answer.get("block_reason") == "require_approval"
        assert held == (versions[answer["policy_bundle"]] == "require_approval")
    ip.run_line_magic("axonflow", f"approve {handle.request_id} --comment 'in flight across reloads'")
    result = handle.result(timeout=30)
    assert result.ok and result.approval.status == "approved"


def test_the_real_axonflow_path_through_the_static_policy_api(ip, tmp_path):
    """An AxonFlow configured as an endpoint (not the local agent): the SDK's static-policy API."""
    magics = magics_of(ip)
    remote = start_agent(tmp_path / "remote.db", policies=POLICIES)
    try:
        magics.endpoint = remote.url
        magics.client_id = "policy-author"
        magics.client_secret = remote.test_secret
        preview = _cell(ip, CELL, "--dry-run")
        assert "static-policy API" in preview.plain and preview.metadata["axonflow"]["changed"] == ["hr-salary"]
        assert {p.id for p in remote.state.engine.policies()} >= {"hr-salary"}
        assert "falcon" not in {p.id for p in remote.state.engine.policies()}
        shown = _cell(ip, CELL)
        tenant = {p.id: p for p in remote.state.engine.policies() if p.tier == "tenant"}
        assert tenant["falcon"].action == "redact" and tenant["hr-salary"].action == "block"
        assert "fin-wire-transfer" in tenant  # upserted: the others stay
        assert shown.metadata["axonflow"]["policy_version"] == remote.state.engine.version
        with pytest.raises(UsageError) as caught:  # validated here, with the agent's own lines
            _cell(ip, "policies:\n  - {id: y, name: Y, pattern: '(', action: hold}\n")
        assert len(str(caught.value).splitlines()) == 2
        with pytest.raises(UsageError, match="budgets are put in force by the embedded agent only"):
            _cell(ip, "budgets:\n  - {id: b, name: B, scope: organization, limit_usd: 1, period: daily}\n")
        magics.client_secret = ""
        with pytest.raises(UsageError, match="no client secret is configured; set AXONFLOW_CLIENT_SECRET"):
            _cell(ip, CELL)
    finally:
        magics.endpoint = ""
        magics.client_id = ""
        magics.client_secret = ""
        remote.stop()


def test_an_unreachable_axonflow_is_one_line(ip):
    from axonflow_notebook.testing.ports import free_port

    magics = magics_of(ip)
    try:
        magics.endpoint = f"http://127.0.0.1:{free_port()}"
        magics.client_id = "policy-author"
        magics.call_timeout_seconds = 1
        for run in (lambda: _cell(ip, CELL), lambda: ip.run_line_magic("axonflow", "test hello"),
                    lambda: ip.run_line_magic("axonflow", "explain 00000000-0000-4000-8000-000000000000")):
            with pytest.raises(UsageError) as caught:
                run()
            assert "did not answer" in str(caught.value) and len(str(caught.value).splitlines()) == 1
    finally:
        magics.endpoint = ""
        magics.client_id = ""
        magics.call_timeout_seconds = None
