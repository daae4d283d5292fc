"""``GET /health``: the one route open without credentials (AxonFlow's ``HealthResponse``)."""

from __future__ import annotations

from starlette.routing import Route

from .. import timestamps
from ..plumbing import json_response

AGENT_VERSION = "9.5.0"


async def health(request):
    auth = request.app.state.agent.auth
    return json_response({
        "status": "healthy",
        "service": "axonflow-agent",
        "tier": "community",
        "mode": "authenticated" if auth.enforced else "local",
        "timestamp": timestamps.now(),
        "version": AGENT_VERSION,
        "capabilities": [],
        "sdk_compatibility": {"min_sdk_version": {}, "recommended_sdk_version": {}},
    })


ROUTES = [Route("/health", health, methods=["GET"])]
