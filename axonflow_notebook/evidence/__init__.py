"""Evidence an auditor accepts: the trail as data, a report, verification, an export bundle.

Built on the core (the journal, the console) and the leaf `evidence_chain` package; it reads the
embedded agent's store only through the agent package's public names, and never imports the
notebook (whose `%axonflow report|verify|export` call it). pandas, pyarrow and matplotlib (the
`evidence` extra) are imported only by the functions that need them, so importing this package
is cheap.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

_EXPORTS = {
    "audit_frame": "frame",
    "page_frame": "frame",
    "journal_frame": "frame",
    "build_report": "report",
    "export_bundle": "export",
    "verify_path": "verify",
    "verify_journal": "journal_verify",
    "verify_bundle": "bundle_verify",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, {name: "." + module for name, module in _EXPORTS.items()})
