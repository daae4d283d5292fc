"""Argument parsing for `%%governed` (IPython's magic_arguments, i.e. argparse).

Parse errors become `UsageError` (shown without a traceback) and the generated usage is the
`%%governed?` help. The parsed namespace is turned into a plain `CallOptions`, from which the
magic builds the call's context. `%axonflow`'s subcommands parse their own (subcommands.py).
"""

from __future__ import annotations

import keyword
import math
import shlex
from dataclasses import dataclass
from typing import Any, Callable, Optional

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

FORMATS = ("markdown", "text", "json")


def governed_arguments(func: Callable) -> Callable:
    """Decorate the `governed` magic with its options (order = order in the help)."""
    decorators = [
        magic_arguments(),
        argument("-m", "--model", help="LiteLLM model (default: GovernedMagics.model)."),
        argument("-o", "--out", metavar="NAME", help="Bind the GovernedResult to NAME."),
        argument("-s", "--system", help="System message sent before the prompt."),
        argument("-t", "--temperature", type=float, help="Sampling temperature."),
        argument("--max-tokens", type=int, metavar="N", help="Maximum tokens in the answer."),
        argument("-u", "--user-token", metavar="USER_TOKEN", help="User token for this call."),
        argument("--stream", action="store_true", help="Stream the answer token by token."),
        argument("--format", choices=FORMATS, default="markdown", help="How to show the answer."),
        argument(
            "--background",
            action="store_true",
            help="Return at once with a handle; `await handle` or handle.result() later.",
        ),
        argument(
            "--no-raise",
            action="store_true",
            help="Do not stop the cell on a denial; the error is on the result.",
        ),
        argument("--simulate", action="store_true", default=None, help="Always simulate the answer."),
        argument(
            "--no-simulate",
            dest="simulate",
            action="store_false",
            help="Never simulate: fail if the model's provider has no key.",
        ),
        argument(
            "--code",
            action="store_true",
            help="Run the cell as Python, governing every litellm completion/acompletion call.",
        ),
        argument(
            "--raw",
            action="store_true",
            help="Line form: send the prompt as written ({name} and $name are not expanded).",
        ),
        argument("--over", metavar="DF", help="Batch: the cell is a template, each row of DataFrame DF "
                 "one governed call ({column} fields); binds a new frame with the answers."),
        argument("--into", metavar="COL", help="Batch: the answer column (default: answer), with "
                 "COL_status, COL_policies, COL_audit_id, COL_cost, COL_error."),
        argument("--concurrency", type=int, metavar="N", help="Batch: rows in flight at once (default 8)."),
        argument("--rpm", type=float, metavar="N", help="Batch: at most N LLM requests a minute."),
        argument("--tpm", type=float, metavar="N", help="Batch: at most N tokens a minute (forecast)."),
        argument("--budget", type=float, metavar="USD", help="Batch: stop scheduling before the spend "
                 "(LiteLLM's cost) plus the forecast of the rows in flight would pass USD."),
        argument("prompt", nargs="*", help="One-line form: %%governed PROMPT ({name} and $name "
                 "expand plain variable names; {{ }} and $$ are literal braces and dollars)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


@dataclass(frozen=True)
class CallOptions:
    model: Optional[str]
    out: Optional[str]
    system: Optional[str]
    temperature: Optional[float]
    max_tokens: Optional[int]
    user_token: Optional[str]
    stream: bool
    fmt: str
    background: bool
    no_raise: bool
    simulate: Optional[bool]  # None: decide from the environment
    code: bool
    raw: bool  # line form: no name expansion
    prompt: str  # text given on the magic line (one-line form)
    over: Optional[str] = None  # batch: the DataFrame's name (calls/batch.py)
    into: str = "answer"
    concurrency: int = 8
    rpm: Optional[float] = None
    tpm: Optional[float] = None
    budget: Optional[float] = None


def parse_call_options(magic_func: Callable, line: str) -> CallOptions:
    """Parse a `%%governed` line; argparse problems become UsageError."""
    try:
        ns = parse_argstring(magic_func, line)
    except UsageError:
        raise
    except ValueError as exc:  # shlex: "No closing quotation"
        raise UsageError(f"%%governed: {exc}") from None
    for name in ("model", "out", "system", "user_token", "over", "into"):
        setattr(ns, name, unquote(getattr(ns, name)))
    if ns.out is not None and (not ns.out.isidentifier() or keyword.iskeyword(ns.out)):
        raise UsageError(f"-o/--out needs a Python identifier, got {ns.out!r}")
    if ns.temperature is not None and not (math.isfinite(ns.temperature) and ns.temperature >= 0):
        raise UsageError(f"-t/--temperature must be a finite number >= 0, got {ns.temperature!r}")
    if ns.max_tokens is not None and ns.max_tokens <= 0:
        raise UsageError("--max-tokens must be a positive integer")
    if ns.code and (ns.stream or ns.background):
        raise UsageError("--code cannot be combined with --stream or --background")
    _check_batch_options(ns)
    return CallOptions(
        model=ns.model,
        out=ns.out,
        system=ns.system,
        temperature=ns.temperature,
        max_tokens=ns.max_tokens,
        user_token=ns.user_token,
        stream=ns.stream,
        fmt=ns.format,
        background=ns.background,
        no_raise=ns.no_raise,
        simulate=ns.simulate,
        code=ns.code,
        raw=ns.raw,
        prompt=" ".join(ns.prompt),
        over=ns.over,
        into=ns.into or "answer",
        concurrency=8 if ns.concurrency is None else ns.concurrency,
        rpm=ns.rpm,
        tpm=ns.tpm,
        budget=ns.budget,
    )


def _check_batch_options(ns: Any) -> None:
    """The batch options (`--over` and what only a batch takes), checked before anything runs."""
    batch_only = [flag for flag, value in (("--into", ns.into), ("--concurrency", ns.concurrency),
                                           ("--rpm", ns.rpm), ("--tpm", ns.tpm), ("--budget", ns.budget))
                  if value is not None]
    if ns.over is None:
        if batch_only:
            verb = "applies" if len(batch_only) == 1 else "apply"
            raise UsageError(f"{', '.join(batch_only)} {verb} only to a batch: %%governed --over DF")
        return
    if not ns.over.isidentifier() or keyword.iskeyword(ns.over):
        raise UsageError(f"--over needs the name of a DataFrame, got {ns.over!r}")
    if ns.code or ns.stream:
        raise UsageError("--over cannot be combined with --code or --stream")
    if ns.into is not None and (not ns.into.strip() or keyword.iskeyword(ns.into)):
        raise UsageError(f"--into needs a column name, got {ns.into!r}")
    if ns.concurrency is not None and ns.concurrency < 1:
        raise UsageError("--concurrency must be a positive integer")
    for flag, value in (("--rpm", ns.rpm), ("--tpm", ns.tpm)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise UsageError(f"{flag} must be a finite number > 0, got {value!r}")
    if ns.budget is not None and not (math.isfinite(ns.budget) and ns.budget >= 0):
        raise UsageError(f"--budget must be a finite number of US dollars >= 0, got {ns.budget!r}")


def unquote(value: Optional[str]) -> Optional[str]:
    """An option's value without the quotes around it: IPython splits magic lines keeping quotes
    (`arg_split(..., posix=False)`, so a one-line prompt may say "what's"), and `-s "Be terse"`
    must send `Be terse`."""
    if value is not None and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def parse_filters(filters: list[str]) -> dict[str, str]:
    out = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--filter needs KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def split_words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
