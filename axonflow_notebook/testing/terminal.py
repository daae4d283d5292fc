"""Terminal IPython driven through a pseudo-terminal (pexpect), its prompts counted.

For tests of what a terminal user sees: one line per call, a batch's progress line, Ctrl-C in two
lines, a held call decided from a second terminal.
"""

from __future__ import annotations

import re
import sys
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07]*\x07")


class TerminalIPython:
    """One `python -m IPython` with the extension loaded. `keep_returns`: keep the carriage
    returns of redrawn lines (a batch's progress line) in what `wait_prompt` answers."""

    def __init__(self, env: dict, *, columns: int = 300, keep_returns: bool = False) -> None:
        import pexpect  # IPython's own dependency on POSIX

        self._pexpect = pexpect
        self.keep_returns = keep_returns
        self.n = 1
        self.p = pexpect.spawn(sys.executable, ["-m", "IPython", "--no-banner", "--colors=nocolor",
                                                "--HistoryAccessor.enabled=False"],
                               env=env, encoding="utf-8", timeout=120, dimensions=(50, columns))
        self.wait_prompt()
        self.line("%load_ext axonflow_notebook")

    def wait_prompt(self, timeout: float = 120) -> str:
        """What was printed until the next prompt, without terminal escapes."""
        self.p.expect(rf"In \[{self.n}\]", timeout=timeout)
        self.n += 1
        text = ANSI.sub("", self.p.before)
        return text if self.keep_returns else text.replace("\r", "")

    def line(self, text: str, timeout: float = 120) -> str:
        self.p.sendline(text)
        return self.wait_prompt(timeout)

    def cell(self, *lines: str) -> None:
        """Type a cell line by line; the blank line after it runs it."""
        for text in lines:
            self.p.send(text + "\r")
            time.sleep(0.3)
        self.p.send("\r")

    def close(self) -> None:
        self.p.sendline("exit")
        self.p.expect(self._pexpect.EOF, timeout=30)


__all__ = ["ANSI", "TerminalIPython"]
