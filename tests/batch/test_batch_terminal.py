"""A batch in terminal IPython (a real pseudo-terminal): one progress line, the held row named and
decided from a second terminal through the queue, Ctrl-C in two lines with the partial frame bound."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

from axonflow_notebook.testing.agents import stop_local_agents  # noqa: E402
from axonflow_notebook.testing.kernels import kernel_data_dir, kernel_env  # noqa: E402
from axonflow_notebook.testing.terminal import TerminalIPython  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"
FRAME = ("import pandas as pd; rows = pd.DataFrame({'text': ['Please prepare the wire transfer for invoice 3.'] "
         "+ [f'Summarise ticket {i}.' for i in range(20)]})")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def env(tmp_path):
    env = kernel_env(tmp_path, AXONFLOW_POLICIES=str(POLICIES), TERM="xterm")
    yield env
    stop_local_agents(kernel_data_dir(env), runtime_dir=env["AXONFLOW_RUNTIME_DIR"])


def test_a_terminal_batch_draws_one_line_and_its_held_row_is_decided_elsewhere(env):
    first, second = (TerminalIPython(env, columns=400, keep_returns=True) for _ in range(2))
    try:
        first.line(FRAME)
        first.cell("%%governed --over rows -o done", "{text}")
        first.p.expect("1 held row waiting for a reviewer", timeout=120)
        queue = second.line("%axonflow queue")
        found = re.search(r"([0-9a-f-]{36})\s+fin-wire-transfer.*\[batch [0-9a-f]{8} · row 0 of 21\]", queue)
        assert found, queue
        decided = second.line(f'%axonflow approve {found.group(1)} --comment "batch row ok"')
        assert "approved" in decided, decided
        out = first.wait_prompt()
        final = out.split("\r")[-1] if "\r" in out else out
        assert "AxonFlow batch: 21/21 rows" in out and "20 allowed, 1 approved" in out, out[-1500:]
        assert out.count("\n") < 12, out  # progress rewrote one line instead of printing many
        assert "Traceback" not in final
        check = first.line("print('STATUS', done['answer_status'].value_counts().to_dict())")
        assert "'allowed': 20" in check and "'approved': 1" in check, check
    finally:
        first.close()
        second.close()


def test_ctrl_c_in_a_terminal_batch_prints_two_lines_and_binds_what_finished(env):
    term = TerminalIPython(env, columns=400, keep_returns=True)
    try:
        term.line(FRAME)
        term.cell("%%governed --over rows -o part", "{text}")
        term.p.expect("1 held row waiting for a reviewer", timeout=120)
        term.p.expect("21 rows", timeout=60)
        time.sleep(1.5)  # the other rows finish; the held one waits
        term.p.sendintr()
        after = term.wait_prompt(timeout=60)
        after = after[after.index("^C") + 2:] if "^C" in after else after
        lines = [line.split("\r")[-1] for line in after.splitlines() if line.split("\r")[-1].strip()]
        errors = [line for line in lines if "Interrupted" in line or "Nothing more" in line]
        assert len(errors) == 2 and errors[0].startswith("Interrupted: the batch stopped with 20 of 21"), lines
        assert "Traceback" not in after and "CancelledError" not in after
        check = term.line("print('BOUND', part['answer_status'][0], (part['answer_status'] == 'allowed').sum())")
        assert "BOUND cancelled 20" in check, check
    finally:
        term.close()
