"""Live policy reload is the embedded agent's route: elsewhere the console says so in one line."""

from __future__ import annotations

import pytest

from axonflow_notebook.core.config import AxonFlowLoggerConfig
from axonflow_notebook.core.review import GovernanceConsole, RouteUnavailable


async def test_reload_where_axonflow_has_no_such_route(fault_endpoint):
    url = fault_endpoint("http_404")
    console = GovernanceConsole(AxonFlowLoggerConfig(endpoint=url, client_id="reviewer", client_secret="x"))
    try:
        with pytest.raises(RouteUnavailable) as info:
            await console.reload_policies("policies: []", "a cell")
    finally:
        await console.aclose()
    message = str(info.value)
    assert url in message and "does not offer live policy reload" in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


async def test_reload_errors_other_than_a_missing_route_pass_through(fault_endpoint):
    from axonflow.exceptions import AuthenticationError

    console = GovernanceConsole(AxonFlowLoggerConfig(endpoint=fault_endpoint("http_401"), client_id="r",
                                                     client_secret="wrong"))
    try:
        with pytest.raises(AuthenticationError):
            await console.reload_policies("policies: []", "a cell")
    finally:
        await console.aclose()
