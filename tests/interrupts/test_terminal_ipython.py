"""Terminal IPython, in a real pseudo-terminal (pexpect), the way a user types into it.

* A `%%governed` cell runs when Enter is pressed on one blank line; the events come as plain
  lines and the answer text is printed.
* A held call says how to approve it from elsewhere; a second terminal IPython of the same user
  approves it with `%axonflow approve ID --comment ...`, and the first call goes on.
* Ctrl-C while a call waits prints one or two lines, never a screenful of asyncio.
* `%axonflow --help` lists the subcommands.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from axonflow_notebook.testing.agents import stop_local_agents
from axonflow_notebook.testing.kernels import kernel_data_dir, kernel_env
from axonflow_notebook.testing.terminal import TerminalIPython

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"
REQUEST_ID = re.compile(r"%axonflow approve ([0-9a-f-]{36})")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def env(tmp_path):
    env = kernel_env(tmp_path, AXONFLOW_POLICIES=str(POLICIES), TERM="xterm")
    yield env
    stop_local_agents(kernel_data_dir(env), runtime_dir=env["AXONFLOW_RUNTIME_DIR"])


def test_cell_runs_after_one_blank_line_and_prints_the_answer(env):
    term = TerminalIPython(env)
    try:
        term.p.send("%%governed\r")
        time.sleep(0.3)
        term.p.send("Say hello to the team.\r")
        time.sleep(0.3)
        term.p.send("\r")  # one blank line: the cell runs (IPython itself asks for two)
        out = term.wait_prompt()
        assert "decision: allowed" in out and "audit: recorded" in out, out[-2000:]
        assert "(Simulated answer:" in out, "the answer text was not printed"
        assert "VBox(" not in out and "widget" not in out.lower()
        help_text = term.line("%axonflow --help")
        for name in ("status", "policies", "audit", "queue", "approve", "reject", "connect"):
            assert f"  {name} " in help_text, help_text
        assert "UsageError" not in help_text and "UsageError" not in term.line("%axonflow")
    finally:
        term.close()


def test_held_call_is_approved_from_a_second_terminal(env):
    first, second = TerminalIPython(env), TerminalIPython(env)
    try:
        first.p.sendline("%governed -o wired Prepare the wire transfer of 40 EUR.")
        first.p.expect(REQUEST_ID, timeout=120)
        request_id = first.p.match.group(1)
        decided = second.line(f'%axonflow approve {request_id} --comment "checked by B"')
        assert f"request {request_id} approved" in decided, decided
        out = first.wait_prompt()
        assert f"approval {request_id}: approved" in out and "checked by B" in out, out[-2000:]
        assert "(Simulated answer:" in out
        check = first.line("print('STATUS', wired.approval.status, wired.ok)")
        assert "STATUS approved True" in check, check
    finally:
        first.close()
        second.close()


def test_ctrl_c_while_waiting_prints_two_lines(env):
    term = TerminalIPython(env)
    try:
        term.p.sendline("%governed -o held Prepare the wire transfer of 41 EUR.")
        term.p.expect(REQUEST_ID, timeout=120)
        request_id = term.p.match.group(1)
        time.sleep(1.0)
        term.p.sendintr()
        after = term.wait_prompt(timeout=60)
        after = after[after.index("^C") + 2:] if "^C" in after else after
        lines = [line for line in after.splitlines() if line.strip()]
        assert 1 <= len(lines) <= 2, lines
        assert f"while waiting for approval of request {request_id}" in lines[0], lines
        assert "Traceback" not in after and "asyncio" not in after and "CancelledError" not in after
        check = term.line("print('BOUND', held.decision.status, held.approval.status)")
        assert "BOUND needs_approval cancelled" in check, check
    finally:
        term.close()
