"""What today's renderers lack of the UI the calls layer is written against (nbcalls stand-in):
`compact_row`, `queue_text`, and the tables fed with the core's records (or the SDK's models,
before the core returns records). The nbui branch provides these itself; this module goes away
with the merge. No widget library is imported here (terminal IPython uses it).
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from ..render import FONT, Rich, esc, md_esc, short


def as_dict(row: Any) -> dict:
    if isinstance(row, dict):
        return row
    dump = getattr(row, "model_dump", None)
    if dump is not None:
        return dict(dump())
    return {k: v for k, v in vars(row).items() if not k.startswith("_")} if hasattr(row, "__dict__") else {}


def compact_row(result: Any, *, prompt: str, model: str) -> Rich:
    """One line per call, for loops of `%governed`."""
    from ..widgets.summary import metadata, one_line, state_from_result

    state = state_from_result(result, prompt=prompt, model=model)
    text = f"{short(prompt, 60)} → {one_line(state)}"
    return Rich(f'<div class="axonflow-row" style="{FONT}">{esc(text)}</div>', md_esc(text), text,
                metadata(state, result))


def handle_summary(*, model: str, status: str, request_id: Optional[str] = None,
                   done: bool = False) -> Rich:
    """A `--background` handle's bundle for its current `status`."""
    rid = f", request {request_id}" if request_id else ""
    line = f"GovernedHandle({model}: {status}{rid})"
    hint = "" if done else " — await it or call .result()"
    return Rich(f'<div class="axonflow-handle tex2jax_ignore" style="{FONT}">{esc(line + hint)}</div>',
                md_esc(line + hint), line, {"axonflow": {"request_id": request_id, "status": status}})


def _rows(items: Iterable[Any]) -> list[dict]:
    return [as_dict(i) for i in items or []]


def queue_text(records: Sequence[Any]) -> str:
    rows = _rows(getattr(records, "items", records))
    if not rows:
        return "AxonFlow: no pending approval requests."
    lines = [f"AxonFlow: {len(rows)} pending approval request(s):"]
    for row in rows:
        query = " ".join(str(row.get("original_query", "")).split())[:80]
        policy = row.get("policy_id") or row.get("triggered_policy_id") or ""
        lines.append(f"  {row.get('request_id')}  {row.get('severity', '')}  {policy}  {query}")
    return "\n".join(lines)


def _matches(row: dict, category: Optional[str], action: Optional[str], search: Optional[str]) -> bool:
    if category and str(row.get("category", "")).lower() != category.lower():
        return False
    if action and action.lower() not in str(row.get("action", "")).lower():
        return False
    return not search or search.lower() in " ".join(str(v) for v in row.values()).lower()


def policies_table(policies: Sequence[Any], *, category: Optional[str] = None,
                   action: Optional[str] = None, search: Optional[str] = None) -> Rich:
    from ..render import policies_table as table

    rows = [r for r in _rows(getattr(policies, "policies", policies))
            if _matches(r, category, action, search)]
    return table(rows)


def audit_trail(page: Any, kernel_results: Sequence[Any]) -> Rich:
    from ..audit_view import audit_trail as trail

    entries = getattr(page, "entries", page)
    total = getattr(page, "total", None)
    rows = _rows(entries)
    return trail(rows, total if total is not None else len(rows), kernel_results)


__all__ = ["audit_trail", "compact_row", "handle_summary", "policies_table", "queue_text"]
