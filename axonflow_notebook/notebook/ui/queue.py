"""ReviewerQueue: a reviewer's pending approval requests, decided from a notebook.

It talks only to the core's review console (`list_queue`, `approve`, `reject`). Refreshing runs
as a task on the kernel's loop, so the cell returns and the kernel stays idle; a click arrives as
one message carrying the selected ids and the comment, and is handled on that loop (or, with no
running loop, on the core's background loop: never a thread of its own). The selection and the
comment being typed live in the browser, so refreshes never disturb them.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any, Callable, Optional, Sequence

from ...core.records import ApprovalRequestRecord
from .coalesce import background_loop
from .escape import NO_MATH, clean_text, esc, md_esc, short
from .format import fmt_seconds, fmt_time, parse_time
from .html import FG2, FONT, badge, data_table, mono
from .rich import Rich
from .tables import md_table, text_table

SEVERITY_TONES = {"critical": "bad", "high": "bad", "medium": "warn", "low": "info"}
PAGE_SIZE = 50
HEADERS = ("Request", "Policy", "Severity", "Age", "Expires in", "Id")
WIDTHS = ("34%", "20%", "10%", "10%", "12%", "14%")


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Await a console method whether it is async or sync (sync ones run off the loop)."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    out = await asyncio.to_thread(fn, *args, **kwargs)
    return await out if inspect.isawaitable(out) else out


def _timing(r: ApprovalRequestRecord, now: float) -> tuple[Optional[float], Optional[float]]:
    created, expires = parse_time(r.created_at), parse_time(r.expires_at)
    return (now - created if created else None), (expires - now if expires else None)


def batch_of(r: ApprovalRequestRecord) -> tuple[str, str]:
    """(batch id, "batch 1a2b3c4d · row 3 of 200") for a batch row's request, else ("", "")."""
    context = r.context if isinstance(r.context, dict) else {}
    batch_id = context.get("batch_id")
    if not isinstance(batch_id, str) or not batch_id:
        return "", ""
    return batch_id, f"batch {batch_id[:8]} · row {context.get('batch_index', '?')} of {context.get('batch_size', '?')}"


def grouped(records: Sequence[ApprovalRequestRecord]) -> list[ApprovalRequestRecord]:
    """The requests with each batch's rows together (where its first row was), by row index."""
    by_batch: dict[str, list] = {}
    for r in records:
        batch_id, _ = batch_of(r)
        if batch_id:
            by_batch.setdefault(batch_id, []).append(r)
    out, placed = [], set()
    for r in records:
        batch_id, _ = batch_of(r)
        if not batch_id:
            out.append(r)
        elif batch_id not in placed:
            placed.add(batch_id)
            out.extend(sorted(by_batch[batch_id], key=lambda x: str(x.context.get("batch_index", "")).zfill(9)))
    return out


def row_state(r: ApprovalRequestRecord, now: float) -> dict:
    """One request as the browser draws it (plain values; the browser sets them as text)."""
    age, left = _timing(r, now)
    severity = (r.severity or "").lower()
    group, label = batch_of(r)
    return {"request_id": r.request_id, "id_label": clean_text(r.request_id),
            "group": group, "group_label": clean_text(label),
            "query": short(r.original_query, 160) or "—",
            "policy": clean_text(r.policy_name or r.policy_id or "—"),
            "severity": clean_text(r.severity or "—"),
            "severity_tone": SEVERITY_TONES.get(severity, "mute"), "age_s": age,
            "expires_in_s": left, "created_text": _short_time(r.created_at),
            "expires_text": _short_time(r.expires_at)}


def _short_time(value: object) -> str:
    """`11-29 17:23 UTC`: a time that fits a narrow column (snapshots show times, not ages)."""
    seconds = parse_time(value)
    if seconds is None:
        return "—"
    return time.strftime("%m-%d %H:%M UTC", time.gmtime(seconds))


def _row_cells(r: ApprovalRequestRecord, now: float) -> list[str]:
    age, left = _timing(r, now)
    _, label = batch_of(r)
    query = short(r.original_query, 100) or "—"
    return [f"[{label}] {query}" if label else query, r.policy_name or r.policy_id or "—",
            r.severity or "—", fmt_seconds(age) if age is not None else "—",
            ("expired" if left <= 0 else fmt_seconds(left)) if left is not None else "—",
            r.request_id]


def queue_fallback(records: Sequence[ApprovalRequestRecord], title: str, *,
                   now: Optional[float] = None) -> Rich:
    """The queue as a static table (saved notebooks, nbconvert, GitHub)."""
    now = time.time() if now is None else now
    rows = [_row_cells(r, now) for r in grouped(records)]
    html_rows = [[esc(c[0]), esc(c[1]), badge(c[2], SEVERITY_TONES.get(c[2].lower(), "mute")),
                  esc(c[3]), esc(c[4]), mono(short(c[5], 14))] for c in rows]
    table = data_table(HEADERS, html_rows, widths=WIDTHS) if rows else \
        f'<div style="color:{FG2}">No pending requests.</div>'
    when = f"as of {fmt_time(now)}"
    html = (f'<div class="axonflow-card axonflow-queue-snapshot {NO_MATH}" style="{FONT};'
            f'max-width:940px;border:1px solid var(--jp-border-color2,#e0e0e0);border-left:4px '
            f'solid #1565c0;border-radius:4px;padding:6px 10px;box-sizing:border-box">'
            f'<div style="font-weight:600;color:#1565c0">{esc(title)} '
            f'<span style="font-weight:400;color:{FG2}">{esc(when)}</span></div>{table}</div>')
    md = f"**{md_esc(title)}** ({when})\n\n" + (md_table(HEADERS, rows) if rows else "No pending requests.")
    plain = f"{title} ({when})\n" + (text_table(HEADERS, rows) if rows else "No pending requests.")
    return Rich(html, md, plain, {"axonflow": {"queue_pending": len(rows)}})


class ReviewerQueue:
    """Pending requests with query preview, policy, severity and age; approve or reject a selection."""

    def __init__(self, console: Any, reviewer_id: str, reviewer_email: str, *,
                 can_decide: bool = True, disabled_reason: Optional[str] = None,
                 refresh_s: float = 5.0) -> None:
        from .live_widget import QueueWidget

        self.console = console
        self.reviewer_id = reviewer_id
        self.reviewer_email = reviewer_email
        self.refresh_s = refresh_s
        self.can_decide = bool(can_decide and reviewer_id)
        self.disabled_reason = disabled_reason or (
            None if self.can_decide else "No reviewer identity configured "
            "(%config GovernedMagics.reviewer_id); decide in AxonFlow's console.")
        self.rows: list[ApprovalRequestRecord] = []
        self.total: Optional[int] = None
        self.error: Optional[str] = None
        self._lock = threading.Lock()
        self._busy = False
        self._closed = False
        self._task: Optional[asyncio.Task] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._shown_ids: Optional[tuple] = None
        self.widget = QueueWidget(kind="queue", fallback=self.fallback, on_message=self._message,
                                  can_decide=self.can_decide, title=clean_text(self._title()))
        if not self.can_decide:
            self._say(self.disabled_reason or "", "warn")
        self.start()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Refresh now and then every `refresh_s` on the running loop (no-op without one)."""
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._task is None or self._task.done():
            self._task = self._loop.create_task(self._auto_refresh())

    def close(self) -> None:
        """Stop refreshing, leave a static snapshot in the display, close the widget model."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.widget.show_static()
        self.widget.close()

    async def _auto_refresh(self) -> None:
        while not self._closed:
            await self.refresh()
            await asyncio.sleep(self.refresh_s)

    # -- data ---------------------------------------------------------------------------------
    async def refresh(self) -> None:
        try:
            records, total = await call(self.console.list_queue, status="pending",
                                        limit=PAGE_SIZE, offset=0)
        except Exception as exc:
            self.error = f"Could not load the queue: {type(exc).__name__}: {exc}"
            self._say(self.error, "bad")
            return
        self.error = None
        self.render(records, total)

    def render(self, records: Sequence[ApprovalRequestRecord], total: Optional[int] = None) -> None:
        now = time.time()
        with self._lock:
            self.rows = grouped([r for r in records if r.request_id])  # a batch's held rows together
            self.total = total if total is not None else len(self.rows)
            ids = tuple(r.request_id for r in self.rows)
            changed, self._shown_ids = ids != self._shown_ids, ids
        with self.widget.hold_sync():
            self.widget.rows = [row_state(r, now) for r in self.rows]
            self.widget.title = clean_text(self._title(now))
        if changed:  # the saved form of the queue follows the requests it lists
            self.widget.republish()

    def fallback(self) -> Rich:
        with self._lock:
            rows = list(self.rows)
        return queue_fallback(rows, self._title())

    async def decide(self, action: str, request_ids: Sequence[str], comment: str) -> None:
        """Approve or reject the given requests (one click, one pass), then refresh."""
        with self._lock:
            if self._busy or not self.can_decide or action not in ("approve", "reject"):
                return
            self._busy = True
        self.widget.busy = True
        try:
            listed = {r.request_id for r in self.rows}  # a stale or repeated click decides nothing twice
            ids = [i for i in dict.fromkeys(request_ids) if isinstance(i, str) and i in listed]
            if not ids:
                self._say("Select at least one pending request.", "warn")
                return
            method = getattr(self.console, action)
            done, failed = [], []
            for rid in ids:
                try:
                    await call(method, rid, reviewer_id=self.reviewer_id,
                               reviewer_email=self.reviewer_email, comment=comment)
                    done.append(rid)
                except Exception as exc:
                    failed.append(f"{rid}: {type(exc).__name__}: {exc}")
            verb = "approved" if action == "approve" else "rejected"
            message = f"{len(done)} request{'s' if len(done) != 1 else ''} {verb}"
            if failed:
                message += f"; {len(failed)} failed — " + "; ".join(failed)
            self._say(message, "bad" if failed else "ok")
            if done:
                self.widget.reset += 1  # the browser clears its comment and selection
            await self.refresh()
        finally:
            with self._lock:
                self._busy = False
            self.widget.busy = False

    # -- internals ----------------------------------------------------------------------------
    def _message(self, content: dict) -> None:
        kind = content.get("type")
        if kind == "refresh":
            self._schedule(self.refresh())
        elif kind == "decide":
            ids = content.get("request_ids")
            comment = content.get("comment")
            self._schedule(self.decide(str(content.get("action")),
                                       ids if isinstance(ids, list) else [],
                                       comment[:4000] if isinstance(comment, str) else ""))

    def _schedule(self, coro: Any) -> None:
        """Run `coro` on the kernel loop (clicks may come from a subshell thread), else on the
        core's background loop."""
        loop = self._loop
        if loop is not None and loop.is_running() and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: loop.create_task(coro))
            return
        asyncio.run_coroutine_threadsafe(coro, background_loop())

    def _title(self, now: Optional[float] = None) -> str:
        n = len(self.rows)
        count = "loading…" if self.total is None else (
            f"{n} pending" + (f" of {self.total}" if self.total and self.total > n else ""))
        when = f" · refreshed {fmt_time(now)}" if now else ""
        who = f" · reviewer {self.reviewer_id}" if self.reviewer_id else ""
        return f"AxonFlow approval queue — {count}{who}{when}"

    def _say(self, text: str, tone: str = "mute") -> None:
        self.widget.status = {"text": clean_text(text), "tone": tone}


__all__ = ["ReviewerQueue", "queue_fallback", "row_state", "grouped", "batch_of"]
