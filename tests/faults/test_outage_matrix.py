"""The outage matrix: what every governed path does when AxonFlow misbehaves.

Each row of `MATRIX` is one fault (served for real over a loopback socket by
`faulty_agent.FaultyAgent`, or a port nobody listens on), one call path, and
one `fail_open` setting, with the outcome the seed specifies:

- an outage (stopped, slow, 500, 503, malformed JSON, reset mid-response):
  fail-open proceeds and emits `GovernanceSkipped(reason)`; fail-closed raises
  `PolicyDeniedError` and the LLM sees ZERO requests;
- a definitive rejection by a healthy platform (401, 403) fails closed
  whatever `fail_open` says, and the LLM sees zero requests;
- callback mode (`litellm.callbacks = [logger]`) audits only: it never blocks,
  so the LLM always sees its one request, and a skipped pre-check is reported.

| fault          | skip reason   | governed paths, fail_open=True | fail_open=False | callback mode |
|----------------|---------------|--------------------------------|-----------------|---------------|
| stopped        | unreachable   | proceed, skipped               | denied, 0 LLM   | proceed       |
| slow (> 0.3 s) | timeout       | proceed, skipped               | denied, 0 LLM   | proceed       |
| http_500       | server_error  | proceed, skipped               | denied, 0 LLM   | proceed       |
| http_503       | server_error  | proceed, skipped               | denied, 0 LLM   | proceed       |
| malformed_json | bad_response  | proceed, skipped               | denied, 0 LLM   | proceed       |
| reset          | unreachable   | proceed, skipped               | denied, 0 LLM   | proceed       |
| http_401       | —             | denied, 0 LLM                  | denied, 0 LLM   | proceed       |
| http_403       | —             | denied, 0 LLM                  | denied, 0 LLM   | proceed       |

"Governed paths" are sync `logger.completion`, async `logger.acompletion`
and a `%%governed` cell (whose output must then say "governance skipped").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, List, Optional

import pytest

from axonflow_notebook.core.errors import PolicyDeniedError
from axonflow_notebook.core.events import AuditRecorded, GovernanceSkipped

TIMEOUT = 0.3  # call_timeout_seconds; the "slow" agent answers after 2 s

SKIP_REASON = {
    "stopped": "unreachable",
    "slow": "timeout",
    "http_500": "server_error",
    "http_503": "server_error",
    "malformed_json": "bad_response",
    "reset": "unreachable",  # httpx.RemoteProtocolError: the transport broke, not the payload
    "http_401": None,
    "http_403": None,
}
PATHS = ("sync", "async", "callback", "governed_cell")


@dataclass(frozen=True)
class Case:
    fault: str
    path: str
    fail_open: bool
    expect: str  # "proceed" | "denied"

    @property
    def id(self) -> str:
        return f"{self.fault}-{self.path}-{'open' if self.fail_open else 'closed'}-{self.expect}"

    @property
    def skip_reason(self) -> Optional[str]:
        return SKIP_REASON[self.fault]


def _expect(fault: str, path: str, fail_open: bool) -> str:
    if path == "callback":
        return "proceed"  # audit-only mode never blocks
    if SKIP_REASON[fault] is None:
        return "denied"  # 401/403: fail closed whatever fail_open says
    return "proceed" if fail_open else "denied"


MATRIX: List[Case] = [
    Case(fault, path, fail_open, _expect(fault, path, fail_open))
    for fault in SKIP_REASON
    for path in PATHS
    for fail_open in (True, False)
]


def _config(endpoint: str, fail_open: bool) -> Any:
    from axonflow_notebook.core.config import AxonFlowLoggerConfig

    # High threshold: every row starts with a closed breaker and the fault alone decides.
    return AxonFlowLoggerConfig(endpoint=endpoint, client_id="outage-matrix", fail_open=fail_open,
                                call_timeout_seconds=TIMEOUT, breaker_failure_threshold=1000)


def _messages() -> list:
    return [{"role": "user", "content": "Summarise our quarterly numbers."}]


def _run_core(case: Case, endpoint: str, llm: Any) -> tuple:
    """(error or None, events) for the sync, async and callback paths."""
    import litellm
    from IPython.core.async_helpers import get_asyncio_loop

    from axonflow_notebook.core.logger import AxonFlowLogger

    loop = get_asyncio_loop()  # one persistent loop, as IPython itself uses
    logger = AxonFlowLogger(_config(endpoint, case.fail_open))
    events: list = []
    logger.subscribe(events.append)
    kwargs = {**llm.litellm_kwargs(), "messages": _messages()}
    error: Optional[BaseException] = None
    try:
        if case.path == "sync":
            logger.completion(**kwargs)
        elif case.path == "async":
            loop.run_until_complete(logger.acompletion(**kwargs))
        else:
            litellm.callbacks = [logger]
            loop.run_until_complete(litellm.acompletion(**kwargs))
            _wait_for(lambda: any(isinstance(e, AuditRecorded) for e in events), loop)
    except Exception as exc:
        error = exc
    finally:
        loop.run_until_complete(logger.aclose())
    return error, events


def _wait_for(predicate: Any, loop: Any, timeout: float = 5.0) -> None:
    """LiteLLM runs success callbacks in background tasks: let them finish."""
    import asyncio

    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        loop.run_until_complete(asyncio.sleep(0.02))


def _run_cell(case: Case, endpoint: str, shell: Any, monkeypatch: Any) -> tuple:
    """(error or None, events, rendered text) for a `%%governed` cell."""
    magics = shell.magics_manager.registry["GovernedMagics"]
    monkeypatch.setenv("AXONFLOW_ENDPOINT", endpoint)
    magics.runtime.close()  # the next cell connects to this row's endpoint
    magics.call_timeout_seconds = TIMEOUT
    magics.fail_open = case.fail_open
    sent: list = []
    original = shell.display_pub.publish

    def publish(data, metadata=None, *args, **kwargs):
        sent.append(data)
        return original(data, metadata, *args, **kwargs)

    monkeypatch.setattr(shell.display_pub, "publish", publish)
    shell.user_ns.pop("_governed", None)
    try:
        out = shell.run_cell("%%governed --model openai/test-model --format text\n"
                             "Summarise our quarterly numbers.")
    finally:
        monkeypatch.setattr(shell.display_pub, "publish", original)
        magics.runtime.close()
    result = shell.user_ns["_governed"]
    if case.expect == "denied":
        assert out.error_in_exec is not None, "the cell must stop when the call is refused"
    else:
        assert out.error_in_exec is None, out.error_in_exec
    rendered = "\n".join(str(value) for bundle in sent for value in bundle.values())
    return result.error, list(result.events), rendered


@pytest.mark.parametrize("case", MATRIX, ids=[c.id for c in MATRIX])
def test_outage(case: Case, fault_endpoint, llm, callbacks, request, monkeypatch) -> None:
    endpoint = fault_endpoint(case.fault)
    if case.path == "governed_cell":
        shell = request.getfixturevalue("shell")
        error, events, rendered = _run_cell(case, endpoint, shell, monkeypatch)
    else:
        error, events = _run_core(case, endpoint, llm)
        rendered = None
    skipped = [e for e in events if isinstance(e, GovernanceSkipped) and e.stage == "pre_check"]

    if case.expect == "denied":
        assert isinstance(error, PolicyDeniedError), error
        assert llm.count == 0, "a fail-closed call must never reach the LLM"
        if case.skip_reason:  # the message names the cause, chained from the transport error
            assert case.skip_reason in str(error)
            assert error.__cause__ is not None
            assert [e.reason for e in skipped] == [case.skip_reason], events
        else:
            assert "rejected" in str(error)
        return

    assert error is None, error
    assert llm.count == 1
    if case.skip_reason is None:  # callback mode under 401/403: audited as not delivered
        assert not skipped
        assert any(isinstance(e, AuditRecorded) and not e.delivered for e in events)
        return
    assert [e.reason for e in skipped] == [case.skip_reason], events
    if rendered is not None:
        assert "governance skipped" in rendered.lower(), rendered[:2000]


def test_fail_closed_cell_does_not_claim_fail_open(shell, fault_endpoint, llm, monkeypatch) -> None:
    case = Case("http_503", "governed_cell", False, "denied")
    _, _, rendered = _run_cell(case, fault_endpoint(case.fault), shell, monkeypatch)
    assert "fail-open" not in rendered.lower()
