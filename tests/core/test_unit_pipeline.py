"""Branches of the pipeline with an injected (fake) AxonFlow client."""

from __future__ import annotations

import asyncio

import pytest

from axonflow_notebook import ApprovalRejected, ApprovalTimeout, PolicyDeniedError
from axonflow_notebook.core import events as ev

from core_fakes import HitlRow, PreCheck


async def test_allow_calls_llm_and_audits(make_logger, fake, call, llm):
    logger = make_logger()
    seen = []
    response = await logger.acompletion(on_event=seen.append, **call("summarise this"))
    assert response.choices[0].message.content == llm.reply
    assert llm.count == 1
    assert await logger.aflush()
    assert fake.pre_checks[0]["query"] == "summarise this"
    assert fake.pre_checks[0]["user_token"] == "anonymous"
    assert len(fake.audits) == 1
    audit = fake.audits[0]
    assert audit["context_id"] == "ctx-1" and audit["provider"] == "openai"
    assert audit["model"] == "openai/test-model" and audit["token_usage"].total_tokens > 0
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["DecisionMade", "CompletionFinished", "AuditRecorded"]
    assert len({e.call_id for e in seen}) == 1
    assert seen[-1].audit_id == "audit-1"


async def test_denial_raises_with_reason_and_policies(make_logger, fake, call, llm):
    fake.pre = PreCheck(approved=False, policies=["p1"], block_reason="no wire transfers")
    with pytest.raises(PolicyDeniedError) as info:
        await make_logger().acompletion(**call())
    assert info.value.reason == "no wire transfers" and info.value.policies == ["p1"]
    assert llm.count == 0 and fake.audits == []


async def test_denial_without_reason(make_logger, fake, call):
    fake.pre = PreCheck(approved=False, policies=[], block_reason=None)
    with pytest.raises(PolicyDeniedError, match="denied by policy"):
        await make_logger().acompletion(**call())


async def test_context_user_token_and_tenant(make_logger, fake, call):
    logger = make_logger(tenant_id="t-1", extra_context={"team": "risk"})
    await logger.acompletion(user_token="jwt-abc", **call())
    from axonflow_notebook.core.call_origin import CallOrigin, current_origin
    from axonflow_notebook.core.user_label import user_label

    # the configured context, and where the call comes from (core/call_origin.py): the script (or
    # notebook) and the user token's subject
    origin = CallOrigin(workflow_id=current_origin().workflow_id, user_id=user_label("jwt-abc"))
    assert fake.pre_checks[0]["context"] == {"team": "risk", "tenant_id": "t-1", **origin.context()}
    assert fake.pre_checks[0]["context"]["user_id"] == user_label("jwt-abc")
    assert fake.pre_checks[0]["user_token"] == "jwt-abc"


async def test_image_only_message_uses_placeholder(make_logger, fake, call):
    kwargs = call()
    kwargs["messages"] = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]}]
    kwargs["mock_response"] = "ok"
    await make_logger().acompletion(**kwargs)
    assert fake.pre_checks[0]["query"] == "[non-text content]"


async def test_hitl_approved(make_logger, fake, call, llm):
    fake.pre = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
    fake.poll_statuses = ["pending", "approved"]
    seen = []
    logger = make_logger()
    response = await logger.acompletion(on_event=seen.append, **call())
    assert response.choices[0].message.content == llm.reply
    await logger.aflush()
    assert fake.created[0].triggered_policy_id == "wire" and fake.polls == 2
    kinds = [type(e).__name__ for e in seen]
    assert kinds[:2] == ["DecisionMade", "ApprovalRequested"]
    assert "ApprovalProgress" in kinds and "ApprovalDecided" in kinds
    decided = next(e for e in seen if isinstance(e, ev.ApprovalDecided))
    assert decided.status == "approved" and decided.reviewer == "rev@example.com"
    assert fake.audits[0]["context_id"] == "ctx-1"


@pytest.mark.parametrize("status", ["rejected", "expired"])
async def test_hitl_rejected_or_expired(make_logger, fake, call, llm, status):
    fake.pre = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
    fake.poll_statuses = [status]
    with pytest.raises(ApprovalRejected) as info:
        await make_logger().acompletion(**call())
    assert info.value.policies == ["wire"] and isinstance(info.value, PolicyDeniedError)
    assert llm.count == 0


async def test_hitl_client_timeout(make_logger, fake, call, llm):
    fake.pre = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
    with pytest.raises(ApprovalTimeout):
        await make_logger(approval_max_wait_seconds=0.1).acompletion(**call())
    assert llm.count == 0


async def test_hitl_disabled_denies_at_once(make_logger, fake, call):
    fake.pre = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
    with pytest.raises(PolicyDeniedError) as info:
        await make_logger(enable_hitl_polling=False).acompletion(**call())
    assert type(info.value) is PolicyDeniedError and info.value.reason == "require_approval"
    assert fake.created == []


async def test_hitl_create_failure_rejects(make_logger, fake, call):
    fake.pre = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
    fake.create_error = ConnectionError("down")
    with pytest.raises(ApprovalRejected):
        await make_logger().acompletion(**call())


async def test_hitl_consecutive_poll_failures_reject(make_logger, fake, call):
    fake.pre = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
    fake.poll_statuses = [RuntimeError("x")] * 3
    with pytest.raises(ApprovalRejected, match="3 consecutive"):
        await make_logger(breaker_failure_threshold=3).acompletion(**call())
    assert fake.polls == 3


async def test_hitl_cancel_stops_polling(make_logger, fake, call):
    fake.pre = PreCheck(approved=False, policies=["wire"], block_reason="require_approval")
    seen = []
    task = asyncio.ensure_future(make_logger(approval_max_wait_seconds=30).acompletion(on_event=seen.append, **call()))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    polls = fake.polls
    await asyncio.sleep(0.1)
    assert fake.polls == polls
    assert any(isinstance(e, ev.ApprovalDecided) and e.status == "cancelled" for e in seen)


async def test_redaction_applied(make_logger, fake, call, llm):
    fake.pre = PreCheck(requires_redaction=True, policies=["pii"],
                        approved_data={"redacted_query": "my ssn is [REDACTED]"})
    seen = []
    await make_logger().acompletion(on_event=seen.append, **call("my ssn is 123-45-6789"))
    assert llm.last_user_message() == "my ssn is [REDACTED]"
    red = next(e for e in seen if isinstance(e, ev.RedactionApplied))
    assert red.applied and red.redacted_query == "my ssn is [REDACTED]"


async def test_redaction_required_but_not_supplied(make_logger, fake, call, llm):
    fake.pre = PreCheck(requires_redaction=True, policies=["pii"])
    seen = []
    await make_logger().acompletion(on_event=seen.append, **call("my ssn is 123-45-6789"))
    assert llm.last_user_message() == "my ssn is 123-45-6789"
    red = next(e for e in seen if isinstance(e, ev.RedactionApplied))
    assert not red.applied and "no redacted text" in red.note


async def test_audit_failure_never_breaks_the_response(make_logger, fake, call):
    fake.audit_error = ConnectionError("audit down")
    seen = []
    logger = make_logger()
    response = await logger.acompletion(on_event=seen.append, **call())
    assert response.choices[0].message.content
    assert await logger.aflush()  # delivered or failed: nothing left in flight
    audit = next(e for e in seen if isinstance(e, ev.AuditRecorded))
    assert not audit.delivered


async def test_listener_exception_never_breaks_the_call(make_logger, call):
    def boom(event):
        raise RuntimeError("listener bug")

    logger = make_logger()
    logger.subscribe(boom)
    response = await logger.acompletion(on_event=boom, **call())
    assert response.choices[0].message.content


async def test_subscribe_and_unsubscribe(make_logger, call):
    logger = make_logger()
    seen = []
    unsubscribe = logger.subscribe(seen.append)
    await logger.acompletion(**call())
    await logger.aflush()
    count = len(seen)
    assert count >= 3
    unsubscribe()
    await logger.acompletion(**call())
    await logger.aflush()
    assert len(seen) == count


async def test_mock_response_is_simulated_and_kwargs_not_forwarded(make_logger, call, llm):
    seen = []
    response = await make_logger().acompletion(on_event=seen.append, user_token="u", **call(mock_response="simulated!"))
    assert response.choices[0].message.content == "simulated!"
    finished = next(e for e in seen if isinstance(e, ev.CompletionFinished))
    assert finished.simulated and finished.text == "simulated!"
    assert llm.count == 0


async def test_cost_known_model(make_logger, fake):
    seen = []
    logger = make_logger()
    await logger.acompletion(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                             mock_response="hello", on_event=seen.append)
    await logger.aflush()
    finished = next(e for e in seen if isinstance(e, ev.CompletionFinished))
    assert finished.cost_usd is not None and finished.cost_usd > 0
    assert fake.audits[0]["metadata"]["cost_usd"] == finished.cost_usd


async def test_cost_unknown_model_is_none(make_logger, call):
    seen = []
    await make_logger().acompletion(on_event=seen.append, **call())
    finished = next(e for e in seen if isinstance(e, ev.CompletionFinished))
    assert finished.cost_usd is None


async def test_llm_error_is_audited_and_raised(make_logger, fake, call, llm):
    llm.fail_status = 500
    logger = make_logger()
    with pytest.raises(Exception):
        await logger.acompletion(num_retries=0, **call())
    await logger.aflush()
    assert fake.audits and fake.audits[0]["response_summary"].startswith("[ERROR]")


async def test_agovern_collects_result(make_logger, fake, call, llm):
    result = await make_logger().agovern(**call())
    assert result.ok and result.text == llm.reply and result.audit_id == "audit-1"
    assert result.decision.status == "approved"
    fake.pre = PreCheck(approved=False, policies=["p"], block_reason="nope")
    denied = await make_logger().agovern(**call())
    assert isinstance(denied.error, PolicyDeniedError) and denied.text is None
    assert denied.decision.status == "blocked"
    assert any(isinstance(e, ev.CallFailed) for e in denied.events)


def test_govern_sync(make_logger, call, llm):
    result = make_logger().govern(**call())
    assert result.ok and result.text == llm.reply


async def test_from_client_aclose_leaves_client_open(make_logger, fake):
    async with make_logger() as logger:
        pass
    await logger.aclose()
    assert not fake.closed


async def test_audit_hook_and_custom_sink(make_logger, fake, call):
    from axonflow_notebook.core.audit import AuditOutcome

    logger = make_logger()
    seen = []
    remove = logger.add_audit_hook(lambda payload, outcome: seen.append((payload, outcome)))
    await logger.acompletion(**call())
    await logger.aflush()
    payload, outcome = seen[0]
    assert payload.context_id == "ctx-1" and payload.model == "openai/test-model"
    assert outcome.delivered and outcome.audit_id == "audit-1"

    class Journal:
        def __init__(self):
            self.payloads = []

        async def deliver(self, payload):
            self.payloads.append(payload)
            return AuditOutcome(True, audit_id="local-1")

    journal = Journal()
    logger.audit_sink = journal
    result = await logger.agovern(**call())
    assert result.audit_id == "local-1" and len(journal.payloads) == 1 and len(fake.audits) == 1
    remove()
    await logger.acompletion(**call())
    await logger.aflush()
    assert len(seen) == 2
