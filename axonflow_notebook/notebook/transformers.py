"""How IPython reads a governed cell: awaited on the kernel's loop, `?` kept, one blank line ends it.

A magic is sync, and a cell blocked in sync code never receives widget clicks. So a cell that
consists of one `%%governed` (or `%governed`) call is rewritten into
`await <magics>.governed_awaiting(line, cell)`: IPython's autoawait then runs it as a top-level
async cell on the kernel loop, where ipykernel >= 7.4 delivers Approve / Reject clicks (shown by
tests/notebook/test_nbclient.py::test_click_in_a_waiting_cell_reaches_the_kernel). Terminal IPython has no clicks to wait for, and an
awaited cell there turns Ctrl-C into a screenful of asyncio, so only `--code` cells (which may
`await`) are rewritten there.
"""

from __future__ import annotations

import ast
import shlex
from typing import Any, List, Optional

REGISTRY_KEY = "GovernedMagics"


def is_terminal(shell: Any) -> bool:
    return any(c.__name__ == "TerminalInteractiveShell" for c in type(shell).__mro__)


def _magic_call(node: ast.AST) -> Optional[tuple[str, str, Optional[str]]]:
    """(kind, line, cell) when `node` is `get_ipython().run_{cell,line}_magic('governed', …)`."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    target = node.func.value
    if not (isinstance(target, ast.Call) and isinstance(target.func, ast.Name)
            and target.func.id == "get_ipython" and not target.args):
        return None
    args = node.args
    if node.keywords or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
        return None
    values = [a.value for a in args]
    if node.func.attr == "run_cell_magic" and len(values) == 3 and values[0] == "governed":
        return "cell", values[1], values[2]
    if node.func.attr == "run_line_magic" and len(values) == 2 and values[0] == "governed":
        return "line", values[1], None
    return None


def _runs_code(line: str) -> bool:
    try:
        return "--code" in shlex.split(line)
    except ValueError:
        return False


class AwaitGovernedCells:
    """`shell.input_transformers_post` entry; inert unless IPython runs async cells on asyncio."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def can_await(self) -> bool:
        from IPython.core.interactiveshell import _asyncio_runner

        return bool(self.shell.autoawait) and self.shell.loop_runner is _asyncio_runner

    def __call__(self, lines: List[str]) -> List[str]:
        source = "".join(lines)
        if "'governed'" not in source or not self.can_await():
            return lines
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return lines
        if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
            return lines
        found = _magic_call(tree.body[0].value)
        if found is None:
            return lines
        _, line, cell = found
        if is_terminal(self.shell) and not _runs_code(line):
            return lines
        return [f"await get_ipython().magics_manager.registry[{REGISTRY_KEY!r}]"
                f".governed_awaiting({line!r}, {cell!r})\n"]


def keep_question_marks(lines: List[str]) -> List[str]:
    """`%governed What is X?` must send the question, not ask IPython for help on `X`.

    IPython reads a trailing `?` as a help request before any magic runs, so a one-line
    prompt ending in `?` is turned into the explicit magic call here (a cleanup transform,
    which runs before the help syntax is looked at).
    """
    code = [line for line in lines if line.strip()]
    if len(code) != 1:
        return lines
    line = code[0].strip()
    if not line.endswith("?") or line.endswith("??"):
        return lines
    for prefix, magic, keep in (("%governed ", "governed", ""), ("%axonflow test ", "axonflow", "test ")):
        if line.startswith(prefix):  # `%axonflow test Is this allowed?` tests that question too
            rest = keep + line[len(prefix):]
            return [f"get_ipython().run_line_magic({magic!r}, {rest!r})\n"]
    return lines


class EndCellAtBlankLine:
    """Terminal IPython: a `%%governed` cell runs when Enter is pressed on one blank line.

    IPython ends a cell magic at a blank line, but its completeness check drops the empty last
    line it is typing on, so every cell magic needs a second one (IPython/core/inputtransformer2.py,
    `TransformerManager.check_complete`). Installed on the shell (never on the class) at load, and
    removed at unload.
    """

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.original = shell.check_complete

    def __call__(self, code: str) -> tuple:
        lines = code.lstrip("\n").split("\n")
        if (lines[0].startswith("%%governed") and code.endswith("\n") and len(lines) > 2
                and any(line.strip() for line in lines[1:])):
            return "complete", ""
        return self.original(code)

    def install(self) -> None:
        self.shell.check_complete = self

    def remove(self) -> None:
        if self.shell.__dict__.get("check_complete") is self:
            del self.shell.check_complete
