"""`%%axonflow_policy`: the change a policy cell made (or, dry, would make) to the policies in force.

One row per policy added, changed or removed, with its action, priority and pattern; a changed
policy lists each field that changes (`action: redact → block`). Then the version now in force
(hash and time), or for a dry run the version it would have.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ...core.records import PolicyChange, PolicyRecord
from .escape import esc, md_esc, short
from .format import fmt_time, word
from .html import badge, card, data_table, kv_table, mono, note
from .lab_parts import version_html
from .rich import Rich
from .tables import md_table, text_table

HEADERS = ("Change", "Id", "Name", "Action", "Priority", "Pattern / what changes")
CHANGE_TONES = {"added": "ok", "changed": "warn", "removed": "bad"}
FIELDS = ("name", "category", "pattern", "action", "severity", "priority", "enabled", "description")
DEFAULTS = {"category": "custom", "severity": "medium", "priority": 100, "enabled": True, "description": ""}


def _value(policy: Any, name: str) -> Any:
    if isinstance(policy, Mapping):
        return policy.get(name, DEFAULTS.get(name))
    return getattr(policy, name, None)


def _differences(old: Optional[PolicyRecord], new: Optional[Mapping[str, Any]]) -> List[str]:
    if old is None or new is None:
        return []
    out = []
    for name in FIELDS:
        before, after = _value(old, name), _value(new, name)
        if name in ("action", "category", "severity"):
            before, after = word(before), word(after)
        if before != after:
            out.append(f"{name}: {short(before, 48)} → {short(after, 48)}")
    return out


def _rows(change: PolicyChange, before: Sequence[PolicyRecord],
          entries: Sequence[Mapping[str, Any]]) -> List[Tuple[str, str, str, str, str, str]]:
    old: Dict[str, PolicyRecord] = {p.id: p for p in before}
    new: Dict[str, Mapping[str, Any]] = {str(e.get("id")): e for e in entries if isinstance(e, Mapping)}
    rows = []
    for kind, ids in (("added", change.added), ("changed", change.changed), ("removed", change.removed)):
        for pid in ids:
            source: Any = new.get(pid) if kind != "removed" else old.get(pid)
            source = source if source is not None else old.get(pid)
            what = "; ".join(_differences(old.get(pid), new.get(pid))) if kind == "changed" else ""
            rows.append((kind, pid, str(_value(source, "name") or "—"), word(_value(source, "action")),
                         str(_value(source, "priority") if source is not None else "—"),
                         what or str(_value(source, "pattern") or "—")))
    return rows


def policy_change_view(change: PolicyChange, before: Sequence[PolicyRecord], entries: Sequence[Mapping[str, Any]],
                       *, dry_run: bool, target: str, replace: bool = False) -> Rich:
    """What the cell changed in the policy table, and the version now in force (see module doc)."""
    rows = _rows(change, before, entries)
    count = len(rows)
    mode = "replaced the custom policies" if replace else "upserted by id"
    if dry_run:
        title = f"Dry run: {count} polic{'y' if count == 1 else 'ies'} would change (nothing applied)"
    elif count:
        title = f"Policies in force: {count} changed ({mode})"
    else:
        title = "No change: these policies are already in force"
    counts = ", ".join(f"{len(getattr(change, k))} {k}" for k in ("added", "changed", "removed"))
    version_label = "Version if applied" if dry_run else "Version in force"
    when = "—" if dry_run or change.loaded_at is None else fmt_time(change.loaded_at)
    facts = [("Target", target), ("Change", counts), (version_label, change.version or "not reported"),
             ("Since", when)]
    html_facts = [(k, version_html(change.version) if k == version_label else esc(v)) for k, v in facts]
    table = (data_table(HEADERS, [[badge(r[0], CHANGE_TONES[r[0]]), mono(r[1]), esc(r[2]), esc(r[3]), esc(r[4]),
                                   mono(r[5]) if r[0] != "changed" else esc(r[5])] for r in rows],
                        widths=("10%", "17%", "20%", "13%", "8%", "32%"))
             if rows else note("Nothing to add, change or remove."))
    hint = ("Run the cell without --dry-run to apply it." if dry_run else
            "Decisions from now on carry this version; calls already in flight finish on the set they started with.")
    body = kv_table(html_facts) + table + note(hint)
    tone = "info" if dry_run else ("ok" if count else "mute")
    html = card("policy-change", title, body, tone=tone, badges=[badge("dry run", "info")] if dry_run else [])
    markdown = "\n\n".join([f"**{md_esc(title)}**", "\n".join(f"- {md_esc(k)}: {md_esc(v)}" for k, v in facts),
                            md_table(HEADERS, rows) if rows else "Nothing to add, change or remove.", md_esc(hint)])
    plain = "\n".join([title, *(f"{k}: {v}" for k, v in facts), "",
                       text_table(HEADERS, rows, width=48) if rows else "Nothing to add, change or remove.", hint])
    meta = {"axonflow": {"policy_version": change.version, "dry_run": dry_run, "added": list(change.added),
                         "changed": list(change.changed), "removed": list(change.removed)}}
    return Rich(html, markdown, plain, meta)


__all__ = ["policy_change_view"]
