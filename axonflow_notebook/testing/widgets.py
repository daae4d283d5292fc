"""ipywidgets in a plain InteractiveShell: test comms, and walking a displayed view."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any, Iterator, List


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


def all_widgets(widget: Any) -> List[Any]:
    """`widget` and every widget it holds (children and attributes), once each."""
    import ipywidgets

    found, stack, seen = [], [widget] if widget is not None else [], set()
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        found.append(w)
        stack.extend(getattr(w, "children", ()) or ())
        stack.extend(v for v in getattr(w, "__dict__", {}).values() if isinstance(v, ipywidgets.Widget))
    return found


def buttons(widget: Any, description: str) -> List[Any]:
    import ipywidgets

    return [w for w in all_widgets(widget)
            if isinstance(w, ipywidgets.Button) and w.description == description]


def live_widget_count() -> int:
    import ipywidgets

    return len(ipywidgets.widgets.widget._instances)
