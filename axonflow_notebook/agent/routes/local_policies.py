"""Local extension routes (not part of AxonFlow's API): the policy set in force, reloaded live.

``PUT /api/v1/local/policies`` with ``{"yaml": "<policy file text>", "source": "<label>",
"dry_run": false}`` validates the text exactly as a policy file is validated (one line per
problem, each led by the label) and, unless ``dry_run``, swaps the engine in place: same
URL, same store, calls in flight unaffected. ``GET`` answers the same ``data`` for the set
in force. At start ``added``/``changed``/``removed`` are empty: nothing changed yet.

With ``"merge": true`` the text's policies (and budgets) are upserted by id into the set in
force instead of replacing it (``policy_merge.py``): what a notebook's policy cell sends.
"""

from __future__ import annotations

from starlette.routing import Route

from ..errors import ApiError, bad_request
from ..lab import prompt_gil_handoff
from ..plumbing import json_response, request_json
from ..policy import PolicyFileError
from ..policy_merge import merge_policies
from ..state import PolicySetChanged

MAX_SOURCE_CHARS = 1000


async def get_policies(request):
    return json_response({"success": True, "data": request.app.state.agent.policy_load.to_json()})


def _reload_input(body: dict) -> tuple[str, str, bool, bool]:
    unknown = sorted(set(body) - {"yaml", "source", "dry_run", "merge"})
    if unknown:
        raise bad_request(f"unknown field(s): {', '.join(unknown)} (expected yaml, source, dry_run, merge)")
    text = body.get("yaml")
    if not isinstance(text, str):
        raise bad_request("yaml field is required: the text of a policy file (\"\" for none)")
    source = body.get("source", "api")
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE_CHARS:
        raise bad_request(f"source must be a non-empty label of at most {MAX_SOURCE_CHARS} characters")
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise bad_request("dry_run must be true or false")
    merge = body.get("merge", False)
    if not isinstance(merge, bool):
        raise bad_request("merge must be true or false")
    return text, source, dry_run, merge


async def put_policies(request):
    text, source, dry_run, merge = _reload_input(await request_json(request))
    state = request.app.state.agent
    try:
        with prompt_gil_handoff():  # pre-checks keep answering promptly while it builds
            if merge:
                load = await merge_policies(state, text, source, dry_run)
            else:
                load = await state.reload_policies(text, source, dry_run)
    except PolicyFileError as exc:
        raise bad_request(str(exc)) from None
    except PolicySetChanged:
        raise ApiError(409, "the policy set kept changing while these policies were merged; try again") from None
    return json_response({"success": True, "data": load.to_json()})


ROUTES = [
    Route("/api/v1/local/policies", get_policies, methods=["GET"]),
    Route("/api/v1/local/policies", put_policies, methods=["PUT"]),
]
