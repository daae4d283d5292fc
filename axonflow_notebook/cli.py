"""``axonflow-notebook``: one entry point, one subcommand per module.

Each subcommand module provides ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
adding a subcommand is one line in ``SUBCOMMANDS``. Modules are imported only to build the
parser, so they must keep their imports light.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Optional, Sequence

SUBCOMMANDS = {
    "agent": "axonflow_notebook.agent.command",
    "demo": "axonflow_notebook.demo",
    "verify": "axonflow_notebook.evidence.verify_command",
    "export": "axonflow_notebook.evidence.export_command",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="axonflow-notebook",
        description="Notebook-native governance for LLM calls (AxonFlow policies, approvals, audit).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    # The SDK pings a telemetry service on first use unless told not to; the local agent
    # and demo never should, unless the user asked for it explicitly.
    os.environ.setdefault("AXONFLOW_TELEMETRY", "off")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    args = build_parser().parse_args(argv)
    return int(args._run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
