"""`%%governed --code` runs the cell as a normal cell would: its last expression is its value,
`;` hides it, and an uncaught denial shows the user's own frames, not the pipeline's."""

from __future__ import annotations

import re
import threading
import time

from axonflow_notebook.testing.agents import pending_request_ids
from axonflow_notebook.testing.shell import magics_of

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CALL = "litellm.completion(model='gpt-4o-mini', messages=[{'role': 'user', 'content': %r}])"


def test_the_last_expression_is_the_cells_value(ip, capsys):
    out = ip.run_cell("%%governed --code -o calls\n"
                      "import litellm\n"
                      "import pandas as pd\n"
                      f"answer = {CALL % 'hi'}\n"
                      "df = pd.DataFrame({'n': [1, 2, 3, 4, 5]})\n"
                      "df.tail(3)\n")
    assert out.error_in_exec is None, out.error_in_exec
    assert out.result is not None and list(out.result["n"]) == [3, 4, 5]
    assert ip.user_ns["_"] is out.result  # bound like any cell's value
    assert len(ip.user_ns["calls"]) == 1 and ip.user_ns["calls"][0].ok


def test_a_trailing_semicolon_hides_it_and_await_works(ip):
    out = ip.run_cell("%%governed --code\nimport litellm\n"
                      "r = await litellm.acompletion(model='gpt-4o-mini', "
                      "messages=[{'role': 'user', 'content': 'yo'}])\n"
                      "r.choices[0].message.content;\n")
    assert out.error_in_exec is None, out.error_in_exec
    assert out.result is None
    out = ip.run_cell("%%governed --code\nimport asyncio\nawait asyncio.sleep(0)\n40 + 2\n")
    assert out.error_in_exec is None and out.result == 42


def test_an_uncaught_rejection_shows_the_users_frames(ip, capsys):
    from axonflow_notebook.notebook.calls.sync import resolve

    console = magics_of(ip).runtime.backend().console
    stop = threading.Event()

    def reject():
        while not stop.is_set():
            for request_id in pending_request_ids(console):
                resolve(console.reject(request_id, reviewer_id="rita",
                                       reviewer_email="rita@example.com", comment="no PO"))
            time.sleep(0.2)

    thread = threading.Thread(target=reject, daemon=True)
    thread.start()
    capsys.readouterr()
    try:
        out = ip.run_cell("%%governed --code\n"
                          "import litellm\n"
                          "def pay():\n"
                          f"    return {CALL % 'Prepare a wire transfer of 9 EUR'}\n"
                          "pay()\n")
    finally:
        stop.set()
        thread.join(5)
    assert type(out.error_in_exec).__name__ == "ApprovalRejected", out.error_in_exec
    shown = ANSI.sub("", capsys.readouterr().out)
    assert "ApprovalRejected" in shown and "no PO" in shown
    assert "----> 4 pay()" in shown and "----> 3     return litellm.completion" in shown, shown
    for internal in ("axonflow_notebook/core", "pipeline.py", "governor.py", "code_cell.py",
                     "governed_awaiting", "magics.py", "asyncio", "hidden"):
        assert internal not in shown, f"{internal} in the traceback:\n{shown}"


def test_an_error_in_the_users_code_shows_only_the_users_frames(ip, capsys):
    import litellm

    before = (litellm.completion, litellm.acompletion)
    capsys.readouterr()
    out = ip.run_cell("%%governed --code\nx = 1\nraise ValueError('boom')\n")
    assert isinstance(out.error_in_exec, ValueError)
    shown = ANSI.sub("", capsys.readouterr().out)
    assert "boom" in shown and "raise ValueError" in shown
    assert "code_cell.py" not in shown and "governed_awaiting" not in shown, shown
    assert (litellm.completion, litellm.acompletion) == before
