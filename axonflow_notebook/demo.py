"""`axonflow-notebook demo`: JupyterLab on the quickstart notebook, governed by the demo policies.

Works from a checkout of the repository (the notebooks live in `notebooks/`, next to the
package). The server's kernels inherit an environment that makes every `%%governed` call use the
embedded AxonFlow agent with `notebooks/policies.yaml`, simulated answers when no LLM key is set,
LiteLLM's bundled cost map (no network fetch) and no SDK telemetry unless the user asked for it.
The lab saves widget state with its notebooks (lab_settings.py), so a notebook reopened without
its kernel shows its live outputs' last state instead of "Error displaying widget".
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
QUICKSTART = "01-quickstart.ipynb"
HELP = "start JupyterLab on the quickstart notebook with the embedded agent and demo policies"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=NOTEBOOKS_DIR,
        help="folder holding the demo notebooks and policies.yaml (default: the checkout's)",
    )
    parser.add_argument(
        "--policies",
        type=Path,
        default=None,
        help="policy file for the embedded agent (default: <notebooks>/policies.yaml)",
    )
    parser.add_argument(
        "--notebook",
        default=QUICKSTART,
        help=f"notebook to open, relative to --notebooks (default: {QUICKSTART})",
    )
    parser.add_argument("--port", type=int, default=None, help="port for JupyterLab (default: 8888 or next free)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser window")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the command and environment instead of starting JupyterLab",
    )
    parser.add_argument(
        "lab_args",
        nargs=argparse.REMAINDER,
        help="further arguments for `jupyter lab`, after `--` (e.g. -- --ServerApp.ip=0.0.0.0)",
    )


def demo_environment(policies: Path, base: Optional[dict] = None) -> dict:
    """The environment JupyterLab and its kernels run with."""
    env = dict(os.environ if base is None else base)
    env["AXONFLOW_POLICIES"] = str(policies)
    env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    env.setdefault("AXONFLOW_TELEMETRY", "off")
    return env


SETTINGS_FLAG = "--LabApp.app_settings_dir="


def lab_command(notebook: str, extra: Sequence[str], settings_dir: Optional[Path] = None) -> List[str]:
    command = [sys.executable, "-m", "jupyter", "lab", notebook]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        command.append("--allow-root")  # containers often run as root; Jupyter refuses otherwise
    command.extend(a for a in extra if a != "--" and not a.startswith(SETTINGS_FLAG))
    if settings_dir is not None:
        command.append(f"{SETTINGS_FLAG}{settings_dir}")
    return command


def settings_base(extra: Sequence[str]) -> Optional[Path]:
    """The settings directory the user gave the lab (`-- --LabApp.app_settings_dir=DIR`), if any:
    its overrides are the ones ours are merged with."""
    given = [a[len(SETTINGS_FLAG):] for a in extra if a.startswith(SETTINGS_FLAG)]
    return Path(given[-1]).expanduser() if given else None


def run(args: argparse.Namespace) -> int:
    folder = args.notebooks.resolve()
    policies = (args.policies or folder / "policies.yaml").resolve()
    notebook = folder / args.notebook
    missing = [str(p) for p in (notebook, policies) if not p.is_file()]
    if missing:
        print(
            "axonflow-notebook demo: not found: " + ", ".join(missing) + " "
            "(run it from a checkout of the repository, or pass --notebooks)",
            file=sys.stderr,
        )
        return 2
    env = demo_environment(policies)
    extra = list(args.lab_args)
    if args.port is not None:
        extra.append(f"--port={args.port}")
    if args.no_browser:
        extra.append("--no-browser")
    print(
        f"axonflow-notebook demo: JupyterLab on {notebook} — governed by the embedded AxonFlow "
        f"agent with {policies}; answers are simulated unless an LLM API key is set "
        f"(Ctrl-C stops it)",
        flush=True,
    )
    if args.dry_run:
        print(" ".join(lab_command(args.notebook, extra, Path("<app settings dir>"))))
        print(f"AXONFLOW_POLICIES={env['AXONFLOW_POLICIES']}")
        return 0
    from .lab_settings import write_settings_dir

    with tempfile.TemporaryDirectory(prefix="axonflow-demo-lab-") as settings:
        write_settings_dir(Path(settings), base=settings_base(extra))
        return _serve(lab_command(args.notebook, extra, Path(settings)), folder, env)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _serve(command: List[str], folder: Path, env: dict) -> int:
    process = subprocess.Popen(command, cwd=folder, env=env)
    # SIGTERM (a service manager, `kill`) stops it like Ctrl-C: the lab first, then our files.
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # One Ctrl-C stops the demo: Jupyter would otherwise ask "Shutdown this Jupyter server?"
        process.terminate()
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="axonflow-notebook demo", description=HELP)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
