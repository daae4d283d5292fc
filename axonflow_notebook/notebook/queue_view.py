"""ReviewerQueue: a reviewer's pending approval requests, decided from a notebook.

It talks only to the core's review facade (`console`: `list_queue`, `approve`, `reject`, sync or
async). Refreshing runs as an asyncio task on the kernel's loop, so the cell returns and the
kernel stays idle (clicks are always delivered); clicks may arrive on another thread and are
handed to that loop. Selection survives refreshes: one Checkbox per request id.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any, Callable, Optional

import ipywidgets as W

from .render import FG2, FONT, badge, esc, fmt_seconds, fmt_time, parse_time, short

SEVERITY_TONES = {"critical": "bad", "high": "bad", "medium": "warn", "low": "info"}
PAGE_SIZE = 50
_COLUMNS = (("Request", "34%"), ("Policy", "22%"), ("Severity", "10%"), ("Age", "10%"),
            ("Expires in", "12%"), ("Id", "12%"))


def as_dict(row: Any) -> dict:
    """HITL rows arrive as dicts, pydantic models or plain objects; the view reads dicts."""
    if isinstance(row, dict):
        return row
    for name in ("model_dump", "dict", "to_dict"):
        method = getattr(row, name, None)
        if callable(method):
            try:
                return dict(method())
            except Exception:  # a foreign object whose method needs arguments
                continue
    return {k: v for k, v in vars(row).items() if not k.startswith("_")} if hasattr(row, "__dict__") else {}


def queue_rows(page: Any) -> tuple[list[dict], Optional[int]]:
    """(rows, total) from a list, a `{"items", "total"}` dict or an SDK page object."""
    if page is None:
        return [], 0
    if isinstance(page, dict):
        items = page.get("items", page.get("requests", page.get("data", [])))
        return [as_dict(r) for r in items or []], page.get("total")
    if isinstance(page, (list, tuple)):
        return [as_dict(r) for r in page], len(page)
    items = getattr(page, "items", None)
    if items is not None and not callable(items):
        return [as_dict(r) for r in items], getattr(page, "total", None)
    return [as_dict(r) for r in page], None


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Await a facade method whether it is async or sync (sync ones run off the loop)."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    out = await asyncio.to_thread(fn, *args, **kwargs)
    return await out if inspect.isawaitable(out) else out


def _cell(text: str, width: str) -> str:
    return (f'<span style="display:inline-block;width:{width};vertical-align:top;padding-right:6px;'
            f'overflow:hidden;text-overflow:ellipsis;white-space:nowrap">{text}</span>')


def row_html(row: dict, now: float) -> str:
    query = esc(short(row.get("original_query", ""), 100)) or "—"
    policy = row.get("triggered_policy_name") or row.get("triggered_policy_id") or "—"
    severity = str(row.get("severity") or "—")
    created, expires = parse_time(row.get("created_at")), parse_time(row.get("expires_at"))
    age = fmt_seconds(now - created) if created else "—"
    left = fmt_seconds(expires - now) if expires else "—"
    cells = [query, esc(policy), badge(severity, SEVERITY_TONES.get(severity.lower(), "mute")),
             esc(age), esc(left), esc(short(row.get("request_id", ""), 14))]
    title = esc(row.get("original_query", ""))
    return (f'<div title="{title}" style="{FONT};width:100%">'
            + "".join(_cell(c, w) for c, (_, w) in zip(cells, _COLUMNS)) + "</div>")


def header_html() -> str:
    return (f'<div style="{FONT};color:{FG2};font-weight:600;padding-left:28px">'
            + "".join(_cell(esc(name), w) for name, w in _COLUMNS) + "</div>")


class ReviewerQueue:
    """Pending requests with query preview, policy, severity and age; approve or reject a selection."""

    def __init__(self, console: Any, reviewer_id: str = "", reviewer_email: str = "", *,
                 refresh_s: float = 5.0, can_decide: bool = True,
                 disabled_reason: Optional[str] = None) -> None:
        self.console = console
        self.reviewer_id = reviewer_id
        self.reviewer_email = reviewer_email
        self.refresh_s = refresh_s
        self.can_decide = bool(can_decide and reviewer_id)
        self.disabled_reason = disabled_reason or (
            None if self.can_decide else "No reviewer identity configured "
            "(%config GovernedMagics.reviewer_id); decide in AxonFlow's console.")
        self.rows: list[dict] = []
        self.total: Optional[int] = None
        self._boxes: dict[str, W.Checkbox] = {}
        self._lines: dict[str, W.HBox] = {}
        self._lock = threading.Lock()
        self._busy = False
        self._task: Optional[asyncio.Task] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

        self.title = W.HTML()
        self.table = W.VBox()
        self.select_all = W.Checkbox(description="Select all", indent=False,
                                     layout=W.Layout(width="auto"))
        self.select_all.observe(self._on_select_all, "value")
        self.comment = W.Textarea(placeholder="Comment (optional)", rows=2,
                                  layout=W.Layout(width="100%", max_width="640px"))
        self.approve_button = W.Button(description="Approve", button_style="success", icon="check")
        self.reject_button = W.Button(description="Reject", button_style="danger", icon="times")
        self.refresh_button = W.Button(description="Refresh", icon="refresh")
        self.approve_button.add_class("axonflow-queue-approve")
        self.reject_button.add_class("axonflow-queue-reject")
        self.approve_button.on_click(lambda _b: self._schedule(self.decide("approve")))
        self.reject_button.on_click(lambda _b: self._schedule(self.decide("reject")))
        self.refresh_button.on_click(lambda _b: self._schedule(self.refresh()))
        self.status = W.HTML()
        controls = W.HBox([self.approve_button, self.reject_button, self.refresh_button])
        self.widget = W.VBox([self.title, W.HTML(header_html()), self.table, self.select_all,
                              self.comment, controls, self.status],
                             layout=W.Layout(max_width="980px"))
        self.widget.add_class("axonflow-queue")
        self._set_title()
        self._sync_buttons()
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
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.widget.close()

    async def _auto_refresh(self) -> None:
        while self.widget.comm is not None:
            await self.refresh()
            await asyncio.sleep(self.refresh_s)

    # -- data ---------------------------------------------------------------------------------
    async def refresh(self) -> None:
        try:
            page = await call(self.console.list_queue, status="pending", limit=PAGE_SIZE, offset=0)
        except Exception as exc:
            self._say(f"Could not load the queue: {type(exc).__name__}: {exc}", "bad")
            return
        rows, total = queue_rows(page)
        self.render(rows, total)

    def render(self, rows: list[dict], total: Optional[int] = None) -> None:
        now = time.time()
        with self._lock:
            self.rows = [r for r in rows if r.get("request_id")]
            self.total = total if total is not None else len(self.rows)
            ids = [str(r["request_id"]) for r in self.rows]
            for gone in set(self._boxes) - set(ids):
                self._boxes.pop(gone).close()
                self._lines.pop(gone).close()
            for rid, row in zip(ids, self.rows):
                if rid not in self._boxes:
                    box = W.Checkbox(indent=False, layout=W.Layout(width="24px"))
                    box.observe(lambda _c: self._sync_buttons(), "value")
                    self._boxes[rid] = box
                    self._lines[rid] = W.HBox([box, W.HTML(layout=W.Layout(width="100%"))])
                self._lines[rid].children[1].value = row_html(row, now)
            self.table.children = tuple(self._lines[rid] for rid in ids)
        self._set_title(now)
        self._sync_buttons()

    def selected(self) -> list[str]:
        with self._lock:
            return [rid for rid, box in self._boxes.items() if box.value]

    async def decide(self, action: str) -> None:
        """Approve or reject every selected request (one click, one pass), then refresh."""
        with self._lock:
            if self._busy or not self.can_decide:
                return
            self._busy = True
        try:
            ids = self.selected()
            if not ids:
                self._say("Select at least one request.", "warn")
                return
            self._sync_buttons()
            comment = self.comment.value.strip()
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
                self.comment.value = ""
            await self.refresh()
        finally:
            with self._lock:
                self._busy = False
            self._sync_buttons()

    # -- internals ----------------------------------------------------------------------------
    def _schedule(self, coro: Any) -> None:
        """Run `coro` on the kernel loop (clicks may come from a subshell thread)."""
        loop = self._loop
        if loop is not None and loop.is_running() and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: loop.create_task(coro))
            return
        threading.Thread(target=asyncio.run, args=(coro,), daemon=True,
                         name="axonflow-queue").start()

    def _on_select_all(self, change: dict) -> None:
        with self._lock:
            boxes = list(self._boxes.values())
        for box in boxes:
            box.value = bool(change["new"])

    def _sync_buttons(self) -> None:
        off = not self.can_decide or self._busy or not self.selected()
        with self.approve_button.hold_sync(), self.reject_button.hold_sync():
            self.approve_button.disabled = off
            self.reject_button.disabled = off

    def _set_title(self, now: Optional[float] = None) -> None:
        n = len(self.rows)
        count = "loading…" if self.total is None else (
            f"{n} pending" + (f" of {self.total}" if self.total and self.total > n else ""))
        when = f" · refreshed {fmt_time(now)}" if now else ""
        who = f" · reviewer {self.reviewer_id}" if self.reviewer_id else ""
        self.title.value = (f'<div style="{FONT};font-weight:600;margin:2px 0">AxonFlow approval '
                            f'queue — {esc(count)}<span style="font-weight:400;color:{FG2}">'
                            f"{esc(who + when)}</span></div>")

    def _say(self, text: str, tone: str = "mute") -> None:
        color = {"ok": "#2e7d32", "warn": "#b26a00", "bad": "#c62828"}.get(tone, "inherit")
        self.status.value = f'<div style="{FONT};color:{color}">{esc(text)}</div>' if text else ""
