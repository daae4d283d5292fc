"""ipywidgets in a plain InteractiveShell: test comms, and reading and clicking a live card."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, Iterator


@contextlib.contextmanager
def widget_test_comms() -> Iterator[None]:
    """ipywidgets' DummyComm for every widget, each with a unique comm id, real reprs kept.

    DummyComm gives every widget the id "a-b-c-d": then any other widget closed (or collected)
    mid-test removes a live view from the registry a test looks buttons up in."""
    import comm
    import ipywidgets
    from ipywidgets.widgets.tests import utils

    original_repr = ipywidgets.Widget._repr_mimebundle_
    utils.setup_test_comm()
    ipywidgets.Widget._repr_mimebundle_ = original_repr  # keep real reprs: views are displayed

    def unique_comm(**kwargs: Any) -> Any:
        dummy = utils.DummyComm()
        dummy.comm_id = kwargs.get("comm_id") or uuid.uuid4().hex
        return dummy

    comm.create_comm = unique_comm  # teardown_test_comm restores the original
    try:
        yield
    finally:
        utils.teardown_test_comm()
        ipywidgets.Widget._repr_mimebundle_ = original_repr


def widget_by_id(model_id: str) -> Any:
    import ipywidgets

    return ipywidgets.widgets.widget._instances.get(model_id)


def live_widget_count() -> int:
    import ipywidgets

    return len(ipywidgets.widgets.widget._instances)


def approval_panel(widget: Any) -> Any:
    """A live card's approval panel as data (`request_id`, `pending`, `actions` = buttons |
    disabled | none, `note`, `clicked`), or None before a request is held: the card is one
    widget whose synced `calls` carry it (axonflow_notebook/notebook/ui/call_view.py)."""
    for call in getattr(widget, "calls", None) or []:
        if isinstance(call, dict) and call.get("approval"):
            return call["approval"]
    return None


def click(widget: Any, action: str, comment: str = "") -> bool:
    """Approve / Reject as the browser would (the message its buttons send); True once the card
    has taken the click."""
    panel = approval_panel(widget)
    if panel is None:
        return False
    if panel["pending"] and panel["actions"] == "buttons" and not panel["clicked"]:
        widget._handle_custom_msg({"type": "decide", "action": action,
                                   "request_id": panel["request_id"], "comment": comment}, [])
    return bool((approval_panel(widget) or {}).get("clicked"))
