"""HTTP plumbing every route shares: one body reader, JSON parsing, error envelopes, identity.

Routes raise :class:`~.errors.ApiError`; the handlers here turn every error into the JSON
envelope AxonFlow uses for it, so no route can answer in a shape the SDK does not expect.
"""

from __future__ import annotations

import json
import re
from typing import Any, Awaitable, Callable, Optional

from .auth import Identity
from .errors import ApiError, bad_request, method_not_allowed, not_found_route

MAX_BODY_BYTES = 8 * 1024 * 1024
IDENTITY_KEY = "axonflow.identity"  # set in the ASGI scope by the access check (app.py)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def too_large() -> ApiError:
    return ApiError(413, f"Request body too large (max {MAX_BODY_BYTES} bytes)")


def check_length(declared) -> None:
    """400 for a Content-Length that is not a number, 413 for one past the cap."""
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        raise bad_request("Invalid Content-Length") from None
    if size > MAX_BODY_BYTES:
        raise too_large()


async def read_body(receive: Callable[[], Awaitable[dict]], declared=None) -> Optional[bytes]:
    """The whole request body from an ASGI ``receive``; None if the client went away.

    The one body reader of the agent: the pre-check fast path and every Starlette route
    read through it, so the size cap is enforced in one place.
    """
    check_length(declared)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise too_large()
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def parse_json_object(raw: bytes, allow_empty: bool = False) -> dict:
    """A request body as a JSON object; 400 for anything else."""
    if not raw.strip():
        if allow_empty:
            return {}
        raise bad_request("Invalid request body")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request("Invalid request body") from None
    if not isinstance(body, dict):
        raise bad_request("Invalid request body: expected a JSON object")
    # JSON may escape lone surrogates, which no UTF-8 consumer (regex engine, SQLite) takes.
    if _SURROGATE_ESCAPE.search(raw):
        try:
            lone = _has_lone_surrogate(body)
        except RecursionError:
            raise bad_request("Invalid request body: nested too deeply") from None
        if lone:
            raise bad_request("Invalid request body: string contains a lone UTF-16 surrogate")
    return body


async def request_json(request, allow_empty: bool = False) -> dict:
    """A Starlette request's body as a JSON object (413 past the cap, 400 otherwise)."""
    raw = await read_body(request.receive, request.headers.get("content-length"))
    if raw is None:
        raise bad_request("Invalid request body: the client closed the connection")
    return parse_json_object(raw, allow_empty)


def identity(request) -> Identity:
    """Who is calling, as the access check in front of every route established it."""
    return request.scope[IDENTITY_KEY]


def required_text(body: dict, field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise bad_request(f"{field} field is required")
    return value


def encode_json(payload: Any) -> bytes:
    return _ENCODER.encode(payload).encode("utf-8")


async def send_json(send, status: int, payload: Any, headers: tuple = ()) -> None:
    """Answer from raw ASGI (the fast path and the access check) without Starlette."""
    body = encode_json(payload)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode("ascii")),
            *headers,
        ],
    })
    await send({"type": "http.response.body", "body": body})


def json_response(payload: Any, status: int = 200, headers: Optional[dict] = None):
    from starlette.responses import JSONResponse

    return JSONResponse(payload, status_code=status, headers=headers)


async def _api_error(request, exc: ApiError):
    return json_response(exc.body(), exc.status)


async def _http_error(request, exc):
    if exc.status_code == 404:
        err = not_found_route(request.url.path[:200])
    elif exc.status_code == 405:
        err = method_not_allowed(request.method, request.url.path[:200])
    else:
        err = ApiError(exc.status_code, str(exc.detail))
    response = json_response(err.body(), err.status)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _server_error(request, exc: Exception):
    return json_response({"success": False, "error": "internal error"}, 500)


def exception_handlers() -> dict:
    from starlette.exceptions import HTTPException

    return {ApiError: _api_error, HTTPException: _http_error, Exception: _server_error}
