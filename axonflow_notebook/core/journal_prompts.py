"""Reading the prompts the local journal kept, for replays (`what_if`) and explanations.

Read-only: the file is opened with SQLite's `mode=ro`, so reading never creates, migrates or
locks a journal another process is writing (WAL readers never wait for the writer). What a row
holds depends on `journal_prompts` when the call was made (journal_recording.py): the whole
prompt, its first characters (`prompt_chars` says how long the whole one was), or nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional

from .journal_store import JournalPath, default_journal_path


@dataclass(frozen=True)
class JournalPrompt:
    """One journalled call and what the journal kept of its prompt."""

    call_id: str
    created_at: float  # epoch seconds
    decision: Optional[str]  # as journalled: approved, blocked, needs_approval, ungoverned, refused…
    policies: Optional[str]  # JSON list of policy ids
    context_id: Optional[str]
    prompt: Optional[str]  # None: not kept (made before prompts were journalled, or never decided)
    prompt_chars: Optional[int]

    @property
    def whole(self) -> bool:
        """True when `prompt` is the whole prompt, not a preview of it."""
        return self.prompt is not None and (self.prompt_chars is None or len(self.prompt) >= self.prompt_chars)


def _connect(path: Path) -> Optional[sqlite3.Connection]:
    if not path.exists():
        return None
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)


def _rows(path: Path, where: str = "", params: tuple = ()) -> Iterator[JournalPrompt]:
    conn = _connect(path)
    if conn is None:
        return
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
        if not columns:
            return
        kept = "prompt, prompt_chars" if "prompt" in columns else "NULL, NULL"
        cursor = conn.execute(
            f"SELECT call_id, created_at, decision, policies, context_id, {kept} FROM calls {where} ORDER BY rowid",
            params)
        for row in cursor:
            yield JournalPrompt(*row)
    finally:
        conn.close()


def journal_prompts(path: Optional[JournalPath] = None) -> List[JournalPrompt]:
    """Every journalled call, oldest first (an absent journal has none)."""
    return list(_rows(Path(path) if path is not None else default_journal_path()))


def journal_prompt_of(context_id: str, path: Optional[JournalPath] = None) -> Optional[JournalPrompt]:
    """The journalled call of an AxonFlow context id (a decision id), if the journal has it."""
    found = list(_rows(Path(path) if path is not None else default_journal_path(), "WHERE context_id = ?",
                       (context_id,)))
    return found[-1] if found else None


__all__ = ["JournalPrompt", "journal_prompts", "journal_prompt_of"]
