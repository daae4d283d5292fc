"""A prompt with the places policies matched highlighted: escaped, overlaps shown, nothing live.

The prompt is cut at every span boundary; each piece is escaped on its own (`escape.esc`, so no
piece of the prompt can open a tag, an attribute or an entity) and, when policies cover it,
wrapped in a `<mark>` naming them (its tone is the strongest action among them; a piece two or
more policies cover is underlined twice). Each span ends with the numbers of its policies
(the legend's numbers), so two overlapping matches read as two. Spans are character offsets
(code points, end exclusive), as AxonFlow reports them; spans outside the text are clipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from .escape import NO_MATH, clean_text, esc
from .html import PRE_STYLE, TONES

ACTION_TONES = {"block": "bad", "require_approval": "info", "redact": "redact", "warn": "warn", "log": "mute"}
_STRENGTH = {"block": 5, "require_approval": 4, "redact": 3, "warn": 2, "log": 1}


@dataclass(frozen=True)
class Mark:
    """One policy's matches: its legend number, id, action and spans."""

    number: int
    policy_id: str
    action: str
    spans: Tuple[Tuple[int, int], ...]


def clipped(spans: Sequence[Tuple[int, int]], length: int) -> List[Tuple[int, int]]:
    return [(max(0, s), min(length, e)) for s, e in spans if min(length, e) > max(0, s)]


def pieces(length: int, marks: Sequence[Mark]) -> List[Tuple[int, int, Tuple[Mark, ...]]]:
    """The text cut at every boundary: (start, end, the marks covering that piece)."""
    cuts = {0, length}
    for mark in marks:
        for s, e in clipped(mark.spans, length):
            cuts.update((s, e))
    bounds = sorted(cuts)
    out = []
    for start, end in zip(bounds, bounds[1:]):
        covering = tuple(m for m in marks if any(s <= start and end <= e for s, e in clipped(m.spans, length)))
        out.append((start, end, covering))
    return out


def _tone(marks: Sequence[Mark]) -> str:
    strongest = max(marks, key=lambda m: _STRENGTH.get(m.action, 0))
    return TONES[ACTION_TONES.get(strongest.action, "mute")]


def _sup(numbers: Sequence[int]) -> str:
    return (f'<sup class="axonflow-span-ref" style="font-size:0.7em;color:{TONES["mute"]};'
            f'margin-left:1px">{esc(",".join(str(n) for n in numbers))}</sup>')


def highlighted_html(text: str, marks: Sequence[Mark]) -> str:
    """`text` as escaped HTML, every piece a policy matched in a `<mark>`; see the module doc."""
    ends: Dict[int, List[int]] = {}
    for mark in marks:
        for _, e in clipped(mark.spans, len(text)):
            ends.setdefault(e, []).append(mark.number)
    out = []
    for start, end, covering in pieces(len(text), marks):
        piece = esc(text[start:end])
        if covering:
            color = _tone(covering)
            names = ", ".join(f"{m.number}: {m.policy_id} ({m.action.replace('_', ' ')})" for m in covering)
            line = "double" if len(covering) > 1 else "solid"
            ids = " ".join(m.policy_id for m in covering)
            piece = (f'<mark class="axonflow-span" data-policies="{esc(ids)}" title="{esc(names)}" '
                     f'style="background:color-mix(in srgb,{color} {22 if len(covering) == 1 else 38}%,transparent);'
                     f'color:inherit;border-bottom:{3 if line == "double" else 2}px {line} {color};'
                     f'padding:0;border-radius:2px">{piece}</mark>')
        out.append(piece)
        if end in ends:
            out.append(_sup(sorted(set(ends.pop(end)))))
    return f'<div class="axonflow-highlight {NO_MATH}" style="{PRE_STYLE}">{"".join(out)}</div>'


def fenced(text: str) -> str:
    """`text` in a Markdown code fence no backtick run inside it can close (shown verbatim)."""
    text = clean_text(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


__all__ = ["Mark", "pieces", "highlighted_html", "fenced", "clipped", "ACTION_TONES"]
