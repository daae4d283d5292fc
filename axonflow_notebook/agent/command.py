"""``axonflow-notebook agent``: the embedded agent in the foreground, until SIGINT/SIGTERM.

Without ``--auth`` the agent requires a fresh random secret on every request but
``/health``, and prints it once at start, the way ``jupyter lab`` prints its token, with the
two settings a notebook or script of the same user needs to connect.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading

HELP = "run the embedded AxonFlow-compatible agent in the foreground"

INSECURE_WARNING = """\
WARNING: --insecure-no-secret: this agent accepts ANY credentials. Every process of every
user on this machine can read its audit trail (prompts, answers, comments), list held
requests, approve them and write audit records in anyone's name. Use it only in a throwaway
sandbox; without the flag the agent requires its secret."""


def default_db_path() -> str:
    import platformdirs

    return os.path.join(platformdirs.user_data_dir("axonflow-notebook"), "agent.db")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one (default: 8080)")
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH",
        help="SQLite file for the audit trail and the approval queue "
        "(default: agent.db in the user data directory)",
    )
    parser.add_argument("--policies", default=None, metavar="FILE", help="YAML file of custom policies")
    parser.add_argument(
        "--auth",
        default=None,
        metavar="FILE",
        help="YAML file of clients (id, secret, reviewer); without it the agent prints a "
        "secret that every request must carry, and only loopback addresses are allowed",
    )
    parser.add_argument(
        "--insecure-no-secret",
        action="store_true",
        help="accept any credentials (no secret): for a throwaway sandbox only; any local "
        "user can then read the trail and approve requests",
    )


def banner(url: str, db_path: str, *, auth: str | None, secret: str | None) -> str:
    """What the agent prints at start; the secret appears here and nowhere else."""
    if auth:
        return f"AxonFlow agent listening on {url} (clients from {auth}; db {db_path})"
    if secret is None:
        return f"AxonFlow agent listening on {url} (NO SECRET: any credentials accepted; db {db_path})"
    return "\n".join([
        f"AxonFlow agent listening on {url} (local mode, secret required; db {db_path})",
        "To connect a notebook or script of this user, set:",
        f"    AXONFLOW_ENDPOINT={url}",
        f"    AXONFLOW_CLIENT_SECRET={secret}",
        "(AXONFLOW_CLIENT_ID names the caller; any id works.) Keep the secret to yourself:",
        "it grants full access to this agent, and it changes every time the agent starts.",
    ])


def run(args: argparse.Namespace) -> int:
    from .private_files import make_private_dir
    from .server import AgentConfigError, EmbeddedAgent

    db_path = args.db or default_db_path()
    if not (0 <= args.port <= 65535):
        print(f"axonflow-notebook agent: error: --port {args.port} is not a port number", file=sys.stderr)
        return 2
    if args.auth and args.insecure_no_secret:
        print("axonflow-notebook agent: error: --insecure-no-secret has no meaning with --auth "
              "(the auth file's clients are checked); drop one of them", file=sys.stderr)
        return 2
    directory = os.path.dirname(os.path.abspath(db_path))
    try:
        make_private_dir(directory)
    except OSError as exc:
        print(f"axonflow-notebook agent: error: cannot create {directory}: {exc.strerror}", file=sys.stderr)
        return 2
    agent = EmbeddedAgent(port=args.port, db_path=db_path, policies=args.policies, auth=args.auth,
                          host=args.host, require_secret=not args.insecure_no_secret)
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        try:
            agent.start()
        except AgentConfigError as exc:
            print(f"axonflow-notebook agent: error: {exc}", file=sys.stderr)
            return 2
        # Everything loaded so far (catalogue, compiled patterns, libraries) lives as long
        # as the process; freezing it keeps full GC passes short on the request path.
        gc.collect()
        gc.freeze()
        if args.insecure_no_secret:
            print(INSECURE_WARNING, file=sys.stderr, flush=True)
        print(banner(agent.url, db_path, auth=args.auth, secret=agent.secret), flush=True)
        while not stop.wait(0.5):
            if not agent.running:
                print("axonflow-notebook agent: error: the server stopped unexpectedly", file=sys.stderr)
                return 1
        return 0
    finally:
        agent.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
