"""`%axonflow SUBCOMMAND`: a table of subcommands, one function each (as jupysql routes `%sqlcmd`).

Each subcommand declares its arguments; `%axonflow` alone or `%axonflow --help` lists them, and
`%axonflow SUBCOMMAND --help` shows one. Everything a subcommand shows comes from the UI package;
everything it sends goes through the calls layer's backend.
"""

from __future__ import annotations

import os
from argparse import Namespace
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser, arg_split

from .args import parse_filters
from .evidence_commands import EVIDENCE, audit_frame_of, journal_frame_of, with_frame

Argument = Tuple[tuple, dict]


@dataclass(frozen=True)
class Subcommand:
    name: str
    summary: str
    run: Callable[[Any, Any], Any]
    arguments: Tuple[Argument, ...] = ()
    # The rest of the line as written is `args.text` (not split into words: quotes and all are the
    # user's text), and `%%axonflow NAME` puts the cell body in `args.cell` (None otherwise).
    raw_text: bool = False

    def parser(self) -> MagicArgumentParser:
        parser = MagicArgumentParser(prog=f"axonflow {self.name}", description=self.summary)  # IPython adds the %
        parser.allow_abbrev = False  # `--secret` must not pass for `--secret-env`
        for args, kwargs in self.arguments:
            parser.add_argument(*args, **kwargs)
        return parser


SUBCOMMANDS: Dict[str, Subcommand] = {}


def arg(*args: Any, **kwargs: Any) -> Argument:
    return args, kwargs


def subcommand(name: str, summary: str, *arguments: Argument, raw_text: bool = False) -> Callable:
    def register(run: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        SUBCOMMANDS[name] = Subcommand(name, summary, run, arguments, raw_text)
        return run

    return register


def usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    rows = "\n".join(f"  {name.ljust(width)}  {sub.summary}" for name, sub in SUBCOMMANDS.items())
    return (f"AxonFlow from the notebook: %axonflow SUBCOMMAND [options]\n\n{rows}\n\n"
            "%axonflow SUBCOMMAND --help shows the options of one subcommand.")


def parse(line: str) -> Tuple[Optional[Subcommand], Any]:
    """(subcommand, its arguments), or (None, help text) for `--help`; else UsageError."""
    head = line.split(None, 1)
    raw = SUBCOMMANDS.get(head[0]) if head else None
    if raw is not None and raw.raw_text:
        text = head[1].strip() if len(head) > 1 else ""
        if text in ("-h", "--help"):
            return None, raw.parser().format_help().rstrip()
        return raw, Namespace(text=text, cell=None)
    try:  # as a shell splits it: `--comment "Invoice 5 checked"` stores the words, not the quotes
        words = arg_split(line, posix=True, strict=True)
    except ValueError as exc:  # shlex: "No closing quotation"
        raise UsageError(f"%axonflow: {exc}") from None
    if not words or words[0] in ("-h", "--help", "help"):
        return None, usage()
    sub = SUBCOMMANDS.get(words[0])
    if sub is None:
        raise UsageError(f"%axonflow: unknown subcommand {words[0]!r}; one of "
                         f"{', '.join(SUBCOMMANDS)} (%axonflow --help)")
    parser = sub.parser()
    if "-h" in words[1:] or "--help" in words[1:]:
        return None, parser.format_help().rstrip()
    args = parser.parse_args(words[1:])
    if hasattr(args, "filter"):
        parse_filters(args.filter)
    return sub, args


def run_subcommand(magics: Any, line: str, cell: Optional[str] = None) -> Any:
    sub, args = parse(line)
    if sub is None:
        print(args)
        return None
    if cell is not None:
        if not sub.raw_text:
            raise UsageError(f"%%axonflow {sub.name} takes no cell body (only %%axonflow test does)")
        args.cell = cell
    return sub.run(magics, args)


def _decider(magics: Any, backend: Any) -> Any:
    """Who decides from this notebook on requests of any client (the reviewer queue, approve)."""
    from .calls.approvals import DeciderRule, Reviewer

    rule = DeciderRule(Reviewer(magics.reviewer_id, magics.reviewer_email))
    return rule.for_backend(backend, own_requests=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


# -- the subcommands ----------------------------------------------------------------------------
@subcommand("status", "the AxonFlow in use, its health, the breaker and the settings")
def status(magics: Any, args: Any) -> Any:
    from .calls.sync import resolve
    from .ui import status_table

    backend = magics.runtime.backend()
    try:
        health = "ok" if resolve(backend.console.health()) else "unhealthy"
    except Exception as exc:  # status must show an unreachable AxonFlow, not fail
        health = f"unreachable ({type(exc).__name__})"
    config = backend.logger.config
    info = dict(backend.describe(), health=health,
                breaker=str(getattr(backend.logger, "breaker_state", "unknown")))
    info.update({k: getattr(config, k) for k in ("fail_open", "call_timeout_seconds",
                                                 "approval_max_wait_seconds",
                                                 "approval_poll_interval_seconds")})
    info["client_secret"] = "**********" if config.client_secret.get_secret_value() else "(not set)"
    info.update(magics.public_config())
    return status_table(info)


@subcommand("policies", "the policies in force, filterable",
            arg("search", nargs="?", help="only policies mentioning this word"),
            arg("--category", help="only this category or family (e.g. pii, pii-eu, security, custom)"),
            arg("--action", help="only this action (block, require_approval, redact, warn, log)"))
def policies(magics: Any, args: Any) -> Any:
    from .calls.sync import resolve
    from .ui import policies_table

    backend = magics.runtime.backend()
    return policies_table(resolve(backend.console.list_policies()), category=args.category,
                          action=args.action, search=args.search)


@subcommand("audit", "AxonFlow's audit trail, and this kernel's calls at a glance",
            arg("--limit", type=int, default=20, help="entries per page (default 20)"),
            arg("--filter", action="append", default=[], metavar="KEY=VALUE",
                help="filter, e.g. --filter client_id=batch-job (repeatable)"),
            arg("--local", action="store_true",
                help="this machine's audit journal instead, undelivered records marked"))
def audit(magics: Any, args: Any) -> Any:
    from .calls.sync import resolve

    if args.limit <= 0:
        raise UsageError("--limit must be a positive integer")
    if args.local:
        from .ui import journal_table

        journal = magics.runtime.journal()
        if journal is None:
            raise UsageError("the local audit journal is off (AXONFLOW_JOURNAL=off)")
        rows = journal.records(limit=args.limit)
        return with_frame(journal_table(rows, str(journal.path)), journal_frame_of(rows))
    from .ui import audit_trail

    filters = parse_filters(args.filter)
    backend = magics.runtime.backend()
    try:
        page = resolve(backend.console.search_audit(limit=args.limit, **filters))
    except (TypeError, ValueError) as exc:  # pydantic names the bad filter
        raise UsageError(f"%axonflow audit: bad --filter: {exc}".splitlines()[0]) from None
    return with_frame(audit_trail(page, magics.runtime.session.results), audit_frame_of(page))


@subcommand("queue", "pending approval requests of every client, to approve or reject")
def queue(magics: Any, args: Any) -> Any:
    from IPython.display import display

    from .calls.sync import resolve
    from .transformers import is_terminal

    backend = magics.runtime.backend()
    decider = _decider(magics, backend)
    if is_terminal(magics.shell):
        from .ui import queue_text

        records, _ = resolve(backend.approval_console().list_queue())
        print(queue_text(records))
        return None
    from .ui import ReviewerQueue

    if not decider.can_decide:
        print(decider.reason)
    queue_view = ReviewerQueue(backend.approval_console(), decider.reviewer_id, decider.reviewer_email,
                               can_decide=decider.can_decide, disabled_reason=decider.reason)
    magics.runtime.show_queue(queue_view)
    display(queue_view.widget)
    return None


def _decide(action: str) -> Callable[[Any, Any], Any]:
    def decide(magics: Any, args: Any) -> Any:
        from .calls.approvals import send_decision

        if args.request_id[:1] in ("{", "$"):  # %axonflow expands nothing: its words are text
            raise UsageError(f"%axonflow {action} takes the request id as written; {args.request_id} is "
                             f"not expanded here. Paste the id (print it first, e.g. print(h.request_id)).")
        backend = magics.runtime.backend()
        decider = _decider(magics, backend)
        if not decider.can_decide:
            raise UsageError(decider.reason)
        try:
            send_decision(backend.approval_console(), decider, action, args.request_id, args.comment)
        except Exception as exc:  # 404 unknown, 409 decided or expired: one line
            raise UsageError(f"%axonflow {action} {args.request_id}: {_first_line(exc)}") from None
        done = "approved" if action == "approve" else "rejected"
        print(f"AxonFlow: request {args.request_id} {done} as {decider.label}.")
        return None

    return decide


for _action, _summary in (("approve", "approve a held request (as this notebook's reviewer)"),
                          ("reject", "reject a held request (as this notebook's reviewer)")):
    subcommand(_action, _summary, arg("request_id", metavar="ID", help="the request id"),
               arg("--comment", default="", help="recorded with the decision"))(_decide(_action))


@subcommand("budget", "the budgets in force (use, limit, period, forecast); a reviewer sets or deletes one",
            arg("verb", nargs="?", default="show", choices=("show", "set", "delete"),
                help="show (default), set (create or change) or delete"),
            arg("budget_id", nargs="?", metavar="ID", help="the budget to set or delete"),
            arg("--limit", type=float, metavar="USD", help="the limit in US dollars"),
            arg("--period", choices=("daily", "weekly", "monthly", "quarterly", "yearly"),
                help="the period the limit applies to (UTC); fixed once created"),
            arg("--scope", choices=("organization", "team", "agent", "workflow", "user"),
                help="what it counts: workflow = a notebook's calls; fixed once created"),
            arg("--scope-id", default=None, metavar="VALUE", help="which one (default: this notebook's "
                "path, this user, this client)"),
            arg("--action", choices=("block", "warn"), help="past the limit: block calls, or warn "
                "(default for a new budget: warn)"),
            arg("--name", default=None, help="a name shown on cards (default: the ID)"))
def budget(magics: Any, args: Any) -> Any:
    """Budgets: AxonFlow's cost controls (axonflow_notebook/notebook/calls/budgets.py)."""
    from .calls.budgets import budget_command
    from .calls.origin import adopt_notebook_origin

    notebook = adopt_notebook_origin(magics.shell)
    backend = magics.runtime.backend()
    return budget_command(args, backend, _decider(magics, backend), notebook=notebook)


@subcommand("connect", "review (and govern) with another AxonFlow, as a reviewer: one step",
            arg("url", metavar="URL", help="the AxonFlow (or `axonflow-notebook agent`) URL"),
            arg("--reviewer", required=True, metavar="ID", help="your reviewer id there"),
            arg("--email", default="", help="your e-mail, recorded with decisions"),
            arg("--client-id", default=None, help="client id for this notebook's own calls "
                "(default: the reviewer id)"),
            arg("--secret-env", default="AXONFLOW_REVIEWER_SECRET", metavar="NAME",
                help="environment variable holding the credential (else you are asked for it; "
                     "never on the magic line)"))
def connect(magics: Any, args: Any) -> Any:
    from dataclasses import replace

    from .calls.approvals import Reviewer
    from .calls.backend import start_backend
    from .calls.sync import resolve
    from .secret_value import as_secret

    secret = as_secret(_credential(magics, args))
    client_id = args.client_id or args.reviewer
    overrides = dict(magics.core_overrides(), endpoint=args.url, client_id=client_id)
    overrides.pop("client_secret", None)
    if secret is not None:
        overrides["client_secret"] = secret
    candidate = replace(magics.backend_settings(), overrides=overrides,
                        reviewer=Reviewer(args.reviewer, args.email), reviewer_secret=secret)
    try:  # try it first: a failure leaves the notebook as it was
        probe = start_backend(candidate, say=lambda line: None)
        try:
            resolve(probe.approval_console().list_queue(limit=1))  # reachable, credential taken
        finally:
            probe.close()
    except Exception as exc:
        raise UsageError(f"%axonflow connect {args.url}: {_first_line(exc)}; nothing changed") from None
    with magics.hold_trait_notifications():
        magics.endpoint = args.url
        magics.client_id = client_id
        magics.client_secret = secret
        magics.reviewer_id = args.reviewer
        magics.reviewer_email = args.email
        magics.reviewer_secret = secret
    print(f"AxonFlow: this notebook now uses {args.url} and reviews as {args.reviewer}. "
          "%axonflow queue lists the requests waiting for a decision.")
    return None


def _credential(magics: Any, args: Any) -> Optional[str]:
    secret = os.environ.get(args.secret_env)
    if secret:
        return secret
    import getpass

    try:
        return getpass.getpass(f"AxonFlow credential for {args.reviewer} at {args.url} "
                               "(empty for none): ") or None
    except Exception:  # a frontend that cannot ask (nbclient, a script)
        raise UsageError(f"%axonflow connect: set {args.secret_env} to {args.reviewer}'s credential "
                         "(this frontend cannot ask for it)") from None


@subcommand("endpoint", "the URL of the AxonFlow in use (`url = %axonflow endpoint`)")
def endpoint(magics: Any, args: Any) -> Any:
    return magics.runtime.backend().url


@subcommand("config", "a configuration for your own AxonFlowLogger or GovernanceConsole",
            arg("--client-id", default=None, help="the client name to use (default: this notebook's)"))
def config(magics: Any, args: Any) -> Any:
    """`cfg = %axonflow config --client-id batch-job`: the AxonFlow this notebook uses, with its
    credential (masked in every repr), for `AxonFlowLogger(cfg)` or `GovernanceConsole(cfg)`."""
    current = magics.runtime.backend().logger.config
    return current.model_copy(update={"client_id": args.client_id}) if args.client_id else current


# -- the policy lab (lab_commands.py) ------------------------------------------------------------
@subcommand("test", "what the policies would decide for a prompt, every match highlighted "
            "(no LLM call, no audit); %%axonflow test for long text",
            arg("text", nargs="*", metavar="PROMPT", help="the rest of the line, as written"), raw_text=True)
def prompt_test(magics: Any, args: Any) -> Any:
    from .lab_commands import run_test

    return run_test(magics, args.text, args.cell)


@subcommand("explain", "why AxonFlow decided a call as it did: matches, order, where it stopped, version",
            arg("decision_id", metavar="ID", help="the call's context id or audit id"))
def explain(magics: Any, args: Any) -> Any:
    from .lab_commands import run_explain

    return run_explain(magics, args.decision_id)


for _name, _summary, _run, _arguments in EVIDENCE:  # report, verify, export (evidence_commands.py)
    subcommand(_name, _summary, *_arguments)(_run)
