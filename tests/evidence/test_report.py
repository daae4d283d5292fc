"""The report (issue 14 §2), checked by the structure of its SVG (panels, titles, labels, legend,
the ungoverned highlight), never by pixels; and its data against the journal it came from."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from axonflow_notebook.core.journal import Journal
from axonflow_notebook.evidence.report import build_report

SVG = "{http://www.w3.org/2000/svg}"
PANELS = {
    "axonflow-decisions-over-time": "Decisions over time",
    "axonflow-top-policies": "Policies triggered most",
    "axonflow-approval-waits": "How long approvals took",
    "axonflow-usage-by-model": "Tokens and cost by model",
    "axonflow-usage-by-user": "Tokens and cost by user",
}


def texts(element) -> list:
    return ["".join(t.itertext()) for t in element.iter(f"{SVG}text")]


def panels(svg: str) -> dict:
    root = ET.fromstring(svg)
    return {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id") in PANELS}


def test_the_report_of_a_real_journal(governed):
    report = build_report("1d", source="local", journal=governed.journal)
    data = report.data
    assert data.calls == 7 and data.source == "local"
    assert data.decisions == {"allowed": 3, "blocked": 1, "approved": 1, "rejected": 1, "ungoverned": 1}
    assert data.policies["wire"] == 2 and data.policies["nuke"] == 1
    assert len(data.approval_seconds) == 2 and all(s >= 0 for s in data.approval_seconds)
    assert [r.decision for r in data.ungoverned] == ["ungoverned"]
    assert data.by_model["openai/test-model"].tokens > 0
    found = panels(report.svg)
    assert set(found) == set(PANELS)
    for gid, title in PANELS.items():
        assert any(t.startswith(title) for t in texts(found[gid])), (gid, texts(found[gid]))
    timeline = texts(found["axonflow-decisions-over-time"])
    assert {"allowed", "blocked", "approved", "rejected", "ungoverned", "calls"} <= set(timeline)
    assert {"wire", "nuke"} <= set(texts(found["axonflow-top-policies"]))
    assert "seconds from request to decision" in texts(found["axonflow-approval-waits"])
    assert "openai/test-model" in texts(found["axonflow-usage-by-model"])
    title = " ".join(texts(ET.fromstring(report.svg)))
    assert "1 call ran UNGOVERNED (AxonFlow unreachable, fail-open)" in title


def test_the_ungoverned_calls_stand_out(governed):
    report = build_report("1d", source="local", journal=governed.journal)
    root = ET.fromstring(report.svg)
    ungoverned = [g for g in root.iter(f"{SVG}g") if g.get("id") == "axonflow-outcome-ungoverned"]
    assert ungoverned, "no bar for the ungoverned call"
    assert 'id="axonflow-outcome-allowed"' in report.svg
    styles = " ".join(p.get("style", "") for g in ungoverned for p in g.iter(f"{SVG}path"))
    pattern = re.search(r"fill: url\(#([^)]+)\)", styles)
    assert pattern and "stroke: #b71c1c" in styles  # hatched (an SVG pattern), outlined in red
    hatch = next(p for p in root.iter(f"{SVG}pattern") if p.get("id") == pattern.group(1))
    assert "#ff1744" in ET.tostring(hatch, encoding="unicode")  # over its own bright red


def test_the_server_report_adds_the_journals_ungoverned_calls(governed):
    from axonflow_notebook.core.review import GovernanceConsole

    console = GovernanceConsole(governed.config())
    try:
        report = build_report("1d", console=console, journal=governed.journal)
    finally:
        console.close()
    data = report.data
    assert data.source == "server" and data.decisions["ungoverned"] == 1
    assert data.decisions["approved"] == 1 and data.decisions["rejected"] == 1 and data.decisions["blocked"] == 1
    assert sorted(data.reviewers) == [("rev@example.com", "approved"), ("rev@example.com", "rejected")]


def test_an_unreachable_axonflow_falls_back_to_the_journal(governed):
    from axonflow_notebook.core.config import AxonFlowLoggerConfig
    from axonflow_notebook.core.review import GovernanceConsole

    from .conftest import closed_port

    console = GovernanceConsole(AxonFlowLoggerConfig(endpoint=f"http://127.0.0.1:{closed_port()}", client_id="x",
                                                     call_timeout_seconds=0.5))
    try:
        report = build_report("1d", console=console, journal=governed.journal)
    finally:
        console.close()
    assert report.data.source == "local" and report.data.calls == 7
    assert report.data.notes and "could not be read" in report.data.notes[0]


def test_names_are_shown_as_written_never_as_maths(tmp_path: Path):
    journal = Journal(tmp_path / "j.sqlite3")
    journal.upsert("c1", "http://x", time.time(), decision="approved", policies='["cost_$usd$_cap"]',
                   provenance='{"os_user": "<b>eve</b>"}')
    journal.upsert("c1", "http://x", time.time(), model="gpt $\\alpha$", total_tokens=9, cost_usd=0.5)
    journal.close()
    report = build_report("1d", source="local", journal=tmp_path / "j.sqlite3")
    words = texts(ET.fromstring(report.svg))
    assert "cost_$usd$_cap" in words and "gpt $\\alpha$" in words and "<b>eve</b>" in words
    assert "<b>" not in report.svg and "&lt;b&gt;eve&lt;/b&gt;" in report.svg  # escaped by the SVG writer
    assert not re.search(r"<path[^>]*id=\"[^\"]*(alpha|DejaVuSans-Oblique)", report.svg)  # no mathtext glyphs
    assert "$0.5000" in words and "(no model)" not in words


def test_an_empty_period_still_draws_every_panel(tmp_path: Path):
    Journal(tmp_path / "empty.sqlite3").close()
    report = build_report("7d", source="local", journal=tmp_path / "empty.sqlite3")
    assert set(panels(report.svg)) == set(PANELS) and report.data.calls == 0
    assert "no calls in this period" in texts(ET.fromstring(report.svg))


def test_the_svg_is_reproducible(governed):
    first = build_report("2026-01-01", "2026-12-31", source="local", journal=governed.journal).svg
    second = build_report("2026-01-01", "2026-12-31", source="local", journal=governed.journal).svg
    assert first == second and "<dc:date>" not in first
