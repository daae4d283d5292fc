"""JupyterLab settings for the labs we launch ourselves: save widget state with the notebook.

With JupyterLab's default (`saveState: false` in @jupyter-widgets/jupyterlab-manager), a trusted
notebook reopened without its kernel shows "Error displaying widget" for every output that was a
live widget when it was saved; with widget state saved it shows the widget's last state. So the
two labs we start ourselves, `axonflow-notebook demo` and Binder (binder/postBuild), turn it on
through an application settings directory's `overrides.json`, the file JupyterLab reads for
administrator defaults: https://jupyterlab.readthedocs.io/en/stable/user/directories.html#overridesjson
Overrides already there are kept, and a `saveState` someone set there wins over ours.

`python -m axonflow_notebook.lab_settings [DIR]` merges the setting into `DIR/overrides.json`
(default: this environment's own application settings directory).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional

WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"
SAVE_WIDGET_STATE = {WIDGETS_PLUGIN: {"saveState": True}}
_COPIED = ("page_config.json", "page_config.json5")  # read from the same directory as overrides


def default_app_settings_dir() -> Path:
    """Where JupyterLab reads overrides by default: `<app dir>/settings` (jupyterlab/labapp.py)."""
    app_dir = os.environ.get("JUPYTERLAB_DIR") or os.path.join(sys.prefix, "share", "jupyter", "lab")
    return Path(app_dir).expanduser() / "settings"


def _load(path: Path) -> Dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json5":
        import json5  # a dependency of jupyterlab_server, which reads these files too

        data = json5.loads(text)
    else:
        data = json.loads(text)
    return data if isinstance(data, dict) else {}


def _merge(into: Dict[str, Any], more: Dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def read_overrides(settings_dir: Path) -> Dict[str, Any]:
    """The overrides a lab would read from `settings_dir`, in its order (overrides.d first)."""
    paths = sorted([*settings_dir.glob("overrides.d/*.json"), *settings_dir.glob("overrides.d/*.json5")])
    paths += [settings_dir / "overrides.json", settings_dir / "overrides.json5"]
    merged: Dict[str, Any] = {}
    for path in paths:
        if path.is_file():
            try:
                _merge(merged, _load(path))
            except (OSError, ValueError) as exc:
                raise SystemExit(f"axonflow-notebook: cannot read JupyterLab overrides {path}: {exc}")
    return merged


def with_widget_state(overrides: Dict[str, Any]) -> Dict[str, Any]:
    """`overrides` with widget-state saving on, unless they already decide it."""
    out = json.loads(json.dumps(overrides))
    out.setdefault(WIDGETS_PLUGIN, {}).setdefault("saveState", True)
    return out


def write_settings_dir(target: Path, base: Optional[Path] = None) -> Path:
    """Make `target` an application settings directory: `base`'s overrides (default: the lab's
    own) merged into one `overrides.json` with widget state saved, and its page config copied."""
    base = default_app_settings_dir() if base is None else base
    target.mkdir(parents=True, exist_ok=True)
    merged = with_widget_state(read_overrides(base) if base.is_dir() else {})
    if base.resolve() != target.resolve():
        for name in _COPIED:
            if (base / name).is_file():
                (target / name).write_text((base / name).read_text(encoding="utf-8"), encoding="utf-8")
        for extra in ("overrides.json5",):  # merged into overrides.json: never read twice
            (target / extra).unlink(missing_ok=True)
    path = target / "overrides.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def main(argv: Optional[list] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m axonflow_notebook.lab_settings [APP_SETTINGS_DIR]", file=sys.stderr)
        return 2
    target = Path(args[0]).expanduser() if args else default_app_settings_dir()
    path = write_settings_dir(target, base=target)
    print(f"axonflow-notebook: JupyterLab saves widget state with notebooks ({path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
