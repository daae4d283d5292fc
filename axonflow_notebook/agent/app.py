"""The agent as one ASGI app: the access check in front, the pre-check fast path, the routes.

``AgentApp`` sees every request first. It records activity (for the idle exit of a local
agent), checks credentials once for every route but ``GET /health`` (so a request without
the secret changes nothing, whatever route it names), answers ``POST /api/policy/pre-check``
itself without Starlette's request/response/routing layers (the one route on every governed
call's critical path), and hands everything else to the Starlette app.
"""

from __future__ import annotations

import time

from starlette.applications import Starlette

from .errors import ApiError
from . import lab
from .plumbing import IDENTITY_KEY, exception_handlers, read_body, send_json
from .routes import (
    audit_trail, audit_verification, gateway, health, hitl_queue, local_policies, policy_lab,
    static_policies, static_policy_writes,
)
from .routes import budgets as budget_routes
from .routes import usage as usage_routes
from .state import AgentState

PRE_CHECK_PATH = gateway.PRE_CHECK_PATH
_INTERNAL_ERROR = {"success": False, "error": "internal error"}


class AgentApp:
    """ASGI entry point of the agent (see the module docstring)."""

    def __init__(self, app: Starlette, state: AgentState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        state.in_flight += 1
        try:
            await self._serve(scope, receive, send)
        finally:
            state.in_flight -= 1
            state.last_activity = time.monotonic()

    async def _serve(self, scope, receive, send) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/health" and method == "GET":
            await self.app(scope, receive, send)
            return
        authorization = b""
        declared = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                declared = value
        try:
            caller = self.state.auth.identify(authorization)
        except ApiError as exc:
            await send_json(send, exc.status, exc.body())
            return
        if path != PRE_CHECK_PATH or method != "POST":
            scope[IDENTITY_KEY] = caller
            await self.app(scope, receive, send)
            return
        headers: tuple = ()
        try:
            raw = await read_body(receive, declared.decode("latin-1") if declared is not None else None)
            if raw is None:  # the client went away
                return
            status = 200
            payload, headers = await gateway.answer_pre_check(self.state, caller, raw)
        except ApiError as exc:
            status, payload = exc.status, exc.body()
        except Exception:  # never a traceback on the wire; same body as the app's 500
            status, payload = 500, _INTERNAL_ERROR
        await send_json(send, status, payload, headers)


def build_app(engine, store, auth, source=None, budgets=None) -> AgentApp:
    """The agent as an ASGI app; ``engine``, ``store`` and ``auth`` are already loaded.

    ``source`` names where the policy set came from (a file path), for the local routes.
    ``budgets`` is the ``BudgetLedger`` on the same database (one with no budget but the
    ones created later through the API when not given; its owner closes it).
    """
    routes = [
        *health.ROUTES,
        *gateway.ROUTES,
        *audit_trail.ROUTES,
        *hitl_queue.ROUTES,
        *policy_lab.ROUTES,  # before static_policies: /static-policies/test is not an id
        *static_policy_writes.ROUTES,  # likewise /static-policies/effective
        *static_policies.ROUTES,
        *local_policies.ROUTES,
        *budget_routes.ROUTES,
        *usage_routes.ROUTES,
        *audit_verification.ROUTES,
    ]
    app = Starlette(routes=routes, exception_handlers=exception_handlers())
    if budgets is None:
        from .budgets.ledger import BudgetLedger

        budgets = BudgetLedger.open(store.path)
    state = AgentState(engine, store, auth, source, budgets=budgets)
    lab.install(state, source)
    app.state.agent = state
    return AgentApp(app, state)
