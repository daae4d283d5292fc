"""``axonflow-notebook verify [PATH]``: is this journal, agent store or evidence bundle intact?

Prints one line per file, "intact: N records, head H" or the first broken record and how, and
exits 0 when everything is intact, 1 when something is broken, 2 when nothing could be checked.
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "verify the audit journal, the agent's store or an evidence bundle (tamper evidence)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", metavar="PATH",
                        help="a journal, an agent database or an evidence bundle (.zip); default: the journal "
                             "and the agent store of the data directory")
    parser.add_argument("--data-dir", metavar="DIR", help="the data directory (default: the user data directory)")
    parser.add_argument("--key-file", metavar="FILE",
                        help="the chain key (default: AXONFLOW_CHAIN_KEY_FILE or AXONFLOW_CHAIN_KEY)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def run(args: argparse.Namespace) -> int:
    from .. import evidence_chain as ec
    from .verify import NotEvidence, verify_defaults, verify_path

    try:
        key = ec.load_key(path=args.key_file) if args.key_file else _env_key()
        checked = [verify_path(args.path, key)] if args.path else verify_defaults(args.data_dir, key)
    except (FileNotFoundError, NotEvidence, ValueError, ImportError) as exc:
        print(f"axonflow-notebook verify: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([c.to_json() for c in checked], indent=2))
    else:
        for item in checked:
            print(item.line())
    return 0 if all(item.intact for item in checked) else 1


def _env_key():
    from ..core.journal_chain import chain_key_from_env

    return chain_key_from_env()
