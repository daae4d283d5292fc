"""The agent's error envelopes, as the wire-protocol reference names them (§1.4).

Handlers raise :class:`ApiError`; one exception handler turns it into JSON, so no route
can answer an error in a shape the SDK does not expect.
"""

from __future__ import annotations

GATEWAY = "gateway"  # {"success": false, "error": "<message>"} — pre-check, audit, HITL
MIDDLEWARE = "middleware"  # {"error": {"code": <status>, "message": "<message>"}} — auth, static policies
ROUTER = "router"  # {"error": "not_found", "error_description": "..."} — 404 / 405


class ApiError(Exception):
    """An HTTP error with its status, message and envelope kind."""

    def __init__(self, status: int, message: str, envelope: str = GATEWAY, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.envelope = envelope
        self.code = code

    def body(self) -> dict:
        if self.envelope == MIDDLEWARE:
            body: dict = {"error": {"code": self.status, "message": self.message}}
        elif self.envelope == ROUTER:
            body = {"error": self.code or "error", "error_description": self.message}
        else:
            body = {"success": False, "error": self.message}
        if self.status in (402, 403):
            # The SDK reads a top-level `message` (or `block_reason`) on 402/403 to build
            # its typed error; without it the reason would be lost on the client side.
            body["message"] = self.message
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def not_found_route(path: str) -> ApiError:
    return ApiError(
        404,
        f"No such endpoint on the AxonFlow agent: {path}",
        ROUTER,
        "not_found",
    )


def method_not_allowed(method: str, path: str) -> ApiError:
    return ApiError(
        405,
        f"Method {method} is not allowed on {path}",
        ROUTER,
        "method_not_allowed",
    )
