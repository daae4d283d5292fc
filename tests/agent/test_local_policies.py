"""GET / PUT /api/v1/local/policies: the set in force, reloaded live by swapping the engine."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import asdict

import httpx
import pytest

from axonflow_notebook.agent.policy import PolicyEngine

WIRE = """\
policies:
  - id: fin-wire-transfer
    name: Wire transfers need a human approval
    pattern: '(?i)\\bwire\\s+transfer\\b'
    action: require_approval
    severity: high
  - id: proj-codename
    name: Project codenames
    pattern: '(?i)\\bproject\\s+falcon\\b'
    action: redact
"""


@pytest.fixture
def http(agent):
    with httpx.Client(base_url=agent.url, auth=("admin", agent.secret), timeout=30) as client:
        yield client


def _put(http, text: str, source: str = "policies.yaml", **extra) -> httpx.Response:
    return http.put("/api/v1/local/policies", json={"yaml": text, "source": source, **extra})


def test_the_set_in_force_at_start(http):
    data = http.get("/api/v1/local/policies").json()["data"]
    assert re.fullmatch(r"[0-9a-f]{64}", data["version"])
    assert data["source"] == "built-in catalogue"
    assert (data["added"], data["changed"], data["removed"]) == ([], [], [])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", data["loaded_at"])


def test_version_is_sha256_of_the_canonical_effective_set(http):
    data = http.get("/api/v1/local/policies").json()["data"]
    policies = [asdict(p) for p in PolicyEngine.load().policies()]
    canonical = json.dumps(policies, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert data["version"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_reload_adds_changes_and_removes_in_place(agent, http):
    before = http.post("/api/policy/pre-check", json={"query": "wire transfer please", "client_id": "a"}).json()
    assert before["approved"] is True
    added = _put(http, WIRE).json()["data"]
    assert added["added"] == ["fin-wire-transfer", "proj-codename"] and added["source"] == "policies.yaml"
    assert http.get("/api/v1/local/policies").json()["data"] == added
    held = http.post("/api/policy/pre-check", json={"query": "wire transfer please", "client_id": "a"}).json()
    assert held["block_reason"] == "require_approval"

    changed = _put(http, WIRE.replace("action: redact", "action: block")).json()["data"]
    assert (changed["added"], changed["changed"], changed["removed"]) == ([], ["proj-codename"], [])
    assert changed["version"] != added["version"]

    same = _put(http, WIRE.replace("action: redact", "action: block"), source="again").json()["data"]
    assert same["version"] == changed["version"] and (same["added"], same["changed"], same["removed"]) == ([], [], [])

    removed = _put(http, "").json()["data"]
    assert removed["removed"] == ["fin-wire-transfer", "proj-codename"]
    # Same URL, same data: the trail written before the reloads is all there.
    trail = http.post("/api/v1/audit/search", json={"limit": 10}).json()
    assert trail["total"] == 2
    assert agent.url == str(http.base_url).rstrip("/")


def test_dry_run_changes_nothing(http):
    before = http.get("/api/v1/local/policies").json()["data"]
    preview = _put(http, WIRE, dry_run=True).json()["data"]
    assert preview["added"] == ["fin-wire-transfer", "proj-codename"] and preview["version"] != before["version"]
    assert http.get("/api/v1/local/policies").json()["data"] == before
    answer = http.post("/api/policy/pre-check", json={"query": "wire transfer please", "client_id": "a"}).json()
    assert answer["approved"] is True and answer["policies"] == []
    static = http.get("/api/v1/static-policies", params={"search": "fin-wire"}).json()
    assert static["policies"] == []


BAD = """\
policies:
  - id: one
    name: First
    pattern: 'ok'
    action: hold
  - id: two
    name: Second
    pattern: '(unclosed'
    action: warn
    priority: high
  - id: sys_pii_ssn
    name: Third
    pattern: 'x'
    action: warn
    colour: red
  - id: one
    name: Fourth
    pattern: 'y'
    action: warn
    enabled: maybe
"""


def test_invalid_policies_are_one_line_per_problem_and_change_nothing(http):
    before = http.get("/api/v1/local/policies").json()["data"]
    response = _put(http, BAD, source="draft.yaml")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    lines = body["error"].splitlines()
    assert all(line.startswith("draft.yaml: policy #") for line in lines), lines
    expected = [
        "policy #1 (id 'one'): action must be one of",
        "policy #2 (id 'two'): pattern '(unclosed' is not a valid RE2 regular expression",
        "policy #2 (id 'two'): priority must be an integer, not 'high'",
        "policy #3 (id 'sys_pii_ssn'): colour is not a known field",
        "policy #4 (id 'one'): enabled must be true or false, not 'maybe'",
    ]
    for fragment in expected:
        assert sum(fragment in line for line in lines) == 1, (fragment, lines)
    assert len(lines) == len(expected)
    assert http.get("/api/v1/local/policies").json()["data"] == before


@pytest.mark.parametrize(
    "text, message",
    [
        ("policies: [\n", "draft.yaml: line 2, column 1: invalid YAML"),
        ("rules: []\n", "draft.yaml: the top level must be a mapping with a 'policies' list"),
        ("policies:\n  - id: sys_pii_ssn\n    name: n\n    pattern: x\n    action: warn\n",
         "draft.yaml: policy #1 (id 'sys_pii_ssn'): id 'sys_pii_ssn' is already a system policy id"),
        ("policies:\n  - id: a\n    name: n\n    pattern: x\n    action: warn\n"
         "  - id: a\n    name: m\n    pattern: y\n    action: warn\n",
         "draft.yaml: policy #2 (id 'a'): id 'a' duplicates policy #1"),
    ],
)
def test_file_level_problems(http, text, message):
    response = _put(http, text, source="draft.yaml")
    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"source": "x"}, "yaml field is required"),
        ({"yaml": 3}, "yaml field is required"),
        ({"yaml": "", "source": ""}, "source must be a non-empty label"),
        ({"yaml": "", "dry_run": "yes"}, "dry_run must be true or false"),
        ({"yaml": "", "path": "/etc/passwd"}, "unknown field(s): path"),
    ],
)
def test_bad_reload_bodies(http, body, message):
    response = http.put("/api/v1/local/policies", json=body)
    assert response.status_code == 400 and message in response.json()["error"]


def test_reload_while_pre_checks_run_concurrently(agent, http):
    stop = threading.Event()
    failures: list[str] = []
    answers: list[dict] = []

    def hammer() -> None:
        with httpx.Client(base_url=agent.url, auth=("a", agent.secret), timeout=30) as client:
            while not stop.is_set():
                response = client.post("/api/policy/pre-check",
                                       json={"query": "wire transfer for project falcon", "client_id": "a"})
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    answers.append(response.json())

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        versions = set()
        for round_ in range(10):
            text = WIRE if round_ % 2 == 0 else ""
            response = _put(http, text)
            assert response.status_code == 200, response.text
            versions.add(response.json()["data"]["version"])
            # A few answers under each set, however slow the machine (not a fixed time's worth).
            target, deadline = len(answers) + 3, time.monotonic() + 10
            while len(answers) < target and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    assert failures == []
    assert len(versions) == 2 and len(answers) > 20
    # Every answer came from one whole set or the other, never from a mix.
    assert {tuple(a["policies"]) for a in answers} <= {(), ("fin-wire-transfer", "proj-codename")}
