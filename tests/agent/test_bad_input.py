"""Hostile and malformed input: always a 4xx JSON error or a correct answer, never a 500."""

from __future__ import annotations

import json
import sqlite3
import time

import httpx
import pytest

POST_ROUTES = [
    "/api/policy/pre-check",
    "/api/audit/llm-call",
    "/api/v1/hitl/queue",
    "/api/v1/audit/search",
]


@pytest.fixture
def http(agent):
    with httpx.Client(base_url=agent.url, auth=("analyst", agent.secret), timeout=30) as client:
        yield client


def _json_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2, 3]", b'"a string"', b"\xff\xfe\x00", b"[" * 100_000])
def test_malformed_bodies_are_400(http, route, body):
    response = http.post(route, content=body, headers={"content-type": "application/json"})
    payload = _json_error(response, 400)
    assert payload["success"] is False


@pytest.mark.parametrize(
    "route, body, message",
    [
        ("/api/policy/pre-check", {"client_id": "a"}, "query field is required"),
        ("/api/policy/pre-check", {"query": 42, "client_id": "a"}, "query field is required"),
        ("/api/policy/pre-check", {"query": "hi"}, "client_id field is required"),
        ("/api/policy/pre-check", {"query": "hi", "client_id": ["a"]}, "client_id field is required"),
        ("/api/policy/pre-check", {"query": "hi", "client_id": "a", "data_sources": "crm"},
         "data_sources must be an array of strings"),
        ("/api/policy/pre-check", {"query": "hi", "client_id": "a", "data_sources": [1]},
         "data_sources must be an array of strings"),
        ("/api/policy/pre-check", {"query": "hi", "client_id": "a", "context": ["x"]}, "context must be an object"),
        ("/api/policy/pre-check", {"query": "hi", "client_id": "a", "user_token": 7}, "user_token must be a string"),
        ("/api/audit/llm-call", {"client_id": "a", "provider": "openai", "model": "m"}, "context_id field is required"),
        ("/api/audit/llm-call", {"context_id": "c", "client_id": "a", "model": "m"}, "provider field is required"),
        ("/api/audit/llm-call", {"context_id": "c", "provider": "openai", "model": "m",
                                 "token_usage": {}}, "client_id field is required"),
        ("/api/audit/llm-call", {"context_id": "c", "client_id": "a", "provider": "openai", "model": "m"},
         "token_usage field is required"),
        ("/api/v1/hitl/queue", {"client_id": "a"}, "original_query is required"),
        ("/api/v1/audit/search", {"limit": "ten"}, "limit must be an integer"),
        ("/api/v1/audit/search", {"start_time": "yesterday"}, "start_time must be an ISO 8601 time"),
        ("/api/v1/audit/search", {"client_id": 7}, "client_id must be a string"),
    ],
)
def test_missing_and_mistyped_fields_are_400(http, route, body, message):
    payload = _json_error(http.post(route, json=body), 400)
    assert message in payload["error"]


def test_pre_check_optional_fields_may_be_null_or_absent(http):
    for extra in ({}, {"data_sources": None, "context": None, "user_token": None},
                  {"data_sources": ["crm"], "context": {"k": 1}, "user_token": "anonymous"}):
        response = http.post("/api/policy/pre-check", json={"query": "hi", "client_id": "a", **extra})
        assert response.status_code == 200, response.text


def test_audit_search_needs_a_body(http):
    payload = _json_error(http.post("/api/v1/audit/search"), 400)
    assert payload["error"] == "Invalid request body"
    assert http.post("/api/v1/audit/search", json={}).status_code == 200


def test_mistyped_audit_fields_are_400(http):
    ctx = http.post("/api/policy/pre-check", json={"query": "hi", "client_id": "a"}).json()
    base = {"context_id": ctx["context_id"], "client_id": "a", "provider": "openai", "model": "m",
            "token_usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    for extra in ({"token_usage": "lots"}, {"latency_ms": "fast"}, {"latency_ms": float("inf")},
                  {"token_usage": {"prompt_tokens": "1"}}, {"metadata": [1]}, {"response_summary": 5}):
        body = json.dumps({**base, **extra}, allow_nan=True)
        _json_error(http.post("/api/audit/llm-call", content=body), 400)
    # Negative and huge numbers are clamped, not trusted and not a crash.
    ok = http.post("/api/audit/llm-call", json={**base, "latency_ms": -5,
                                                "token_usage": {"total_tokens": 10**40}})
    assert ok.status_code == 200 and ok.json()["success"] is True


def test_mistyped_hitl_fields_are_400(http):
    base = {"client_id": "a", "original_query": "q", "request_type": "t", "triggered_policy_id": "p",
            "triggered_policy_name": "p", "trigger_reason": "r"}
    for extra in ({"expires_in_seconds": "soon"}, {"request_context": "ctx"}, {"severity": 3},
                  {"notify_url": "ftp://x"}, {"original_query": {"a": 1}}):
        _json_error(http.post("/api/v1/hitl/queue", json={**base, **extra}), 400)


def test_five_megabyte_query_is_answered(http):
    query = ("lorem ipsum dolor sit amet " * 200_000)[:5_000_000]
    started = time.monotonic()
    response = http.post("/api/policy/pre-check", json={"query": query, "client_id": "a"})
    assert response.status_code == 200
    assert response.json()["approved"] is True
    assert time.monotonic() - started < 10


def test_oversized_body_is_413(http):
    body = json.dumps({"query": "x" * (9 * 1024 * 1024), "client_id": "a"})
    payload = _json_error(http.post("/api/policy/pre-check", content=body), 413)
    assert "too large" in payload["error"]


@pytest.mark.parametrize(
    "query",
    ["nul\x00byte inside", "emoji 🧪🔥 and RTL שלום and combining é", "\u202eright-to-left override",
     "zero\u200bwidth", "\ufeffbom first", "tab\tand\r\nnewlines"],
)
def test_odd_unicode_is_answered_and_stored(http, query):
    response = http.post("/api/policy/pre-check", json={"query": query, "client_id": "u"})
    assert response.status_code == 200
    entries = http.post("/api/v1/audit/search", json={"limit": 1}).json()["entries"]
    assert entries[0]["query"] == query[:200]


def test_lone_surrogate_is_400(http):
    body = b'{"query": "bad \\ud800 surrogate", "client_id": "a"}'
    payload = _json_error(http.post("/api/policy/pre-check", content=body), 400)
    assert "surrogate" in payload["error"]


@pytest.mark.parametrize(
    "query",
    ["limit=1000000000000000000000000&offset=-3", "limit=-1&offset=1000000000000000000000000",
     "limit=0", "status=pending,approved&severity=low,high"],
)
def test_absurd_hitl_paging_is_answered(http, query):
    response = http.get(f"/api/v1/hitl/queue?{query}")
    assert response.status_code == 200
    assert response.json()["success"] is True


@pytest.mark.parametrize("query", ["limit=abc", "status=bogus", "severity=urgent"])
def test_bad_hitl_list_parameters_are_400(http, query):
    _json_error(http.get(f"/api/v1/hitl/queue?{query}"), 400)


@pytest.mark.parametrize("body", [{"limit": 10**30, "offset": 10**30}, {"limit": -7, "offset": -1}, {"limit": 0}])
def test_absurd_audit_paging_is_answered(http, body):
    response = http.post("/api/v1/audit/search", json=body)
    assert response.status_code == 200
    assert 1 <= response.json()["limit"] <= 1000


@pytest.mark.parametrize("query", ["page=1000000000000000000000&page_size=-4", "limit=99999999999999999999999&offset=-1", "enabled=maybe"])
def test_absurd_static_policy_paging_is_answered(http, query):
    response = http.get(f"/api/v1/static-policies?{query}")
    assert response.status_code == 200
    assert "pagination" in response.json()


def test_wrong_method_is_json_405(http):
    payload = _json_error(http.delete("/api/v1/hitl/queue"), 405)
    assert payload["error"] == "method_not_allowed"


def test_store_is_intact_after_abuse(agent, http):
    for body in (b"{", b"[" * 10_000, json.dumps({"query": "\x00" * 1000, "client_id": "z"}).encode()):
        http.post("/api/policy/pre-check", content=body)
    ok = http.post("/api/policy/pre-check", json={"query": "after the storm", "client_id": "z"})
    assert ok.status_code == 200
    entries = http.post("/api/v1/audit/search", json={"limit": 1}).json()["entries"]
    assert entries[0]["query"] == "after the storm"
    check = sqlite3.connect(agent.db_path)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        check.close()


def test_a_huge_hostile_query_does_not_stall_other_requests(agent):
    import threading

    query = ("call 555-123-4567, mail a@b.com, SSN 123-45-6789; " * 40_000)[:2_000_000]
    done = {}

    def big() -> None:
        with httpx.Client(base_url=agent.url, auth=("a", agent.secret), timeout=120) as client:
            done["status"] = client.post("/api/policy/pre-check", json={"query": query, "client_id": "a"}).status_code

    thread = threading.Thread(target=big)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    with httpx.Client(base_url=agent.url, auth=("b", agent.secret), timeout=30) as client:
        assert client.get("/health").status_code == 200
        small = client.post("/api/policy/pre-check", json={"query": "hello", "client_id": "b"})
    assert small.status_code == 200
    assert time.monotonic() - started < 3
    thread.join(120)
    assert done["status"] == 200
