"""`%axonflow test`: what the pre-check would decide for a prompt, every match highlighted in it."""

from __future__ import annotations

from ...core.records import PromptTestRecord
from .escape import esc, md_esc
from .format import word
from .html import card, kv_table, note
from .lab_parts import (
    DECISION_TONES,
    decision_badge,
    matches_html,
    matches_markdown,
    matches_text,
    prompt_parts,
    version_html,
    version_text,
)
from .rich import Rich

NO_SIDE_EFFECTS = "No LLM call was made and no audit record was written."


def _facts(record: PromptTestRecord) -> list:
    facts = [("Decision", word(record.decision))]
    if record.stopped_by:
        facts.append(("Stopped at", f"{record.stopped_by} (a block ends evaluation)"))
    if record.decision == "needs_approval":
        held = next((m.policy_id for m in record.matches if m.action == "require_approval"), "")
        facts.append(("Held by", held or "a policy requiring approval"))
        if record.stopped_by:
            facts.append(("Precedence", f"{held or 'the approval'} requires approval, which takes precedence over "
                                        f"the block by {record.stopped_by}: the call would be held for a human"))
    if record.block_reason and record.decision == "blocked":
        facts.append(("Reason", record.block_reason))
    facts.append(("Policy version", version_text(record.policy_version)))
    if record.total_policies is not None:
        facts.append(("Policies evaluated", f"{record.total_policies} enabled"))
    return facts


def prompt_test_view(record: PromptTestRecord) -> Rich:
    """The decision, the prompt with its matches highlighted, and one row per matched policy."""
    count = len(record.matches)
    title = f"Policy test: {word(record.decision)} — {count} polic{'y' if count == 1 else 'ies'} matched"
    prompt_html, prompt_md = prompt_parts(record.prompt, record.matches)
    facts = _facts(record)
    rows = [(k, esc(v)) for k, v in facts if k != "Policy version"]
    rows.append(("Policy version", version_html(record.policy_version)))
    body = kv_table(rows) + prompt_html + matches_html(record.matches, record.prompt)
    if record.redacted_prompt and record.decision == "redacted":
        body += note("What the model would receive:") + prompt_parts(record.redacted_prompt, ())[0]
    body += note(NO_SIDE_EFFECTS)
    html = card("policy-test", title, body, tone=DECISION_TONES.get(record.decision, "mute"),
                badges=[decision_badge(record.decision)])
    markdown = "\n\n".join([f"**{md_esc(title)}**", "\n".join(f"- {md_esc(k)}: {md_esc(v)}" for k, v in facts),
                            prompt_md, matches_markdown(record.matches, record.prompt), md_esc(NO_SIDE_EFFECTS)])
    plain = "\n".join([title, *(f"{k}: {v}" for k, v in facts), "", matches_text(record.matches, record.prompt),
                       NO_SIDE_EFFECTS])
    meta = {"axonflow": {"decision": record.decision, "policies": [m.policy_id for m in record.matches],
                         "policy_version": record.policy_version}}
    return Rich(html, markdown, plain, meta)


__all__ = ["prompt_test_view"]
