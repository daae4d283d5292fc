"""``axonflow-notebook export --since … --until … [--out FILE.zip]``: the evidence bundle of a period.

Exits 0 when the bundle is written from an intact journal, 1 when it is written but the journal
did not verify (the bundle says how), 2 when nothing was written.
"""

from __future__ import annotations

import argparse
import sys

HELP = "export the journal's records of a period as an evidence bundle (zip) for an auditor"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="WHEN", help="start: a duration back from now (7d, 12h) or a date/time "
                                                        "(2026-01-31); default: the first record")
    parser.add_argument("--until", metavar="WHEN", help="end, as --since; default: now")
    parser.add_argument("--out", metavar="FILE.zip", help="where to write it (default: axonflow-evidence-<time>.zip)")
    parser.add_argument("--journal", metavar="PATH", help="the journal (default: the one in the data directory)")
    parser.add_argument("--data-dir", metavar="DIR", help="the data directory (default: the user data directory)")
    parser.add_argument("--key-file", metavar="FILE",
                        help="the chain key (default: AXONFLOW_CHAIN_KEY_FILE or AXONFLOW_CHAIN_KEY)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import evidence_chain as ec
    from ..core.journal_chain import chain_key_from_env
    from .export import export_bundle
    from .periods import PeriodError

    folder = Path(args.data_dir).expanduser() if args.data_dir else None
    journal = args.journal or (folder / "journal.sqlite3" if folder else None)
    stores = (folder / "agent.sqlite3", folder / "agent.db") if folder else ()
    agent_db = next((p for p in stores if p.exists()), None)
    try:
        key = ec.load_key(path=args.key_file) if args.key_file else chain_key_from_env()
        kwargs = {"agent_db": agent_db} if folder else {}
        result = export_bundle(args.out, args.since, args.until, journal=journal, key=key, **kwargs)
    except (FileNotFoundError, PeriodError, ValueError, ImportError, OSError) as exc:
        print(f"axonflow-notebook export: {exc}", file=sys.stderr)
        return 2
    print(result)
    if not result.intact:
        print("axonflow-notebook export: the journal did not verify; the bundle records how", file=sys.stderr)
        return 1
    return 0
