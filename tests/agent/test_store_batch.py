"""The decision batch writer: every value reads back exactly as it went in.

The batch is written as one JSON array through ``json_each``; these tests pin down the
values that JSON could alter (NUL, which SQLite's JSON functions cut a string at; numbers
in text columns; NULL; non-BMP characters) and the promise that one bad row never sinks
the rest of its batch.
"""

from __future__ import annotations

import threading

import pytest

from axonflow_notebook.agent import store as store_module
from axonflow_notebook.agent.store import AUDIT_COLUMNS, Store


def _row(context_id: str, preview: str, block_reason=None) -> tuple:
    return (context_id, "2026-11-27T00:00:00.000000Z", "2999-01-01T00:00:00.000000Z", "client",
            "tenant", "user@example.com", "llm_chat", "allowed", '["pii_email"]', block_reason,
            preview, "0" * 64)


@pytest.fixture
def store(tmp_path):
    opened = Store(str(tmp_path / "agent.db"))
    yield opened
    opened.close()


def _stored(store: Store) -> dict[str, tuple]:
    rows, _ = store.search_audit([], [], 1000, 0)
    return {row["id"]: tuple(row[c] for c in AUDIT_COLUMNS) for row in rows}


PREVIEWS = ["plain", "12", "null", "true", '"quoted" \\ back', "emoji 🧪 RTL שלום é",
            "\u202eoverride", "tab\tnew\r\nline", "\x1f\x7f control", ""]


def test_batch_round_trips_every_value(store):
    rows = [_row(f"ctx-{i}", text, None if i % 2 else "reason") for i, text in enumerate(PREVIEWS)]
    for row in rows:
        store.insert_decision(row)
    store.flush()
    stored = _stored(store)
    assert stored == {row[0]: row for row in rows}


def test_a_nul_byte_survives_in_a_batch_with_other_rows(store):
    rows = [_row("ctx-a", "before"), _row("ctx-nul", "nul\x00inside"), _row("ctx-b", "after")]
    for row in rows:
        store.insert_decision(row)
    store.flush()
    assert _stored(store) == {row[0]: row for row in rows}


def test_one_bad_row_does_not_sink_its_batch(store):
    store.insert_decision(_row("ctx-1", "first"))
    store.flush()
    store.insert_decision(_row("ctx-2", "second"))
    store.insert_decision(_row("ctx-1", "duplicate id"))  # violates UNIQUE(id)
    store.insert_decision(_row("ctx-3", "third"))
    store.flush()
    stored = _stored(store)
    assert sorted(stored) == ["ctx-1", "ctx-2", "ctx-3"]
    assert stored["ctx-1"][10] == "first"


def test_a_full_batch_wakes_the_flusher_without_writing_on_the_caller(store, monkeypatch):
    """Request threads only append; the write happens on the flusher thread."""
    writers: list[str] = []
    drain = Store._drain

    def recording_drain(self):
        if self._batch:
            writers.append(threading.current_thread().name)
        drain(self)

    monkeypatch.setattr(Store, "_drain", recording_drain)
    monkeypatch.setattr(store_module, "FLUSH_INTERVAL", 30.0)  # only a wake-up can flush now
    store._wake.set()  # let the flusher pick up the long interval
    for i in range(store_module._FLUSH_BATCH):
        store.insert_decision(_row(f"ctx-{i}", "x"))
    deadline = threading.Event()
    for _ in range(200):
        if len(_stored_without_flush(store)) == store_module._FLUSH_BATCH:
            break
        deadline.wait(0.01)
    assert len(_stored_without_flush(store)) == store_module._FLUSH_BATCH
    assert writers and set(writers) == {"agent-store-flush"}


def _stored_without_flush(store: Store) -> list:
    with store._lock:
        return store._conn.execute("SELECT id FROM audit_entries").fetchall()
