"""`result.explain()` and `%axonflow explain ID`: why AxonFlow decided a call as it did.

Which policies matched, where in the prompt (highlighted, when the prompt is known), with which
action and priority, in what order evaluation went, why it stopped where it did, and which
policy version was in force. Everything escaped; the full evaluation order folds away.
"""

from __future__ import annotations

from typing import List, Tuple

from ...core.records import DecisionExplanationRecord
from .escape import esc, md_esc
from .format import fmt_time, word
from .html import FG2, card, data_table, kv_table, mono, note
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
from .tables import md_table

ORDER_HEADERS = ("Order", "Policy", "Priority", "Action", "Matched")
_SOURCES = {"axonflow": "kept by AxonFlow", "result": "from the call's result", "journal": "from the local journal",
            "journal preview": "a preview from the local journal"}


def _facts(record: DecisionExplanationRecord) -> List[Tuple[str, str]]:
    facts = [("Decision", word(record.decision)), ("Reason", record.reason or "—")]
    if record.approval_status:
        facts.append(("Approval", record.approval_status))
    in_force = {True: " (in force now)", False: " (since replaced)"}.get(record.version_in_force_now, "")
    facts.append(("Policy version", version_text(record.policy_version, record.version_loaded_at,
                                                 record.version_source) + in_force))
    facts.append(("Decided at", fmt_time(record.timestamp)))
    facts.append(("Decision id", record.decision_id))
    if record.audit_id:
        facts.append(("Audit id", record.audit_id))
    if record.prompt_source:
        facts.append(("Prompt", _SOURCES.get(record.prompt_source, record.prompt_source)))
    return facts


def _stop(record: DecisionExplanationRecord) -> str:
    if record.stop_reason:
        return record.stop_reason
    return "This AxonFlow did not report its evaluation order."


def _order_rows(record: DecisionExplanationRecord) -> List[Tuple[str, ...]]:
    return [(f"#{s.position + 1}", s.policy_id, "—" if s.priority is None else str(s.priority), word(s.action),
             "matched" if s.matched else "") for s in record.order]


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _order_html(record: DecisionExplanationRecord) -> str:
    if not record.order:
        return ""
    rows = [[esc(a), mono(b), esc(c), esc(d), f"<strong>{esc(e)}</strong>" if e else ""]
            for a, b, c, d, e in _order_rows(record)]
    skipped = (f" {_count(len(record.not_evaluated), 'enabled policy', 'enabled policies')} after it "
               f"{'was' if len(record.not_evaluated) == 1 else 'were'} not evaluated." if record.not_evaluated else "")
    summary = (f"Evaluation order: {_count(len(record.order), 'policy', 'policies')} evaluated, highest priority "
               f"first.{skipped}")
    return (f'<details class="axonflow-evaluation-order"><summary style="cursor:pointer;color:{FG2}">'
            f'{esc(summary)}</summary>{data_table(ORDER_HEADERS, rows)}</details>')


def explanation_view(record: DecisionExplanationRecord) -> Rich:
    """The explanation of one decision; see the module doc."""
    title = f"Why {word(record.decision)}: decision {record.decision_id[:8]}…"
    whole = record.prompt_source != "journal preview"
    prompt_html, prompt_md = prompt_parts(record.prompt, record.matches, whole=whole)
    facts = _facts(record)
    rows = [(k, version_html(record.policy_version, record.version_loaded_at, record.version_source)
             if k == "Policy version" else (mono(v) if k.endswith(" id") else esc(v))) for k, v in facts]
    stop = _stop(record)
    evaluation = f'<div class="axonflow-stop-reason" style="margin:4px 0">{esc(stop)}</div>'
    if record.precedence:
        evaluation += f'<div style="margin:4px 0">{esc(record.precedence)}</div>'
    body = (kv_table(rows) + prompt_html + matches_html(record.matches, record.prompt) + evaluation
            + _order_html(record))
    if record.prompt is None and record.query_preview:
        body += note(f"AxonFlow's preview of the prompt: {record.query_preview}")
    html = card("explanation", title, body, tone=DECISION_TONES.get(record.decision, "mute"),
                badges=[decision_badge(record.decision)])
    parts = [f"**{md_esc(title)}**", "\n".join(f"- {md_esc(k)}: {md_esc(v)}" for k, v in facts), prompt_md,
             matches_markdown(record.matches, record.prompt), md_esc(stop)]
    if record.precedence:
        parts.append(md_esc(record.precedence))
    if record.order:
        parts.append(md_table(ORDER_HEADERS, _order_rows(record)))
    plain = "\n".join([title, *(f"{k}: {v}" for k, v in facts), "", matches_text(record.matches, record.prompt),
                       stop] + ([record.precedence] if record.precedence else []))
    meta = {"axonflow": {"decision_id": record.decision_id, "decision": record.decision,
                         "policy_version": record.policy_version}}
    return Rich(html, "\n\n".join(parts), plain, meta)


__all__ = ["explanation_view"]
