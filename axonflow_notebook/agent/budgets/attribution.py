"""Who a call is charged to: one value per budget scope, from what a pre-check knows.

AxonFlow's budgets are scoped to an organization, team, agent, workflow or user. A
pre-check carries a client id (authenticated with an auth file, named by the Basic username
otherwise), the trail's user, and a free-form ``context`` object. The mapping:

======================  ==================================================================
scope                   value for a call
======================  ==================================================================
``organization``        ``context.org_id``; every call belongs to the organization
``team``                ``context.team_id``
``agent``               the client id (Basic username; the body's ``client_id`` when the
                        username is empty or ``community``)
``workflow``            ``context.workflow_id``
``user``                ``context.user_id``, else the user the audit trail records
                        (``<client id>@axonflow.local``; ``local-dev@axonflow.local``)
======================  ==================================================================

A budget with a ``scope_id`` covers the calls whose value for its scope equals it; one
without covers every call that has a value for its scope (an organization budget: every
call). Only the client id is authenticated (with ``--auth``); the context's ids are what the
client says, as the trail's own fields are.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

from ..errors import bad_request
from .spec import MAX_SCOPE_ID


class Attribution(NamedTuple):
    """The call's value for each scope, in ``SCOPES`` order ("" when it has none)."""

    organization: str
    team: str
    agent: str
    workflow: str
    user: str


# context key -> index in Attribution
_CONTEXT_KEYS = (("org_id", 0), ("team_id", 1), ("workflow_id", 3), ("user_id", 4))
# BudgetCheckRequest field -> index
CHECK_FIELDS = (("org_id", 0), ("team_id", 1), ("agent_id", 2), ("workflow_id", 3), ("user_id", 4))


def _scope_value(where: str, value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_SCOPE_ID:
        raise bad_request(f"{where} must be a string of at most {MAX_SCOPE_ID} characters")
    return value


def of_pre_check(body: dict, client_id: str, user: str) -> tuple[Attribution, bool]:
    """The call's attribution, and whether its context named any scope itself.

    Raises a 400 ``ApiError`` for a context id that is not a short string.
    """
    context = body.get("context")
    if not context:
        return Attribution("", "", client_id, "", user), False
    values = ["", "", client_id, "", user]
    named = False
    for key, index in _CONTEXT_KEYS:
        value = _scope_value(f"context.{key}", context.get(key))
        if value is not None:
            values[index] = value
            named = True
    return Attribution(*values), named


def of_check_request(body: dict) -> Attribution:
    """The attribution ``POST /api/v1/budgets/check`` asks about (``BudgetCheckRequest``)."""
    values = ["", "", "", "", ""]
    for key, index in CHECK_FIELDS:
        value = _scope_value(key, body.get(key))
        if value is not None:
            values[index] = value
    return Attribution(*values)
