"""``axonflow-notebook agent``: the embedded agent in the foreground, until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading

HELP = "run the embedded AxonFlow-compatible agent in the foreground"


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
        help="YAML file of clients (id, secret, reviewer); without it any credentials are "
        "accepted and only loopback addresses are allowed",
    )


def run(args: argparse.Namespace) -> int:
    from .server import AgentConfigError, EmbeddedAgent

    db_path = args.db or default_db_path()
    if not (0 <= args.port <= 65535):
        print(f"axonflow-notebook agent: error: --port {args.port} is not a port number", file=sys.stderr)
        return 2
    directory = os.path.dirname(os.path.abspath(db_path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        print(f"axonflow-notebook agent: error: cannot create {directory}: {exc.strerror}", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    agent = EmbeddedAgent(port=args.port, db_path=db_path, policies=args.policies, auth=args.auth, host=args.host)
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
        mode = "clients from " + args.auth if args.auth else "local development mode, any credentials"
        print(f"AxonFlow agent listening on {agent.url} ({mode}; db {db_path})", flush=True)
        while not stop.wait(0.5):
            if not agent.running:
                print("axonflow-notebook agent: error: the server stopped unexpectedly", file=sys.stderr)
                return 1
        return 0
    finally:
        agent.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
