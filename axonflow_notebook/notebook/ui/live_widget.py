"""The widget models behind the live views: one anywidget model per live output.

Its ES module ships in the package (`static/common.js` joined with `static/call_card.js` or
`static/queue.js`, no build step) and is handed to anywidget as text, not as a path: a path makes
anywidget connect a per-instance callback to a class-level file watcher (`AnyWidget.__init__` in
anywidget/widget.py), which would keep every card alive.

Every bundle a live widget displays carries a static fallback beside the widget view
(`text/html`, `text/markdown`, `text/plain`), so an untrusted notebook, nbconvert's HTML,
GitHub and nbviewer show text and tables instead of an error or a widget repr.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable

import anywidget
import traitlets as t

from .rich import Rich

STATIC = Path(__file__).with_name("static")


def es_module(name: str) -> str:
    """The ES module of one widget: the shared helpers, then that widget's drawing."""
    return "\n".join((STATIC / f).read_text(encoding="utf-8") for f in ("common.js", name))


class LiveWidget(anywidget.AnyWidget):
    """A live view's model: `kind` picks the drawing, `card_id` lets the drawing tell a live
    model (with a comm) from one restored out of a saved notebook (without)."""

    kind = t.Unicode("call").tag(sync=True)
    card_id = t.Unicode("").tag(sync=True)

    def __init__(self, *, kind: str, fallback: Callable[[], Rich],
                 on_message: Callable[[dict], None], **traits: Any) -> None:
        uid = uuid.uuid4().hex
        super().__init__(model_id=uid, kind=kind, card_id=uid, **traits)
        self._fallback = fallback
        self._on_message = on_message
        self.on_msg(self._received)

    def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict):
            self._on_message(content)

    def fallback(self) -> Rich:
        return self._fallback()

    def _repr_mimebundle_(self, **kwargs: Any):  # type: ignore[override]
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, meta = bundle
        static = self._fallback()
        return {**static.bundle(), **data, "text/plain": static.plain}, {**static.metadata, **meta}

    def close(self) -> None:
        """Close this model and the Layout model every DOMWidget creates with it."""
        layout = self.layout
        super().close()
        if layout is not None:
            layout.close()


class CallCard(LiveWidget):
    """One governed call (`kind="call"`) or a `%%governed --code` cell's calls (`"code"`)."""

    _esm = es_module("call_card.js")

    header = t.Unicode("").tag(sync=True)
    calls = t.List(t.Dict()).tag(sync=True)


class QueueWidget(LiveWidget):
    """The reviewer queue: rows of pending requests, decided in the browser.

    It displays itself under a display id of its own (`display(queue.widget)` needs none), so
    its static fallback can follow the requests it lists and replace it when it closes.
    """

    _esm = es_module("queue.js")

    title = t.Unicode("").tag(sync=True)
    rows = t.List(t.Dict()).tag(sync=True)
    status = t.Dict().tag(sync=True)
    empty = t.Unicode("").tag(sync=True)
    can_decide = t.Bool(False).tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    reset = t.Int(0).tag(sync=True)  # bumped after a decision: the browser clears its inputs

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handles: list[Any] = []

    def _ipython_display_(self) -> None:
        from IPython.display import display

        bundle = self._repr_mimebundle_()
        if bundle is not None:
            data, meta = bundle
            self._handles.append(display(data, metadata=meta, raw=True, display_id=True))

    def republish(self) -> None:
        """Send the current widget bundle (with its fallback) to every display of it."""
        bundle = self._repr_mimebundle_() if self.comm is not None else None
        if bundle is None:
            return
        data, meta = bundle
        for handle in self._handles:
            handle.update(data, metadata=meta, raw=True)

    def show_static(self) -> None:
        """Replace every display of the widget with its static fallback alone."""
        static = self._fallback()
        for handle in self._handles:
            handle.update(static.bundle(), metadata=static.metadata, raw=True)


__all__ = ["LiveWidget", "CallCard", "QueueWidget"]
