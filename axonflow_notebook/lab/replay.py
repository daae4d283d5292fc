"""`what_if(draft, against=...)`: every prompt re-decided under the set in force and under a draft.

Locally, with the agent's own engine (`PolicySet.evaluate` decides exactly as the pre-check
does): no agent, no LLM call, no audit record. `against` is the local journal (its prompts, when
it kept them whole: `journal_prompts = "full"`) or a DataFrame with a `prompt` column and
optionally `expected` labels (scores.py). Identical prompts are evaluated once. A prompt that
cannot be evaluated (no prompt kept, only a preview kept, not text) is counted with its reason.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from .policy_sets import Draft, current_policy_set, default_data_dir, draft_policy_set
from .report import WhatIfReport
from .scores import is_missing, label

JOURNAL = "journal"
NO_PROMPT = "no prompt kept (made before prompts were journalled, or never decided by AxonFlow)"
PREVIEW_ONLY = "only a preview kept (set journal_prompts = \"full\" to replay whole prompts)"


def _journal_inputs(path: Path) -> Tuple[List[dict], List[dict], str]:
    from ..core.journal_prompts import journal_prompts

    if not path.exists():
        raise FileNotFoundError(f"no audit journal at {path}: replay a DataFrame (against=df), or give the "
                                "journal's path (journal=...)")
    rows, skipped = [], []
    for item in journal_prompts(path):
        key = {"call_id": item.call_id,
               "made_at": dt.datetime.fromtimestamp(item.created_at, dt.timezone.utc),
               "recorded": item.decision}
        if item.prompt is None:
            skipped.append({**key, "reason": NO_PROMPT})
        elif not item.whole:
            skipped.append({**key, "reason": PREVIEW_ONLY})
        else:
            rows.append({**key, "prompt": item.prompt})
    return rows, skipped, f"journal {path}"


def _frame_inputs(frame: Any) -> Tuple[List[dict], List[dict], str]:
    if "prompt" not in getattr(frame, "columns", ()):
        raise ValueError("against must be a DataFrame with a 'prompt' column (and optionally 'expected'), "
                         "or 'journal' for the local audit journal")
    labelled = "expected" in frame.columns
    rows, skipped = [], []
    expected = frame["expected"].tolist() if labelled else [None] * len(frame)
    for index, prompt, want in zip(frame.index.tolist(), frame["prompt"].tolist(), expected):
        key: Dict[str, Any] = {"row": index}
        if is_missing(prompt):
            skipped.append({**key, "reason": "no prompt (a missing value)"})
        elif not isinstance(prompt, str):
            skipped.append({**key, "reason": f"not text ({type(prompt).__name__})"})
        elif not prompt.strip():
            skipped.append({**key, "reason": "an empty prompt"})
        else:
            row = {**key, "prompt": prompt}
            if labelled:
                row["expected"] = label(want)
            rows.append(row)
    return rows, skipped, "DataFrame"


def _inputs(against: Any, data_dir: Optional[Any], journal: Optional[Any]) -> Tuple[List[dict], List[dict], str]:
    import pandas as pd

    if against is None or (isinstance(against, str) and against == JOURNAL):
        base = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        return _journal_inputs(Path(journal).expanduser() if journal is not None else base / "journal.sqlite3")
    if isinstance(against, pd.DataFrame):
        return _frame_inputs(against)
    if isinstance(against, (pd.Series, list, tuple)):
        return _frame_inputs(pd.DataFrame({"prompt": list(against)}))
    raise TypeError(f"against must be 'journal', a DataFrame with a 'prompt' column, or a list of prompts; "
                    f"not {type(against).__name__}")


def what_if(draft: Draft, against: Any = JOURNAL, *, current: Any = None, data_dir: Optional[Any] = None,
            journal: Optional[Any] = None, replace: bool = False) -> WhatIfReport:
    """What `draft` would change: each prompt of `against` decided under the set in force and the draft.

    - `draft`: policy-file text (what a `%%axonflow_policy` cell holds), its path, or a `PolicySet`.
      Its policies are upserted by id into the set in force, as a policy cell does; `replace=True`
      makes them the whole custom set instead.
    - `against`: "journal" (default: the local audit journal, `journal=` for another file), a
      DataFrame with a `prompt` column and optionally `expected`, or a list of prompts.
    - `current`: the set in force (default: the one the local agent of `data_dir` last put in
      force, else the built-in catalogue); a `PolicySet`, policy-file text or a path.

    A draft with problems raises `ValueError`, one line per problem, as a policy cell reports them.
    """
    started = time.perf_counter()
    in_force = current_policy_set(current, data_dir)
    drafted = draft_policy_set(draft, in_force, replace=replace)
    rows, skipped, source = _inputs(against, data_dir, journal)
    cache: Dict[str, Tuple[Any, Any]] = {}
    evaluated = []
    for row in rows:
        prompt = row["prompt"]
        pair = cache.get(prompt)
        if pair is None:
            try:
                pair = cache[prompt] = (in_force.evaluate(prompt), drafted.evaluate(prompt))
            except Exception as exc:  # the engine refuses nothing it was given, but never lose the count
                skipped.append({k: v for k, v in row.items() if k != "prompt"}
                               | {"reason": f"could not be evaluated ({type(exc).__name__})"})
                continue
        evaluated.append((row, *pair))
    from .report_frames import build_report

    return build_report(evaluated, skipped, source, in_force, drafted, started)


__all__ = ["what_if", "JOURNAL", "NO_PROMPT", "PREVIEW_ONLY"]
